"""``afissue issues list|show|resolve|ignore|reopen``: triage from a terminal.

Reads and writes Firestore directly, with the consumer's settings
(``AFISSUE_FIRESTORE_PROJECT``, ``AFISSUE_FIRESTORE_COLLECTION``,
``FIRESTORE_EMULATOR_HOST``), through the reader the web UI uses
(``issue_store``: no Flask, no Kafka client, no ingest service is imported). Tables by
default, ``--json`` for scripts. Exit status: 0 done, 1 no such issue or Firestore
failed, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import getpass
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from afissue_logging.wire import STATUSES
from issue_store import trends
from issue_store.errors import FirestoreUnavailable, IssueNotFound
from issue_store.present import (
    ExceptionView,
    OccurrenceView,
    format_table,
    occurrence_view,
    printable,
    relative_time,
)
from issue_store.query import SORTS, InvalidQuery, IssueQuery
from issue_store.reader import ACTIONS, IssueReader
from issue_store.settings import ReaderSettings

__all__ = ["add_issues_commands"]

_LIST_COLUMNS = (
    "issue_id", "status", "level", "count", "last_seen", "first_seen", "service", "title",
)
_SUMMARY_FIELDS = (
    "issue_id", "title", "culprit", "service", "level", "status", "count",
    "first_seen", "last_seen", "regressed_at", "environments", "releases",
)


def add_issues_commands(subparsers: Any) -> None:
    """Add ``issues`` and its subcommands to the ``afissue`` parser's *subparsers*."""
    issues = subparsers.add_parser("issues", help="list, show and triage issues in Firestore")
    sub = issues.add_subparsers(dest="issues_command", required=True)

    listing = sub.add_parser("list", help="list issues (open ones by default)")
    listing.add_argument(
        "--status", default="open", choices=(*STATUSES, "all"), help="default: open"
    )
    listing.add_argument("--service", help="only this service")
    listing.add_argument("--environment", help="only issues seen in this environment")
    listing.add_argument(
        "--search", "-q",
        help="the web UI's search: words and filters (is:resolved service:web env:prod release:1.2 level:error)",
    )
    listing.add_argument("--sort", default="last_seen", choices=SORTS, help="default: last_seen")
    listing.add_argument("--limit", type=int, default=50, help="issues per page (default 50)")
    listing.add_argument("--cursor", help="continue after a previous page (printed with it)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=_cmd_list)

    show = sub.add_parser("show", help="show one issue with its latest occurrence")
    show.add_argument("issue_id")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.add_argument(
        "--locals", action="store_true", help="print in-app frames' local variables, when sent"
    )
    show.set_defaults(func=_cmd_show)

    for action, status in ACTIONS.items():
        change = sub.add_parser(action, help=f"set an issue's status to {status}")
        change.add_argument("issue_id")
        change.add_argument(
            "--by", default=None, help="who is acting, for the status history (default cli:USER)"
        )
        change.add_argument("--json", action="store_true", help="print JSON")
        change.set_defaults(func=_cmd_change, action=action)


def _reader() -> IssueReader:
    return ReaderSettings.from_env(os.environ).reader()


def _jsonable(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return value.astimezone(_dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _print_json(value: Any) -> None:
    print(json.dumps(_jsonable(value), indent=2, ensure_ascii=False, sort_keys=True))


def _fail(message: str, code: int) -> int:
    print(f"afissue issues: {printable(message)}", file=sys.stderr)
    return code


def _firestore_errors() -> tuple[type[BaseException], ...]:
    from google.api_core.exceptions import GoogleAPICallError, RetryError
    from google.auth.exceptions import GoogleAuthError

    return (GoogleAPICallError, RetryError, GoogleAuthError, FirestoreUnavailable)


def _cmd_list(args: argparse.Namespace) -> int:
    try:
        query = IssueQuery.build(
            status=args.status,
            service=args.service,
            environment=args.environment,
            search=args.search,
            sort=args.sort,
            cursor=args.cursor,
            limit=args.limit,
        )
    except InvalidQuery as exc:
        return _fail(str(exc), 2)
    try:
        page = _reader().find(query)
    except _firestore_errors() as exc:
        return _fail(f"Firestore: {exc}", 1)
    cursor = page.next_cursor.encode() if page.next_cursor is not None else None
    if args.json:
        rows = [{k: row.get(k) for k in _SUMMARY_FIELDS} for row in page.issues]
        _print_json({"issues": rows, "next_cursor": cursor, "scanned": page.scanned})
        return 0
    rows = [
        {
            **row,
            "last_seen": relative_time(row.get("last_seen")),
            "first_seen": relative_time(row.get("first_seen")),
        }
        for row in page.issues
    ]
    print(format_table(rows, _LIST_COLUMNS) if rows else "no issues match")
    if cursor is not None:
        print(f"more: add --cursor {cursor}")
    return 0


def _traceback_lines(
    chain: list[ExceptionView], indent: str = "", show_locals: bool = False
) -> list[str]:
    """*chain* as Python prints a traceback; an exception group's sub-exceptions follow
    it, each chain numbered and indented with ``| ``; with *show_locals*, each frame's
    local variables below it."""
    lines: list[str] = []
    for exc in chain:
        if exc.frames:
            lines.append(f"{indent}Traceback (most recent call last):")
        for frame in exc.frames:
            marker = ">" if frame.in_app else " "
            line = "?" if frame.lineno is None else str(frame.lineno)
            lines.append(
                f"{indent}{marker} File \"{frame.filename or frame.module}\", line {line}, "
                f"in {frame.function}"
            )
            if frame.context_line:
                lines.append(f"{indent}    {frame.context_line}")
            if show_locals:
                lines += [f"{indent}      {name} = {value}" for name, value in frame.vars]
                if frame.vars_omitted:
                    lines.append(f"{indent}      [{frame.vars_omitted} more locals not sent]")
        if exc.frames_omitted:
            lines.append(f"{indent}  [{exc.frames_omitted} frames omitted]")
        lines.append(
            indent + (f"{exc.qualified_type}: {exc.value}" if exc.value else exc.qualified_type)
        )
        total = len(exc.children) + exc.children_omitted
        for number, child in enumerate(exc.children, 1):
            lines.append(f"{indent}+-- sub-exception {number} of {total} --")
            lines += _traceback_lines(child, indent + "| ", show_locals)
        if exc.children_omitted:
            lines.append(f"{indent}+-- {exc.children_omitted} more left out by the client --")
        if exc.leads_to:
            lines += [indent, indent + exc.leads_to, indent]
    return lines


def _breadcrumb_lines(view: OccurrenceView) -> list[str]:
    """The timeline before an occurrence, one record a line."""
    lines = [f"  [{view.breadcrumbs_omitted} older omitted]"] if view.breadcrumbs_omitted else []
    for crumb in view.breadcrumbs:
        data = "".join(f" {k}={v}" for k, v in crumb.data.items())
        lines.append(
            f"  {crumb.time}  {crumb.level.upper():<8} {crumb.logger}: {crumb.message}{data}"
        )
    return lines


def _when(value: Any) -> str:
    if isinstance(value, _dt.datetime):
        stamp = value.astimezone(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{stamp} ({relative_time(value)})"
    return "-"


def _trend_lines(issue: Mapping[str, Any], now: _dt.datetime) -> list[str]:
    """First/last release and text sparklines of the last 24 hours and 14 days."""
    out = []
    if issue.get("first_release") or issue.get("last_release"):
        out.append(f"first/last release: {issue.get('first_release') or '-'}"
                   f" / {issue.get('last_release') or '-'}")
    hours, days = trends.hourly_series(issue, now), trends.daily_series(issue, now)
    out += [
        f"last 24 h:    {trends.text_sparkline(hours.counts)}  {hours.total} events"
        f" (per hour, up to {hours.starts[-1]:%H}:00 UTC)",
        f"last 14 d:    {trends.text_sparkline(days.counts)}  {days.total} events"
        f" (per day, up to {days.starts[-1]:%Y-%m-%d})",
    ]
    return out


def _show_text(
    issue: Mapping[str, Any], occurrences: list[dict[str, Any]], show_locals: bool = False
) -> str:
    latest = occurrence_view(issue.get("latest"))
    lists = {
        name: ", ".join(str(v) for v in issue.get(name) or [] if v is not None) or "-"
        for name in ("environments", "releases")
    }
    out = [
        str(issue.get("title") or "(untitled)"),
        "",
        f"id:           {issue.get('issue_id')}",
        f"status:       {issue.get('status', '-')}",
        f"service:      {issue.get('service', '-')}",
        f"level:        {issue.get('level', '-')}",
        f"culprit:      {issue.get('culprit', '-')}",
        f"count:        {issue.get('count', '-')}",
        f"first seen:   {_when(issue.get('first_seen'))}",
        f"last seen:    {_when(issue.get('last_seen'))}",
    ]
    if issue.get("regressed_at"):
        out.append(f"regressed:    {_when(issue.get('regressed_at'))}")
    out += [f"environments: {lists['environments']}", f"releases:     {lists['releases']}"]
    out += _trend_lines(issue, _dt.datetime.now(_dt.UTC))
    if latest.message:
        out += ["", "message:", f"  {latest.message}"]
    if latest.breadcrumbs or latest.breadcrumbs_omitted:
        out += ["", "breadcrumbs (oldest first, UTC):", *_breadcrumb_lines(latest)]
    if latest.exceptions:
        out += ["", "exception (> in-app frame):",
                *_traceback_lines(latest.exceptions, show_locals=show_locals)]
    if latest.request:
        out += ["", "request:", *(f"  {label}: {value}" for label, value in latest.request.items())]
    for title, values in (("context", latest.context), ("tags", latest.tags)):
        if values:
            out += ["", f"{title}:", *(f"  {k}: {v}" for k, v in sorted(values.items()))]
    if latest.extra:
        out += ["", "extra:", json.dumps(_jsonable(latest.extra), indent=2, sort_keys=True)]
    history = [h for h in issue.get("status_history") or [] if isinstance(h, Mapping)]
    if history:
        out += ["", "status history:"]
        out += [
            f"  {_when(h.get('at'))}  {h.get('status', '?')}  by {h.get('by', '?')}"
            + (f"  ({h['reason']})" if h.get("reason") else "")
            for h in history
        ]
    if occurrences:
        out += ["", f"recent occurrences ({len(occurrences)}):"]
        for raw in occurrences:
            view = occurrence_view(raw)
            text = view.message or (view.exceptions[-1].value if view.exceptions else "")
            out.append(f"  {_when(view.timestamp)}  {view.environment or '-'}  {text}")
    return printable("\n".join(out))


def _cmd_show(args: argparse.Namespace) -> int:
    reader = _reader()
    try:
        issue = reader.get(args.issue_id)
        if issue is None:
            return _fail(f"no issue {args.issue_id!r}", 1)
        occurrences = reader.occurrences(args.issue_id)
    except _firestore_errors() as exc:
        return _fail(f"Firestore: {exc}", 1)
    if args.json:
        _print_json({**issue, "occurrences": occurrences})
    else:
        print(_show_text(issue, occurrences, args.locals))
    return 0


def _default_operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in this container
        return "cli"


def _cmd_change(args: argparse.Namespace) -> int:
    by = args.by or _default_operator()
    status = ACTIONS[args.action]
    try:
        outcome = _reader().set_status(args.issue_id, status, by, f"{args.action} (CLI)")
    except IssueNotFound:
        return _fail(f"no issue {args.issue_id!r}", 1)
    except _firestore_errors() as exc:
        return _fail(f"Firestore: {exc}", 1)
    if args.json:
        summary = {k: outcome.issue.get(k) for k in _SUMMARY_FIELDS}
        _print_json({"issue": summary, "changed": outcome.changed})
    elif outcome.changed:
        print(printable(f"{args.issue_id}: {status}"))
    else:
        print(printable(f"{args.issue_id}: already {status}"))
    return 0
