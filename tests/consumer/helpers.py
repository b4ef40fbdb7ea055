"""Test helpers for the consumer: valid events, a producer, workers on threads, read-back."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from confluent_kafka import Producer

from afissue_logging.wire import encode_event, format_timestamp, new_event_id
from consumer.settings import ConsumerSettings
from consumer.store import IssueWriter
from consumer.worker import Worker

T = TypeVar("T")

# A whole hour a day before the run: occurrence times within the consumer's clock window
# (ClockWindow: 30 days back from when the event entered Kafka), and comparable in a run.
BASE_TIME = float(int(time.time() - 86_400) // 3600 * 3600)


def make_event(
    issue_id: str = "issue-a",
    *,
    event_id: str | None = None,
    count: int = 1,
    at: float = BASE_TIME,
    service: str = "checkout",
    **fields: Any,
) -> dict[str, Any]:
    """A valid event as the ingest service publishes it."""
    event: dict[str, Any] = {
        "event_id": event_id or new_event_id(),
        "issue_id": issue_id,
        "service": service,
        "fingerprint": f"fp-{issue_id}",
        "timestamp": format_timestamp(at),
        "received_at": format_timestamp(at + 0.01),
        "count": count,
        "title": f"ValueError: bad thing in {issue_id}",
        "level": "error",
        "logger": "app.payments",
        "message": "bad thing happened",
        "environment": "prod",
        "release": "1.0.0",
        "exception": {
            "type": "ValueError",
            "value": "bad thing",
            "module": "builtins",
            "frames": [
                {"filename": "lib.py", "module": "lib", "function": "helper", "lineno": 3,
                 "in_app": False},
                {"filename": "app/pay.py", "module": "app.pay", "function": "charge",
                 "lineno": 42, "context_line": "raise ValueError('bad thing')", "in_app": True},
                {"filename": "lib2.py", "module": "lib2", "function": "inner", "lineno": 9,
                 "in_app": False},
            ],
        },
    }
    event.update(fields)
    return event


def produce(bootstrap: str, topic: str, events: Iterable[Mapping[str, Any] | bytes],
            key: bytes | None = None) -> int:
    """Publish *events* keyed by issue id (raw bytes as given) and wait for the acks."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    sent = 0
    for event in events:
        if isinstance(event, bytes):
            producer.produce(topic, value=event, key=key or b"poison")
        else:
            producer.produce(topic, value=encode_event(event), key=str(event["issue_id"]).encode())
        sent += 1
        if sent % 1000 == 0:
            producer.poll(0)
    left = producer.flush(30)
    assert left == 0, f"{left} messages not acknowledged"
    return sent


def consumer_settings(
    bootstrap: str, topic: str, redis_url: str, project: str, emulator_host: str,
    **overrides: Any,
) -> ConsumerSettings:
    """Settings for a test consumer: short timeouts, a group of its own."""
    values: dict[str, Any] = {
        "kafka_bootstrap": bootstrap,
        "kafka_topic": topic,
        "group_id": f"test-group-{uuid.uuid4().hex[:8]}",
        "redis_url": redis_url,
        "firestore_project": project,
        "firestore_emulator_host": emulator_host,
        "flush_interval": 0.5,
        "session_timeout_ms": 6000,
        "backoff_initial": 0.1,
        "backoff_max": 1.0,
        "store_timeout": 5.0,
    }
    values.update(overrides)
    return ConsumerSettings(**values)


class WorkerThread:
    """A :class:`Worker` running on a thread of the test process."""

    def __init__(self, settings: ConsumerSettings, store: IssueWriter | None = None) -> None:
        self.worker = Worker(settings, store=store)
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.worker.run(self.stop_event)
        except BaseException as exc:
            self.error = exc
            raise

    def start(self) -> WorkerThread:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "consumer did not stop"
        assert self.error is None, f"consumer failed: {self.error!r}"

    def metric(self, name: str, **labels: str) -> float:
        return self.worker.metrics.value(name, **labels)

    @property
    def assigned(self) -> list[int]:
        """Partitions this worker owns right now."""
        return sorted(self.worker.partitions)


@contextmanager
def running(
    settings: ConsumerSettings, store: IssueWriter | None = None
) -> Iterator[WorkerThread]:
    """A worker running for the duration of the block (stopped gracefully after it)."""
    thread = WorkerThread(settings, store).start()
    try:
        yield thread
    finally:
        thread.stop()


def wait_for(check: Callable[[], T | None], timeout: float = 60.0, what: str = "condition") -> T:
    """Poll *check* until it returns something truthy; fail naming *what* after *timeout*."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last value {last!r}")


def firestore(settings: ConsumerSettings) -> Any:
    """A Firestore client on the test's project."""
    from issue_store.client import firestore_client

    return firestore_client(settings.firestore_project, settings.firestore_emulator_host)


def issue_counts(client: Any, settings: ConsumerSettings) -> dict[str, int]:
    """``{issue_id: count}`` of every issue document."""
    return {
        snap.id: snap.get("count")
        for snap in client.collection(settings.firestore_collection).stream()
    }


def assert_trends_match_counts(issues: Any) -> int:
    """Assert that each issue (of the collection *issues*) first seen inside the trend windows has hourly and daily
    buckets summing exactly to its count; return how many issues were checked."""
    import datetime as _dt

    from consumer import trends

    oldest_hour, _oldest_day = trends.window_start(_dt.datetime.now(_dt.UTC))
    checked = 0
    for snap in issues.stream():
        issue = snap.to_dict()
        if trends.hour_key(issue["first_seen"]) < oldest_hour:
            continue
        for field in (trends.HOURLY_FIELD, trends.DAILY_FIELD):
            buckets = issue.get(field, {})
            assert sum(buckets.values()) == issue["count"], (snap.id, field, buckets)
        checked += 1
    return checked


def wait_counts(client: Any, settings: ConsumerSettings, expected: Mapping[str, int],
                timeout: float = 90.0) -> dict[str, int]:
    """Wait until the stored counts equal *expected*; return them (or fail with the last)."""
    observed: dict[str, int] = {}

    def check() -> bool:
        nonlocal observed
        observed = issue_counts(client, settings)
        return observed == dict(expected)

    try:
        wait_for(check, timeout, "exact counts")
    except AssertionError:
        diff = {k: (observed.get(k), v) for k, v in expected.items() if observed.get(k) != v}
        raise AssertionError(f"counts differ (observed, expected): {diff}") from None
    return observed


def settings_env(settings: ConsumerSettings) -> dict[str, str]:
    """The environment that makes ``python -m consumer`` use *settings*."""
    import dataclasses

    env = {}
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if value is not None:
            env[field.metadata["env"]] = str(value)
    return env


class ConsumerProcess:
    """``python -m consumer`` in a subprocess (so it can be ``kill -9``-ed)."""

    def __init__(self, settings: ConsumerSettings, log_dir: Any) -> None:
        import os
        import subprocess
        import sys

        self.log_path = log_dir / f"consumer-{uuid.uuid4().hex[:6]}.log"
        env = {**os.environ, **settings_env(settings), "AFISSUE_LOG_LEVEL": "INFO"}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "consumer"], env=env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )

    def log(self) -> str:
        return str(self.log_path.read_text(errors="replace"))

    def wait_assigned(self, timeout: float = 60.0) -> None:
        wait_for(lambda: "assigned partitions" in self.log(), timeout, "partition assignment")

    def kill9(self) -> None:
        import os
        import signal

        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


@contextmanager
def processes(log_dir: Any) -> Iterator[list[ConsumerProcess]]:
    """A list to put ConsumerProcesses in; every one left is killed at the end."""
    started: list[ConsumerProcess] = []
    try:
        yield started
    finally:
        for process in started:
            process.kill9()


class Stream:
    """Produces batches of events (10% of them re-sent) until stopped; remembers the counts."""

    def __init__(self, settings: ConsumerSettings, issues: int, seed: int,
                 pause: float = 0.5) -> None:
        self._settings = settings
        self._rng = random.Random(seed)
        self._issues = issues
        self._pause = pause
        self.produced = 0
        self.expected: dict[str, int] = {}
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            events = [make_event(f"issue-{self._rng.randrange(self._issues)}",
                                 count=self._rng.randint(1, 3)) for _ in range(100)]
            for event in events:
                issue = event["issue_id"]
                self.expected[issue] = self.expected.get(issue, 0) + event["count"]
            self.produced += produce(self._settings.kafka_bootstrap, self._settings.kafka_topic,
                                     events + self._rng.sample(events, 10))
            self.stop.wait(self._pause)

    def start(self) -> Stream:
        self._thread.start()
        return self

    def finish(self) -> dict[str, int]:
        self.stop.set()
        self._thread.join(60)
        return self.expected
