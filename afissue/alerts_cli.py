"""``afissue alerts list``: the recent alerts and their delivery state on each channel.

Reads the outbox (``AFISSUE_ALERTS_COLLECTION`` in ``AFISSUE_FIRESTORE_PROJECT``)
through the reader the web UI uses (``issue_store``: no Flask, no Kafka client is
imported). A table by default, ``--json`` for scripts. Exit status: 0 done, 1 Firestore
failed, 2 bad arguments.

:func:`add_alerts_commands` registers ``afissue alerts`` and its subcommands; each
subcommand is a separate function (``list`` here; the notifier's ``test`` beside it).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from afissue.alerts_resend_cli import add_alerts_resend_command
from afissue.alerts_test_cli import add_alerts_test_command
from afissue.issues_cli import _firestore_errors, _print_json
from issue_store.alerts import AlertView
from issue_store.present import format_table, printable, relative_time
from issue_store.settings import ReaderSettings

__all__ = ["add_alerts_commands", "add_list_command"]

_COLUMNS = ("created", "state", "alert", "issue_id", "delivery", "title")


def add_alerts_commands(subparsers: Any) -> None:
    """Add ``alerts`` and its subcommands to the ``afissue`` parser's *subparsers*."""
    alerts = subparsers.add_parser("alerts", help="alerts: what was sent where")
    sub = alerts.add_subparsers(dest="alerts_command", required=True)
    add_list_command(sub)
    add_alerts_test_command(sub)
    add_alerts_resend_command(sub)


def add_list_command(sub: Any) -> None:
    """``afissue alerts list``."""
    listing = sub.add_parser("list", help="recent alerts and their delivery state per channel")
    listing.add_argument("--issue", help="only this issue's alerts")
    listing.add_argument("--limit", type=_positive, default=50, help="alerts shown (default 50)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=_cmd_list)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number from 1 to 1000")
    return value


def _delivery(view: AlertView) -> str:
    """``ops delivered, mail dead (3 tries: timeout)``."""
    parts = []
    for channel in view.channels:
        text = f"{channel.channel} {channel.state}"
        if channel.state != "delivered" and channel.attempts:
            tries = "try" if channel.attempts == 1 else "tries"
            error = f": {channel.last_error}" if channel.last_error else ""
            text += f" ({channel.attempts} {tries}{error})"
        parts.append(text)
    return ", ".join(parts) or "-"


def _cmd_list(args: argparse.Namespace) -> int:
    reader = ReaderSettings.from_env(os.environ).reader()
    try:
        views = (reader.alerts(args.issue, args.limit) if args.issue
                 else reader.recent_alerts(args.limit))
    except _firestore_errors() as exc:
        print(f"afissue alerts: Firestore: {printable(str(exc))}", file=sys.stderr)
        return 1
    if args.json:
        _print_json({"alerts": [view.as_dict() for view in views]})
        return 0
    rows = [
        {
            "created": relative_time(view.created_at),
            "state": view.state,
            "alert": view.summary,
            "issue_id": view.issue_id,
            "delivery": _delivery(view),
            "title": printable(view.title.replace("\n", " ")),
        }
        for view in views
    ]
    print(format_table(rows, _COLUMNS, max_width=80) if rows else "no alerts")
    return 0
