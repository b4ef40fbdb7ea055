"""Turns stored issues into what a person reads: occurrences (exception chain, frames,
context), relative times, and plain-text tables for the terminal.

Occurrences come from the consumer's ``latest`` field and ``occurrences`` documents, and
may be in either shape the pipeline has used: frames under ``exception.frames`` or
beside it (``frames``), context fields at the top level or under ``context``. An
exception group's sub-exceptions (``children``) are views of their own, whether stored
as maps or, nested deeply, as JSON text. Every field
may be missing or of the wrong type; nothing here raises on such input. Text bound for
a terminal has its control characters escaped (:func:`printable`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "BreadcrumbView",
    "ExceptionView",
    "FrameView",
    "OccurrenceView",
    "as_datetime",
    "breadcrumb_views",
    "exception_chain",
    "format_table",
    "occurrence_view",
    "pretty_json",
    "printable",
    "relative_time",
    "release_view",
    "request_view",
]

_CONTEXT_FIELDS = (
    "environment", "release", "host", "pid", "thread", "logger", "level",
    "trace_id", "request_id", "reporter_id",
)
# The request's fields in the order a person reads them, with their labels.
_REQUEST_FIELDS = (
    ("method", "method"), ("path", "path"), ("route", "route"),
    ("query_string", "query string"), ("status", "status"), ("request_id", "request id"),
    ("user_id", "user id"),
)
# Terminal control characters (C0 without tab/newline, DEL, C1): a title or message
# could otherwise move the cursor or recolour the terminal of whoever reads it.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_MAX_DEPTH = 16  # nested groups shown; the client sends at most 4
_RELATION_TEXT = {
    "cause": "The above exception was the direct cause of the following exception:",
    "context": "During handling of the above exception, another exception occurred:",
}


def relative_time(moment: Any, now: _dt.datetime | None = None) -> str:
    """``"3s ago"`` / ``"5m ago"`` / ``"2h ago"`` / ``"4d ago"`` for a datetime; ``"-"`` otherwise."""
    moment = as_datetime(moment)
    if moment is None:
        return "-"
    now = now or _dt.datetime.now(_dt.UTC)
    seconds = max(0, int((now - moment).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def as_datetime(value: Any) -> _dt.datetime | None:
    """An aware datetime from a datetime or an RFC 3339 string; None otherwise."""
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, _dt.datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=_dt.UTC)


def pretty_json(value: Any) -> str:
    """*value* as indented JSON; anything JSON cannot hold is shown as its ``str``."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _mapping(value: Any) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else {}


@dataclasses.dataclass(frozen=True)
class FrameView:
    """One stack frame."""

    filename: str
    module: str
    function: str
    lineno: int | None
    context_line: str
    in_app: bool

    @classmethod
    def of(cls, raw: Any) -> FrameView:
        frame = _mapping(raw)
        lineno = frame.get("lineno")
        return cls(
            filename=_str(frame.get("filename")),
            module=_str(frame.get("module")),
            function=_str(frame.get("function")),
            lineno=lineno if isinstance(lineno, int) and not isinstance(lineno, bool) else None,
            context_line=_str(frame.get("context_line")).strip(),
            in_app=frame.get("in_app") is True,
        )


def _list(value: Any) -> list[Any] | None:
    """*value* as a list: Firestore keeps containers nested deeper than the consumer's
    depth bound as their JSON text (``wire.firestore_safe``), so a group's nested frames,
    chains and children may arrive as a string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, list) else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclasses.dataclass(frozen=True)
class ExceptionView:
    """One exception of a chain, with the sentence linking it to the next one. An
    exception group's sub-exceptions are in ``children``, each as its own chain (the
    order :func:`exception_chain` gives)."""

    type: str
    value: str
    module: str
    frames: list[FrameView]
    frames_omitted: int
    leads_to: str
    children: list[list[ExceptionView]] = dataclasses.field(default_factory=list)
    children_omitted: int = 0

    @classmethod
    def of(cls, raw: Any, frames: Any = None, depth: int = 0) -> ExceptionView:
        exc = _mapping(raw)
        raw_frames = _list(exc.get("frames") if frames is None else frames) or []
        children = (_list(exc.get("children")) or []) if depth < _MAX_DEPTH else []
        return cls(
            type=_str(exc.get("type")) or "Exception",
            value=_str(exc.get("value")),
            module=_str(exc.get("module")),
            frames=[FrameView.of(f) for f in raw_frames],
            frames_omitted=_int(exc.get("frames_omitted")),
            leads_to=_RELATION_TEXT.get(_str(exc.get("relation")), ""),
            children=[
                exception_chain(child, depth=depth + 1)
                for child in children
                if isinstance(child, Mapping)
            ],
            children_omitted=_int(exc.get("children_omitted")),
        )

    @property
    def is_group(self) -> bool:
        """Whether this is an exception group (it lists sub-exceptions)."""
        return bool(self.children or self.children_omitted)

    @property
    def qualified_type(self) -> str:
        """``module.Type``, leaving out ``builtins``."""
        if self.module and self.module != "builtins":
            return f"{self.module}.{self.type}"
        return self.type


@dataclasses.dataclass(frozen=True)
class OccurrenceView:
    """One occurrence, ready for a template or a terminal."""

    event_id: str
    timestamp: _dt.datetime | None
    message: str
    description: str
    count: int | None
    exceptions: list[ExceptionView]
    context: dict[str, Any]
    tags: dict[str, Any]
    extra: dict[str, Any]
    request: dict[str, str] = dataclasses.field(default_factory=dict)
    breadcrumbs: list[BreadcrumbView] = dataclasses.field(default_factory=list)
    #: Older breadcrumbs left out to fit the document (the consumer keeps the newest).
    breadcrumbs_omitted: int = 0

    @property
    def environment(self) -> str:
        return _str(self.context.get("environment"))

    @property
    def release(self) -> str:
        return _str(self.context.get("release"))


def exception_chain(
    raw: Mapping[str, Any], frames: Any = None, depth: int = 0
) -> list[ExceptionView]:
    """An exception and its ``chain`` in the order Python prints them: the oldest cause
    first, the exception itself last (*frames* replace its own when given)."""
    chain = _list(raw.get("chain")) or []
    views = [ExceptionView.of(link, depth=depth) for link in chain if isinstance(link, Mapping)]
    logged = _mapping(raw)
    logged.pop("relation", None)
    views.append(ExceptionView.of(logged, frames, depth))
    return views


def occurrence_view(raw: Any) -> OccurrenceView:
    """The view of a stored occurrence (``latest`` or an ``occurrences`` document).

    ``exceptions`` is in the order Python prints a traceback: the oldest cause first,
    the exception that was logged last; each one's ``leads_to`` introduces the next.
    """
    data = _mapping(raw)
    nested = _mapping(data.get("context"))
    context = {name: data[name] for name in _CONTEXT_FIELDS if data.get(name) not in (None, "")}
    context.update(
        {name: nested[name] for name in _CONTEXT_FIELDS if nested.get(name) not in (None, "")}
    )
    exceptions: list[ExceptionView] = []
    exception = data.get("exception")
    if isinstance(exception, Mapping):
        frames = exception.get("frames")
        if _list(frames) is None:
            frames = data.get("frames")
        exceptions = exception_chain(exception, frames)
    count = data.get("coalesced_count", data.get("count"))
    breadcrumbs, omitted = breadcrumb_views(data.get("breadcrumbs"))
    return OccurrenceView(
        event_id=_str(data.get("event_id")),
        timestamp=as_datetime(data.get("timestamp")) or as_datetime(data.get("received_at")),
        message=_str(data.get("message")),
        description=_str(data.get("description")),
        count=count if isinstance(count, int) and not isinstance(count, bool) else None,
        exceptions=exceptions,
        context=context,
        tags=_mapping(nested.get("tags")) or _mapping(data.get("tags")),
        extra=_mapping(nested.get("extra")) or _mapping(data.get("extra")),
        request=request_view(data.get("request") or nested.get("request")),
        breadcrumbs=breadcrumbs,
        breadcrumbs_omitted=omitted,
    )


@dataclasses.dataclass(frozen=True)
class BreadcrumbView:
    """One record of the timeline before an occurrence."""

    timestamp: _dt.datetime | None
    level: str
    logger: str
    message: str
    thread: str
    data: dict[str, str]

    @property
    def time(self) -> str:
        """``HH:MM:SS.mmm`` (UTC), or ``"-"``."""
        if self.timestamp is None:
            return "-"
        return self.timestamp.astimezone(_dt.UTC).strftime("%H:%M:%S.%f")[:-3]


_OMITTED = re.compile(r"^… (\d+) more items omitted$")


def breadcrumb_views(raw: Any) -> tuple[list[BreadcrumbView], int]:
    """Stored breadcrumbs (oldest first) as views, and how many older ones were left out."""
    views: list[BreadcrumbView] = []
    omitted = 0
    for item in _list(raw) or []:
        if isinstance(item, str):
            found = _OMITTED.match(item)
            omitted += int(found.group(1)) if found else 0
            continue
        crumb = _mapping(item)
        if not crumb:
            continue
        data = _mapping(crumb.get("data"))
        views.append(
            BreadcrumbView(
                timestamp=as_datetime(crumb.get("timestamp")),
                level=_str(crumb.get("level")),
                logger=_str(crumb.get("logger")),
                message=_str(crumb.get("message")),
                thread=_str(crumb.get("thread")),
                data={_str(k): _str(v) if isinstance(v, str) else json.dumps(v, default=str)
                      for k, v in data.items()},
            )
        )
    return views, omitted


def request_view(raw: Any) -> dict[str, str]:
    """The request an occurrence happened in, as labelled text in reading order (only the
    fields it has; ``{}`` for anything that is not a request object)."""
    request = _mapping(raw)
    view: dict[str, str] = {}
    for name, label in _REQUEST_FIELDS:
        value = request.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
            view[label] = str(value)
    return view


def printable(text: str) -> str:
    """*text* with terminal control characters shown as ``\\xNN`` escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _cell(value: Any) -> str:
    if isinstance(value, _dt.datetime):
        return value.astimezone(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    text = "" if value is None else str(value)
    return printable(" ".join(text.split("\n")).replace("\t", " "))


def format_table(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], max_width: int = 60
) -> str:
    """A plain-text table of *columns* of *rows*, cells cut at *max_width*."""
    cells = [[_cell(row.get(col))[:max_width] for col in columns] for row in rows]
    widths = [max([len(col), *(len(r[i]) for r in cells)]) for i, col in enumerate(columns)]
    lines = ["  ".join(col.upper().ljust(w) for col, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def release_view(issue: Any) -> list[tuple[str, _dt.datetime | None]]:
    """The issue's releases with the time each was first seen (``release_seen``); a
    document written before that field lists its plain ``releases`` with no time."""
    document = _mapping(issue)
    seen = document.get("release_seen")
    if isinstance(seen, list) and seen:
        return [(_str(e.get("release")), as_datetime(e.get("first_seen")))
                for e in seen if isinstance(e, dict) and e.get("release")]
    plain = document.get("releases")
    return [(str(r), None) for r in plain] if isinstance(plain, list) else []
