"""Consumer throughput vs a bare consume + JSON-decode loop on the same broker (SPEC §8).

Both read the same topic (same messages, same librdkafka fetch properties) from
librdkafka's mock cluster; the consumer also claims every event id in Redis, coalesces
and writes Firestore (emulator) with checkpoints. Targets: consumer events/s ≥ 0.3 times the
bare loop's; Firestore issue-document writes per flush ≤ distinct issues in that flush.

Also measured, because it explains the mock's "wildly varying" consume speed: the bare
loop's rate when the producer wrote one record per batch instead of large batches —
the mock broker answers each Fetch with about one record batch per partition, so the
rate follows the producer's batching, not the consumer.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

from confluent_kafka import Consumer, Producer

# The mock broker keeps only about 5 MB per partition (older records are deleted: its
# low watermark moves), so the backlog must stay below that or both loops miss records.
# Written lz4-compressed, as the ingest service writes, 16,000 events a partition fit.
# A backlog of several seconds keeps the consumer's last, partial flush window (up to
# FLUSH_INTERVAL of waiting by design) from dominating the measured time.
N_EVENTS = 96_000
N_ISSUES = 50
PARTITIONS = 6
SMALL_BATCH_EVENTS = 3_000
COMPRESSION = {"compression.type": "lz4"}


def _event(issue: int, at: float) -> bytes:
    from afissue_logging.wire import encode_event, format_timestamp, new_event_id

    return encode_event({
        "event_id": new_event_id(), "issue_id": f"bench-issue-{issue}", "service": "bench",
        "fingerprint": f"fp-{issue}", "timestamp": format_timestamp(at),
        "received_at": format_timestamp(at), "count": 1,
        "title": f"ValueError: failure number {issue}", "level": "error", "logger": "bench.app",
        "message": "failure while charging card", "environment": "prod", "release": "1.2.3",
        "exception": {"type": "ValueError", "value": "bad", "module": "builtins", "frames": [
            {"filename": f"app/m{i}.py", "module": f"app.m{i}", "function": f"f{i}",
             "lineno": 10 + i, "context_line": "do_something(x)", "in_app": True}
            for i in range(5)]},
    })


def _produce(bootstrap: str, topic: str, count: int, conf: dict[str, Any]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, **conf})
    now = time.time()
    for i in range(count):
        issue = i % N_ISSUES
        producer.produce(topic, _event(issue, now + i / 1000), key=f"bench-issue-{issue}".encode())
        if i % 1000 == 0:
            producer.poll(0)
    producer.flush(60)


def _check_retained(bootstrap: str, topic: str) -> None:
    """Fail loudly if the broker already dropped records of *topic* (mock retention)."""
    from confluent_kafka import TopicPartition

    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-probe"})
    try:
        for partition in range(PARTITIONS):
            low, _ = probe.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if low != 0:
                raise RuntimeError(f"{topic}[{partition}] starts at {low}: records were dropped")
    finally:
        probe.close()


def _bare_rate(conf: dict[str, Any], topic: str, count: int) -> float:
    """Events/s of a loop that only consumes and JSON-decodes, first message to last.

    It takes what is fetched already and otherwise waits for one message, as the
    consumer does: ``consume(500, timeout)`` waits out its whole timeout whenever fewer
    than 500 messages are ready, which put random 0.5 s stalls in this baseline.
    """
    consumer = Consumer({**conf, "group.id": f"bench-bare-{uuid.uuid4().hex[:8]}"})
    consumer.subscribe([topic])
    seen, started = 0, 0.0
    deadline = time.monotonic() + 120
    while seen < count and time.monotonic() < deadline:
        messages = consumer.consume(500, 0) or [m for m in [consumer.poll(0.5)] if m is not None]
        for message in messages:
            if message.error() is None:
                if seen == 0:
                    started = time.perf_counter()
                json.loads((message.value() or b"null").decode())
                seen += 1
    elapsed = time.perf_counter() - started
    consumer.close()
    return (seen - 1) / elapsed if seen > 1 else 0.0


@dataclasses.dataclass
class _ConsumerRun:
    rate: float  # events/s, first message to last counted: the bare loop's span
    drain: float  # seconds from the last event counted to all of it written
    overall: float  # events/s, first message counted to all of them written
    sizes: list[int]  # distinct issues per flush
    issue_writes: list[int]  # issue-document writes per flush


def _alert_rules() -> Any:
    """Rules that evaluate every trigger on every issue write (``--alerts``): the decision
    path runs at each flush, the outbox is written only when an alert fires."""
    from alerting.rules import AlertConfig, Channel, Rule, Velocity

    return AlertConfig(
        {"ops": Channel("ops", "webhook", url="http://127.0.0.1:9/hook")},
        [Rule("bench", frozenset({"new", "regression", "count", "velocity"}), ("ops",),
              velocity=Velocity(1_000_000, 5))],
    )


def _consumer_rate(settings: Any, count: int, alerts: Any = None) -> _ConsumerRun:
    """The real consumer (claim, coalesce, write, checkpoint) on *count* events."""
    from consumer.coalesce import PartitionBatch
    from consumer.runtime import tune_gc
    from consumer.store import FirestoreStore, FlushResult
    from consumer.worker import Worker

    sizes: list[int] = []
    issue_writes: list[int] = []

    class Recording(FirestoreStore):
        def flush(self, batches: Sequence[PartitionBatch]) -> FlushResult:
            result = super().flush(batches)
            sizes.append(len({i for batch in batches for i in batch.issues}))
            issue_writes.append(result.issue_writes)
            return result

    worker = Worker(settings, store=Recording(settings, alerts=alerts), alerts=alerts)
    tune_gc(settings.gc_threshold)  # as run_consumer does in an `afissue consumer` process
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    started = counted_at = 0.0
    counted_before = 0
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        counted = int(worker.metrics.value("afissue_consumer_occurrences_counted_total"))
        if counted and not started:
            # The first poll batch is counted already: the rate starts after it.
            started, counted_before = time.perf_counter(), counted
        if counted >= count and not counted_at:
            counted_at = time.perf_counter()
        if counted_at and issue_writes and not worker.pending:
            break
        time.sleep(0.005)
    written_at = time.perf_counter()
    stop.set()
    thread.join(60)
    rate = (count - counted_before) / (counted_at - started) if counted_at > started else 0.0
    overall = (count - counted_before) / (written_at - started) if started else 0.0
    return _ConsumerRun(rate, written_at - counted_at, overall, sizes, issue_writes)


def _firestore_total(settings: Any) -> int:
    """The sum of ``count`` over the issue documents the consumer wrote."""
    from issue_store.client import firestore_client

    client = firestore_client(settings.firestore_project, settings.firestore_emulator_host)
    try:
        return sum(int(doc.get("count") or 0)
                   for doc in client.collection(settings.firestore_collection).stream())
    finally:
        client.close()


def run(alerts: bool = False) -> list[dict[str, Any]]:
    """Measure, then return the table rows; with *alerts*, the consumer decides alerts
    under rules that evaluate every trigger."""
    from afissue.services import FirestoreEmulator, RedisServer
    from afissue.services.kafka_mock import MockCluster
    from consumer.driver import kafka_config
    from consumer.settings import ConsumerSettings

    with MockCluster() as mock, RedisServer() as redis, FirestoreEmulator() as emulator:
        topic = f"bench.issues.{uuid.uuid4().hex[:8]}"
        mock.create_topic(topic, PARTITIONS)
        mock.create_topic(f"{topic}.dlq", 1)
        _produce(mock.bootstrap_servers, topic, N_EVENTS, {"linger.ms": 50, **COMPRESSION})
        _check_retained(mock.bootstrap_servers, topic)
        settings = ConsumerSettings(
            kafka_bootstrap=mock.bootstrap_servers, kafka_topic=topic,
            group_id=f"bench-consumer-{uuid.uuid4().hex[:8]}", redis_url=redis.url,
            firestore_project=f"bench-{uuid.uuid4().hex[:8]}",
            firestore_emulator_host=emulator.host_port, flush_interval=1.0,
            session_timeout_ms=6000,
        )
        conf = {k: v for k, v in kafka_config(settings).items() if k != "group.id"}
        bare = _bare_rate(conf, topic, N_EVENTS)
        run = _consumer_rate(settings, N_EVENTS, _alert_rules() if alerts else None)
        stored = _firestore_total(settings)

        small_topic = f"bench.small.{uuid.uuid4().hex[:8]}"
        mock.create_topic(small_topic, PARTITIONS)
        _produce(mock.bootstrap_servers, small_topic, SMALL_BATCH_EVENTS,
                 {"linger.ms": 0, "batch.num.messages": 1, **COMPRESSION})
        _check_retained(mock.bootstrap_servers, small_topic)
        bare_small = _bare_rate(conf, small_topic, SMALL_BATCH_EVENTS)
        bare_again = _bare_rate(conf, topic, N_EVENTS)

    rate = run.rate
    worst = max((w / s for w, s in zip(run.issue_writes, run.sizes, strict=True) if s),
                default=0.0)
    flushes = len(run.sizes)
    return [
        {"benchmark": "consumer_throughput", "metric": "bare consume+decode events/s",
         "value": bare, "target": "baseline", "ok": True},
        {"benchmark": "consumer_throughput", "metric": "consumer events/s",
         "value": rate, "target": "-", "ok": True},
        {"benchmark": "consumer_throughput", "metric": "consumer / bare loop",
         "value": rate / bare if bare else 0.0, "target": ">= 0.3",
         "ok": bool(bare) and rate / bare >= 0.3},
        {"benchmark": "consumer_throughput",
         "metric": f"issue writes per flush / distinct issues (max of {flushes} flushes)",
         "value": worst, "target": "<= 1", "ok": 0 < worst <= 1},
        {"benchmark": "consumer_throughput", "metric": "events per issue write",
         "value": N_EVENTS / max(1, sum(run.issue_writes)), "target": "info", "ok": True},
        {"benchmark": "consumer_throughput",
         "metric": "drain: last event counted -> all written (s)",
         "value": run.drain, "target": f"<= {settings.flush_interval:g} window + a flush",
         "ok": True},
        {"benchmark": "consumer_throughput", "metric": "consumer events/s including that drain",
         "value": run.overall, "target": "info", "ok": True},
        {"benchmark": "consumer_throughput", "metric": "occurrences in Firestore / produced",
         "value": stored / N_EVENTS, "target": "== 1", "ok": stored == N_EVENTS},
        {"benchmark": "consumer_throughput",
         "metric": "bare events/s, producer batches of 1 record / of ~1000 (mock)",
         "value": bare_small / bare_again if bare_again else 0.0, "target": "info", "ok": True},
    ]


if __name__ == "__main__":
    import sys

    from bench._table import format_rows

    print(format_rows(run(alerts="--alerts" in sys.argv[1:])))
