"""The ``afissue`` command line: run the servers, the local stack, and manage tokens.

Configuration flows one way: environment / flags -> one settings object -> constructors.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]


def _stop_on_signals() -> threading.Event:
    """An event set by SIGINT / SIGTERM."""
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def _cmd_ingest(args: argparse.Namespace) -> int:
    from ingest_service import serve
    from ingest_service.errors import IngestConfigError
    from ingest_service.settings import IngestSettings

    settings = IngestSettings.from_env(
        os.environ,
        host=args.host,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        allow_open=True if args.allow_open else None,
    )
    try:
        serve(settings)
    except IngestConfigError as error:
        print(f"afissue ingest: {error}", file=sys.stderr)
        return 2
    return 0


def _cmd_consumer(args: argparse.Namespace) -> int:
    from consumer.runtime import main as consumer_main

    # The same process as `python -m consumer`: logging, log level, signals, exit status.
    return consumer_main(os.environ)


def _cmd_notifier(args: argparse.Namespace) -> int:
    from notifier.main import main as notifier_main

    # The same process as `python -m notifier`: logging, settings, rules, signals.
    return notifier_main(os.environ)


def _cmd_token_new(args: argparse.Namespace) -> int:
    from ingest_service.errors import IngestConfigError
    from ingest_service.tokens import new_token

    try:
        token, line = new_token(args.service)
    except IngestConfigError as error:
        print(f"afissue token new: {error}", file=sys.stderr)
        return 2
    if args.append:
        try:
            with open(args.append, "a", encoding="utf-8") as tokens_file:
                tokens_file.write(line + "\n")
        except OSError as error:
            print(f"afissue token new: cannot append to {args.append!r}: {error}", file=sys.stderr)
            return 2
    print(f"token: {token}")
    print(f"line:  {line}")
    if not args.append:
        print(
            "Add the line to the file named by AFISSUE_TOKENS_FILE; give the token to the service."
        )
    return 0


def _cmd_dlq(args: argparse.Namespace) -> int:
    import json

    from afissue.dlq import read_dead_letters, replay
    from consumer.settings import ConsumerSettings
    from issue_store.present import format_table

    settings = ConsumerSettings.from_env(os.environ)
    if args.dlq_command == "list":
        rows = [
            letter.as_row()
            for letter in read_dead_letters(settings.kafka_bootstrap, settings.dead_letter_topic)
        ]
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            print(format_table(rows, ["partition", "offset", "reason", "source", "detail"]))
            print(f"{len(rows)} dead letters on {settings.dead_letter_topic}")
        return 0
    result = replay(
        settings.kafka_bootstrap,
        settings.dead_letter_topic,
        settings.kafka_topic,
        dry_run=args.dry_run,
    )
    verb = "would replay" if result.dry_run else "replayed"
    print(
        f"{verb} {result.replayed} dead letters from {settings.dead_letter_topic} to {settings.kafka_topic}"
    )
    return 0


def _run_demo(stack: Any) -> None:
    from afissue.demo import EXPECTED_OCCURRENCES
    from issue_store.client import firestore_client
    from issue_store.present import format_table
    from issue_store.query import IssueQuery
    from issue_store.reader import IssueReader

    print(f"demo: logging {EXPECTED_OCCURRENCES} errors from service demo-trading ...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "afissue.demo", stack.ingest_url],
        env=stack.child_environment(),
        check=True,
        timeout=120,
    )
    settings = stack.settings
    if not settings.consumer:
        print("demo: no consumer runs (--no-consumer): start `afissue consumer` to fill Firestore")
        return
    reader = IssueReader(
        firestore_client(settings.firestore_project, stack.firestore_host),
        settings.firestore_collection,
    )
    query = IssueQuery(status=None, service="demo-trading", limit=100)
    deadline = time.monotonic() + 90
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        stack.check()
        rows = reader.find(query).issues
        if sum(int(r.get("count", 0)) for r in rows) >= EXPECTED_OCCURRENCES:
            break
        time.sleep(0.5)
    rows.sort(key=lambda r: -int(r.get("count", 0)))
    total = sum(int(r.get("count", 0)) for r in rows)
    print(
        f"\n{len(rows)} issues in Firestore ({total} occurrences of {EXPECTED_OCCURRENCES} logged):\n"
    )
    print(format_table(rows, ["title", "count", "status", "first_seen", "last_seen", "issue_id"]))
    _wait_for_alerts(stack, len(rows))
    base = f"http://{stack.firestore_host}/v1/projects/{settings.firestore_project}"
    print(f"\nissues (web):  {stack.ingest_url}/issues")
    print(f"recent issues: {stack.ingest_url}/issues/recent")
    print(f"health:        {stack.ingest_url}/api/health")
    print(f"firestore:     {base}/databases/(default)/documents/{settings.firestore_collection}\n")


def _wait_for_alerts(stack: Any, issues: int, timeout: float = 45.0) -> None:
    """Wait until the local receiver has one alert per new issue of the demo, and say so."""
    receiver = stack.alert_receiver
    if receiver is None or not (stack.settings.consumer and stack.settings.notifier):
        return
    deadline = time.monotonic() + timeout
    while receiver.count() < issues and time.monotonic() < deadline:
        stack.check()
        time.sleep(0.2)
    print(
        f"\n{receiver.count()} alerts received by the local receiver at {receiver.url} "
        f"({issues} new issues; each signature verified)",
        flush=True,
    )


def _cmd_dev(args: argparse.Namespace) -> int:
    from afissue.dev import DevSettings, DevStack
    from afissue.services import ServiceError

    settings = DevSettings.from_env(
        os.environ, port=args.port, consumer=not args.no_consumer,
        notifier=not args.no_notifier,
    )
    stop = _stop_on_signals()
    print("warning: afissue dev runs the ingest API without authentication", file=sys.stderr)
    try:
        with DevStack(settings) as stack:
            if args.demo:
                _run_demo(stack)
            if args.exit_after_demo:
                return 0
            print("afissue dev is running; Ctrl-C stops it.", flush=True)
            stack.wait(stop.is_set)
    except ServiceError as error:
        print(f"afissue dev: {error}", file=sys.stderr)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="afissue", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser(
        "dev", help="run the whole pipeline locally (ingest, consumer, Kafka, Redis, Firestore)"
    )
    dev.add_argument("--port", type=int, default=None, help="ingest API port (default 6001)")
    dev.add_argument("--no-consumer", action="store_true", help="leave the consumer out")
    dev.add_argument(
        "--no-notifier", action="store_true", help="leave the alert notifier out"
    )
    dev.add_argument(
        "--demo", action="store_true", help="run the demo service and print the issues"
    )
    dev.add_argument("--exit-after-demo", action="store_true", help="stop after the demo")
    dev.set_defaults(func=_cmd_dev)

    ingest = sub.add_parser("ingest", help="serve the ingest API with gunicorn")
    ingest.add_argument("--host", default=None)
    ingest.add_argument("--port", type=int, default=None)
    ingest.add_argument("--workers", type=int, default=None)
    ingest.add_argument("--threads", type=int, default=None)
    ingest.add_argument(
        "--allow-open",
        action="store_true",
        help="serve without authentication when no AFISSUE_TOKENS_FILE is set",
    )
    ingest.set_defaults(func=_cmd_ingest)

    consumer = sub.add_parser("consumer", help="run one consumer of the Kafka consumer group")
    consumer.set_defaults(func=_cmd_consumer)

    notifier = sub.add_parser(
        "notifier", help="deliver pending alerts (webhook, Slack, email); run one or more"
    )
    notifier.set_defaults(func=_cmd_notifier)

    from afissue.issues_cli import add_issues_commands

    add_issues_commands(sub)

    from afissue.alerts_cli import add_alerts_commands

    add_alerts_commands(sub)

    from afissue.prune_cli import add_prune_command

    add_prune_command(sub)

    from afissue.reindex_cli import add_reindex_command

    add_reindex_command(sub)

    dlq = sub.add_parser("dlq", help="inspect and replay the dead-letter topic")
    dlq_sub = dlq.add_subparsers(dest="dlq_command", required=True)
    dlq_list = dlq_sub.add_parser("list", help="print every dead letter with its reason")
    dlq_list.add_argument("--json", action="store_true", help="print JSON for scripts")
    dlq_replay = dlq_sub.add_parser(
        "replay", help="produce not-yet-replayed dead letters back to the topic"
    )
    dlq_replay.add_argument(
        "--dry-run", action="store_true", help="only count what would be replayed"
    )
    dlq.set_defaults(func=_cmd_dlq)

    token = sub.add_parser("token", help="manage ingest API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    token_new = token_sub.add_parser(
        "new", help="print a fresh token for SERVICE and its tokens-file line"
    )
    token_new.add_argument("service")
    token_new.add_argument("--append", metavar="FILE", help="append the line to this tokens file")
    token_new.set_defaults(func=_cmd_token_new)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    return code
