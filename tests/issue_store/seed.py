"""Issue documents in the consumer's layout, written straight into the emulator."""

from __future__ import annotations

import asyncio
import datetime as _dt
import logging
import sys
from typing import Any

from afissue_logging._builder import EventBuilder
from afissue_logging._snapshot import snapshot_record
from afissue_logging.settings import load_settings
from consumer.document import latest_payload
from consumer.occurrence import Occurrence
from consumer.search_fields import planned_tokens


def ago(**delta: float) -> _dt.datetime:
    """A moment *delta* before now (now, not the start of the run: pages show relative times)."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0) - _dt.timedelta(**delta)


def frame(function: str, *, in_app: bool = True, line: str = "do_it()") -> dict[str, Any]:
    """One stack frame."""
    module = "app.orders" if in_app else "lib.http"
    return {
        "filename": f"/srv/{module.replace('.', '/')}.py",
        "module": module,
        "function": function,
        "lineno": 42,
        "context_line": line,
        "in_app": in_app,
    }


def occurrence(message: str = "Payment failed for order 1234", **fields: Any) -> dict[str, Any]:
    """An occurrence as the consumer stores it (``latest`` and ``occurrences`` documents)."""
    base: dict[str, Any] = {
        "event_id": "e" * 32,
        "timestamp": ago(minutes=5),
        "count": 1,
        "message": message,
        "level": "error",
        "logger": "app.orders",
        "exception": {
            "type": "ValueError",
            "value": "card declined",
            "module": "builtins",
            "chain": [
                {
                    "type": "TimeoutError",
                    "value": "gateway timed out",
                    "module": "builtins",
                    "relation": "cause",
                    "frames": [frame("call_gateway", in_app=False, line="sock.recv()")],
                }
            ],
        },
        "frames": [
            frame("handle_request", in_app=False, line="return view()"),
            frame("charge", line="raise ValueError('card declined')"),
        ],
        "context": {
            "environment": "production",
            "release": "1.4.2",
            "host": "web-1",
            "tags": {"region": "eu-west"},
            "extra": {"order_id": 1234, "amount": "9.99"},
            "trace_id": "t-1",
        },
    }
    base.update(fields)
    return base


def issue(issue_id: str, **fields: Any) -> dict[str, Any]:
    """An issue document; *fields* override the defaults."""
    doc: dict[str, Any] = {
        "issue_id": issue_id,
        "service": "payments",
        "fingerprint": f"fp-{issue_id}",
        "title": f"ValueError: card declined ({issue_id})",
        "culprit": "app.orders in charge",
        "level": "error",
        "type": "bug",
        "priority": "medium",
        "status": "open",
        "count": 3,
        "first_seen": ago(hours=2),
        "last_seen": ago(minutes=5),
        "environments": ["production"],
        "releases": ["1.4.2"],
        "latest": occurrence(),
        "created_at": ago(hours=2),
        "updated_at": ago(minutes=5),
        "regressed_at": None,
        "status_history": [
            {"status": "open", "at": ago(hours=2), "by": "consumer", "reason": "first seen"}
        ],
    }
    doc.update(fields)
    if "search_tokens" not in fields:  # as the consumer plans them (consumer.search_fields)
        event = {"title": doc["title"], **{k: v for k, v in doc["latest"].items()
                                           if k in ("exception", "message")}}
        doc.update(planned_tokens(None, doc, event, str(doc["culprit"])))
    return doc


def trend_maps(hours: dict[int, int], days: dict[int, int] | None = None) -> dict[str, Any]:
    """``trend_hourly`` / ``trend_daily`` with *hours* (hours ago -> count) and *days*
    (days ago -> count; by default the hours summed per day), as the consumer writes them."""
    now = _dt.datetime.now(_dt.UTC)
    hourly: dict[str, int] = {}
    daily: dict[str, int] = {}
    for back, count in hours.items():
        moment = now - _dt.timedelta(hours=back)
        hourly[moment.strftime("%Y%m%d%H")] = count
        daily[moment.strftime("%Y%m%d")] = daily.get(moment.strftime("%Y%m%d"), 0) + count
    if days is not None:
        daily = {(now - _dt.timedelta(days=d)).strftime("%Y%m%d"): c for d, c in days.items()}
    return {"trend_hourly": hourly, "trend_daily": daily}


def put(db: Any, collection: str, doc: dict[str, Any], occurrences: int = 0) -> str:
    """Write *doc* (and *occurrences* ring documents) and return its id."""
    ref = db.collection(collection).document(doc["issue_id"])
    ref.set(doc)
    for n in range(occurrences):
        ref.collection("occurrences").document(f"{n:02d}").set(
            occurrence(
                f"occurrence {n}", timestamp=ago(minutes=5 + n), coalesced_count=n + 1
            )
        )
    return str(doc["issue_id"])


def task_group_occurrence() -> dict[str, Any]:
    """The latest occurrence of a TaskGroup failure, as the real client sends it and the
    consumer stores it: three children — one with a chain, one a nested group."""
    async def save() -> None:
        try:
            raise OSError("disk full")
        except OSError as error:
            raise RuntimeError("save failed") from error

    async def fetch() -> None:
        raise KeyError("stock")

    async def shard() -> None:
        raise ExceptionGroup("shard", [ValueError("row 3")])

    async def main() -> None:
        async with asyncio.TaskGroup() as group:
            for job in (save, fetch, shard):
                group.create_task(job())

    builder = EventBuilder(load_settings({}, service="svc", spool_dir="/tmp/x"))
    try:
        asyncio.run(main())
    except ExceptionGroup:
        record = logging.LogRecord("app", logging.ERROR, __file__, 1, "run failed", (),
                                   sys.exc_info())
    event: dict[str, Any] = dict(builder.build(snapshot_record(record)))
    return latest_payload(Occurrence("e" * 32, "i" * 32, ago(minutes=5), 1, event))


def alert(issue_id: str, trigger: str, n: int, minutes_ago: int, **channels: dict[str, Any]) -> dict[str, Any]:
    """An outbox document as the consumer writes it (``alerting.outbox``), its channels'
    delivery state changed as the notifier would by *channels* (name -> fields)."""
    from alerting.outbox import new_outbox_document

    document = new_outbox_document(
        issue_id=issue_id, trigger=trigger, n=n, rule_names=["production"],
        channels=list(channels) or ["ops"], created_at=ago(minutes=minutes_ago),
        issue={"title": f"Boom in {issue_id}", "service": "payments", "count": 12},
        detail={"threshold": 10**n} if trigger == "count" else {},
        rule_slug="production" if trigger == "velocity" else None,
    )
    for name, fields in channels.items():
        document["channels"][name].update(fields)
    return document


def put_alert(db: Any, document: dict[str, Any], collection: str = "alerts") -> str:
    """Write the outbox *document* and return its id."""
    db.collection(collection).document(document["alert_id"]).set(document)
    return str(document["alert_id"])
