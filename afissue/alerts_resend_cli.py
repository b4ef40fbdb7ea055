"""``afissue alerts resend``: deliver dead alerts again, once the receiver is fixed.

``resend ALERT_ID...`` re-queues the dead channels of those alerts; ``resend --dead
--since-hours N`` those of every alert of the last N hours (default 24) with a dead
channel. The notifier sends them on its next pass, with their original idempotency ids.
``afissue.alerts_cli`` registers it beside ``afissue alerts list`` with
:func:`add_alerts_resend_command`.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["add_alerts_resend_command", "alerts_resend"]


def alerts_resend(
    alert_ids: Sequence[str], dead: bool, since_hours: float, environ: Mapping[str, str]
) -> int:
    """Re-queue dead channels; 0 when something was re-queued, 1 when nothing was dead,
    2 when the arguments or settings are unusable."""
    from afissue_logging.config import SettingsError
    from issue_store.client import firestore_client
    from notifier.resend import dead_alert_ids, resend
    from notifier.settings import NotifierSettings

    prog = "afissue alerts resend"
    if bool(alert_ids) == dead:
        print(f"{prog}: give ALERT_IDs or --dead, not both or neither", file=sys.stderr)
        return 2
    try:
        settings = NotifierSettings.from_env(environ)
    except (SettingsError, ValueError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    db = firestore_client(settings.firestore_project, settings.firestore_emulator_host)
    now = datetime.datetime.now(datetime.UTC)
    ids = list(alert_ids) or dead_alert_ids(
        db, settings.alerts_collection, now - datetime.timedelta(hours=since_hours)
    )
    requeued = resend(db, settings.alerts_collection, ids, now)
    for alert_id, channels in requeued.items():
        what = ", ".join(channels) if channels else "nothing dead"
        print(f"{alert_id}: {what}")
    total = sum(len(channels) for channels in requeued.values())
    print(f"re-queued {total} dead deliveries of {len(requeued)} alerts")
    return 0 if total else 1


def _run(args: argparse.Namespace) -> int:
    return alerts_resend(args.alert_ids, args.dead, args.since_hours, os.environ)


def add_alerts_resend_command(alerts_sub: Any) -> None:
    """Add ``resend`` to the ``afissue alerts`` subparsers *alerts_sub*."""
    command = alerts_sub.add_parser("resend", help="deliver dead alerts again")
    command.add_argument("alert_ids", nargs="*", metavar="ALERT_ID")
    command.add_argument("--dead", action="store_true",
                         help="every alert with a dead channel (see --since-hours)")
    command.add_argument("--since-hours", type=float, default=24.0,
                         help="with --dead: alerts created in the last N hours (default 24)")
    command.set_defaults(func=_run)
