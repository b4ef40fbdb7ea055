"""``afissue prune --resolved-older-than 90d``: delete old resolved issues, subcollections first.

Firestore's TTL policies delete single documents, never a subcollection; this command
deletes what they cannot: resolved issues nobody saw for a while, with their
``occurrences``, in batches, resumably (``issue_store.prune``). ``--dry-run`` counts
what would go. One line per pruned issue with ``--verbose``; a summary at the end;
``--json`` for scripts. Exit status: 0 done, 1 Firestore failed (run it again: it
resumes), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
from typing import Any

from afissue.issues_cli import _firestore_errors, _print_json
from issue_store.prune import PruneProgress, Pruner, parse_age
from issue_store.settings import ReaderSettings

__all__ = ["add_prune_command"]


def _age(text: str) -> _dt.timedelta:
    try:
        return parse_age(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_prune_command(subparsers: Any) -> None:
    """Add ``prune`` to the ``afissue`` parser's *subparsers*."""
    prune = subparsers.add_parser(
        "prune", help="delete resolved issues (with their occurrences) not seen for a while"
    )
    prune.add_argument(
        "--resolved-older-than", type=_age, required=True, metavar="AGE",
        help="resolved, and neither seen nor resolved, for longer than AGE (90d, 12h, 2w)",
    )
    prune.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    prune.add_argument(
        "--batch-size", type=int, default=200, choices=range(1, 501), metavar="N",
        help="documents per Firestore batch (1-500, default 200)",
    )
    prune.add_argument("--verbose", "-v", action="store_true", help="print each issue pruned")
    prune.add_argument("--json", action="store_true", help="print the summary as JSON")
    prune.set_defaults(func=_cmd_prune)


def _cmd_prune(args: argparse.Namespace) -> int:
    settings = ReaderSettings.from_env(os.environ)
    from issue_store.client import firestore_client

    printed = 0

    def report(done: PruneProgress) -> None:
        nonlocal printed
        if args.verbose:
            for issue_id in done.pruned_ids[printed:]:
                print(f"{'would prune' if args.dry_run else 'pruned'} {issue_id}", flush=True)
        printed = len(done.pruned_ids)

    try:
        db = firestore_client(settings.firestore_project, settings.firestore_emulator_host)
        pruner = Pruner(db, settings.firestore_collection, batch_size=args.batch_size)
        done = pruner.run(args.resolved_older_than, dry_run=args.dry_run, progress=report)
    except _firestore_errors() as exc:
        print(f"afissue prune: Firestore: {exc} (run it again: it resumes)", file=sys.stderr)
        return 1
    if args.json:
        _print_json({"dry_run": args.dry_run, "issues": done.issues, "documents": done.documents,
                     "kept_changed": done.kept_changed})
        return 0
    verb = "would delete" if args.dry_run else "deleted"
    line = f"{verb} {done.issues} issues ({done.documents} documents)"
    if done.kept_changed:
        line += f"; kept {done.kept_changed} written meanwhile (regressed)"
    print(line)
    return 0
