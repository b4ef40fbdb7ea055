"""``afissue reindex``: give issues written before search tokens existed their ``search_tokens``.

Walks every issue document (``issue_store.reindex``) and writes the tokens the consumer
would write, where missing (``--all``: where different, e.g. after the tokenizer
changed). ``--dry-run`` only counts. Idempotent and resumable: run it again. Exit status:
0 done, 1 Firestore failed, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from afissue.issues_cli import _firestore_errors, _print_json
from issue_store.reindex import reindex
from issue_store.settings import ReaderSettings

__all__ = ["add_reindex_command"]


def add_reindex_command(subparsers: Any) -> None:
    """Add ``reindex`` to the ``afissue`` parser's *subparsers*."""
    command = subparsers.add_parser(
        "reindex", help="write search tokens on issues stored before they existed"
    )
    command.add_argument("--all", action="store_true", help="also rewrite tokens that differ")
    command.add_argument("--dry-run", action="store_true", help="only count what would change")
    command.add_argument("--json", action="store_true", help="print the summary as JSON")
    command.set_defaults(func=_cmd_reindex)


def _cmd_reindex(args: argparse.Namespace) -> int:
    from issue_store.client import firestore_client

    settings = ReaderSettings.from_env(os.environ)
    try:
        db = firestore_client(settings.firestore_project, settings.firestore_emulator_host)
        done = reindex(db, settings.firestore_collection, everything=args.all, dry_run=args.dry_run)
    except _firestore_errors() as exc:
        print(f"afissue reindex: Firestore: {exc} (run it again: it resumes)", file=sys.stderr)
        return 1
    if args.json:
        _print_json({"dry_run": args.dry_run, **vars(done)})
        return 0
    verb = "would update" if args.dry_run else "updated"
    print(f"read {done.read} issues, {verb} {done.updated}"
          + (f", {done.changed_meanwhile} written meanwhile (the consumer wrote their tokens)"
             if done.changed_meanwhile else ""))
    return 0
