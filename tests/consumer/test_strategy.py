"""The counting strategy on fakes of Kafka, Redis and the dead-letter topic, against both
the in-memory store and the emulator-backed FirestoreStore (one suite, fake and real)."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME, Message

from afissue_logging import wire
from afissue_logging.wire import encode_event
from consumer.checkpoint import Checkpoint, checkpoint_id
from consumer.coalesce import PartitionBatch
from consumer.dedup import Verdict
from consumer.dlq import DeadLetterUnavailable
from consumer.errors import DedupUnavailable, PoisonMessage, StoreUnavailable
from consumer.metrics import Metrics
from consumer.quarantine import Quarantine
from consumer.settings import ConsumerSettings
from consumer.store import FirestoreStore, FlushResult, IssueWriter
from consumer.strategy import CountingStrategy
from issue_store.client import firestore_client
from tests.consumer.fake_store import FakeStore
from tests.consumer.helpers import make_event

TOPIC = "issues"


class FakeDriver:
    """Records what the strategy asks of Kafka."""

    def __init__(self) -> None:
        self.seeks: list[tuple[int, int | None]] = []
        self.commits: list[dict[int, int]] = []
        self.holds = self.releases = 0

    def seek(self, topic: str, partition: int, offset: int | None) -> None:
        self.seeks.append((partition, offset))

    @property
    def held(self) -> bool:
        return self.holds > self.releases

    def hold(self) -> None:
        self.holds += 1

    def release(self) -> None:
        self.releases += 1

    def commit(self, topic: str, offsets: Mapping[int, int]) -> None:
        self.commits.append(dict(offsets))

    def high_watermark(self, topic: str, partition: int) -> int | None:
        return None


class FakeClaims:
    """Event-id claims in a dict, as the Redis script makes them; ``down`` fails them."""

    def __init__(self) -> None:
        self.markers: dict[str, str] = {}
        self.down = False

    def classify(self, claims: Sequence[tuple[str, str]]) -> list[Verdict]:
        if self.down:
            raise DedupUnavailable("injected: Redis is down")
        verdicts = []
        for claim, position in claims:
            previous = self.markers.setdefault(claim, position) if claim in self.markers else None
            self.markers[claim] = previous or position
            verdicts.append(Verdict.NEW if previous is None
                            else Verdict.REDELIVERY if previous == position else Verdict.DUPLICATE)
        return verdicts

    def close(self) -> None:
        pass


class FakeDeadLetters:
    """Dead letters in a list; ``down`` refuses them."""

    def __init__(self) -> None:
        self.sent: list[tuple[Message, PoisonMessage]] = []
        self.down = False

    def send(self, message: Message, error: PoisonMessage) -> None:
        if self.down:
            raise DeadLetterUnavailable("injected: dead-letter topic down", lost=False)
        self.sent.append((message, error))

    def confirm(self, timeout: float) -> None:
        pass

    def close(self) -> None:
        pass


class Scripted:
    """A store that fails the next flushes as told, or holds them until ``gate`` opens."""

    def __init__(self, inner: IssueWriter) -> None:
        self.inner = inner
        self.failures: list[Exception] = []
        self.gate = threading.Event()
        self.gate.set()
        self.calls = 0

    def read_checkpoints(self, topic: str, partitions: Any) -> list[Checkpoint]:
        return self.inner.read_checkpoints(topic, partitions)

    def flush(self, batches: Sequence[PartitionBatch]) -> FlushResult:
        self.calls += 1
        assert self.gate.wait(30), "a held flush was never released"
        if self.failures:
            raise self.failures.pop(0)
        return self.inner.flush(batches)

    def close(self) -> None:
        self.inner.close()


class Backend(Protocol):
    """A store and a way to look at (and tamper with) what it holds."""

    store: IssueWriter

    def counts(self) -> dict[str, int]: ...

    def trend_sums(self) -> dict[str, tuple[int, int]]: ...

    def checkpoint(self, partition: int) -> int | None: ...

    def set_checkpoint(self, partition: int, offset: int) -> None: ...


def _trend_sums(document: Mapping[str, Any]) -> tuple[int, int]:
    """Sums of an issue's hourly and daily trend buckets."""
    return (sum(document.get("trend_hourly", {}).values()),
            sum(document.get("trend_daily", {}).values()))


class FakeBackend:
    def __init__(self, settings: ConsumerSettings) -> None:
        self.fake = FakeStore(settings)
        self.store: IssueWriter = self.fake
        self._settings = settings

    def counts(self) -> dict[str, int]:
        return {issue_id: doc["count"] for issue_id, doc in self.fake.issues.items()}

    def trend_sums(self) -> dict[str, tuple[int, int]]:
        return {issue_id: _trend_sums(doc) for issue_id, doc in self.fake.issues.items()}

    def checkpoint(self, partition: int) -> int | None:
        return self.fake.read_checkpoints(TOPIC, [partition])[0].next_offset

    def set_checkpoint(self, partition: int, offset: int) -> None:
        self.fake.checkpoints[checkpoint_id(self._settings.group_id, TOPIC, partition)] = offset


class FirestoreBackend:
    def __init__(self, settings: ConsumerSettings) -> None:
        self.store: IssueWriter = FirestoreStore(settings)
        self._settings = settings
        self._client = firestore_client(settings.firestore_project, settings.firestore_emulator_host)

    def counts(self) -> dict[str, int]:
        return {snap.id: snap.get("count")
                for snap in self._client.collection(self._settings.firestore_collection).stream()}

    def trend_sums(self) -> dict[str, tuple[int, int]]:
        return {snap.id: _trend_sums(snap.to_dict())
                for snap in self._client.collection(self._settings.firestore_collection).stream()}

    def checkpoint(self, partition: int) -> int | None:
        return self.store.read_checkpoints(TOPIC, [partition])[0].next_offset

    def set_checkpoint(self, partition: int, offset: int) -> None:
        self._client.collection(self._settings.checkpoint_collection).document(
            checkpoint_id(self._settings.group_id, TOPIC, partition)).set({"next_offset": offset})

    def close(self) -> None:
        self._client.close()


@dataclasses.dataclass
class Rig:
    """A strategy on fakes, with a hand-moved clock and per-partition offsets."""

    settings: ConsumerSettings
    backend: Backend
    store: Scripted
    driver: FakeDriver
    claims: FakeClaims
    letters: FakeDeadLetters
    metrics: Metrics
    strategy: CountingStrategy
    now: list[float]
    offsets: dict[int, int] = dataclasses.field(default_factory=dict)

    def message(self, partition: int, offset: int, event: Mapping[str, Any] | bytes) -> Message:
        value = event if isinstance(event, bytes) else encode_event(dict(event))
        return Message(topic=TOPIC, partition=partition, offset=offset, value=value,
                       timestamp=(TIMESTAMP_CREATE_TIME, int(time.time() * 1000)))

    def read(self, partition: int, events: Sequence[Mapping[str, Any] | bytes]) -> list[Message]:
        """*events* as the next messages of *partition*."""
        start = self.offsets.get(partition, 0)
        self.offsets[partition] = start + len(events)
        return [self.message(partition, start + i, e) for i, e in enumerate(events)]

    def submit(self, partition: int, events: Sequence[Mapping[str, Any] | bytes]) -> list[Message]:
        messages = self.read(partition, events)
        self.strategy.submit(messages)
        return messages

    def advance(self, seconds: float) -> None:
        self.now[0] += seconds

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics.value(name, **labels)


@pytest.fixture(params=["fake", "firestore"])
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    """A fresh strategy on the fake store or on FirestoreStore over the emulator."""
    host = None
    if request.param == "firestore":
        host = request.getfixturevalue("firestore_emulator").host_port
    settings = ConsumerSettings(
        kafka_bootstrap="unused:9092", kafka_topic=TOPIC, group_id=f"g-{uuid.uuid4().hex[:8]}",
        firestore_project=f"test-{uuid.uuid4().hex[:12]}", firestore_emulator_host=host,
        flush_interval=5.0, backoff_initial=1.0, backoff_max=4.0, store_timeout=5.0,
    )
    backend: Backend = FakeBackend(settings) if host is None else FirestoreBackend(settings)
    now = [1000.0]
    store, driver, claims, letters, metrics = (
        Scripted(backend.store), FakeDriver(), FakeClaims(), FakeDeadLetters(), Metrics())
    strategy = CountingStrategy(
        settings, driver, store=store, claims=claims,
        quarantine=Quarantine(letters, metrics, settings.store_timeout), metrics=metrics,
        clock=lambda: now[0], wait=lambda _seconds: True,
    )
    yield Rig(settings, backend, store, driver, claims, letters, metrics, strategy, now)
    store.gate.set()
    strategy.close()
    if isinstance(backend, FirestoreBackend):
        backend.close()


class TestCountingStrategy:
    """CountingStrategy"""

    def test_counts_are_exact_across_flushes(self, rig: Rig) -> None:
        """Occurrences summed per issue over two flushes, in count and trend buckets; each
        checkpoint is copied to Kafka."""
        assert rig.strategy.on_assign([0]) == {0: None}
        rig.submit(0, [make_event("issue-a", count=2), make_event("issue-b")])
        rig.strategy.flush()
        rig.submit(0, [make_event("issue-a"), make_event("issue-a", count=3)])
        rig.strategy.flush()
        assert rig.backend.counts() == {"issue-a": 6, "issue-b": 1}
        assert rig.backend.trend_sums() == {"issue-a": (6, 6), "issue-b": (1, 1)}
        assert rig.backend.checkpoint(0) == 4
        assert rig.driver.commits == [{0: 2}, {0: 4}]

    def test_a_retried_event_id_is_counted_once(self, rig: Rig) -> None:
        """A second record with the same event id is skipped as a duplicate."""
        rig.strategy.on_assign([0])
        retried = make_event("issue-a", count=4)
        rig.submit(0, [retried, make_event("issue-a"), retried])
        rig.strategy.flush()
        assert rig.backend.counts() == {"issue-a": 5}
        assert rig.metric("afissue_consumer_duplicates_total") == 1
        assert rig.backend.checkpoint(0) == 3

    def test_a_dirty_partition_is_written_when_its_window_is_over(self, rig: Rig) -> None:
        """Nothing is written within the window; once it is over, the next turn starts the
        write, and what is read after that waits for the next window."""
        rig.strategy.on_assign([0])
        rig.submit(0, [make_event("issue-a")])
        rig.advance(rig.settings.flush_interval - 0.1)
        rig.strategy.submit([])
        assert rig.strategy.poll_timeout() == pytest.approx(0.1)
        assert rig.store.calls == 0
        rig.advance(0.1)
        rig.strategy.submit([])
        rig.submit(0, [make_event("issue-b")])
        rig.strategy.flush()
        assert rig.store.calls == 2
        assert rig.backend.counts() == {"issue-a": 1, "issue-b": 1}

    def test_a_gap_is_read_again_once(self, rig: Rig) -> None:
        """Skipped offsets: the partition is read again from the expected position; the same
        gap seen again is real and counted past."""
        rig.strategy.on_assign([0])
        rig.submit(0, [make_event("issue-a")])
        gap = rig.message(0, 5, make_event("issue-a"))
        rig.strategy.submit([gap])
        assert rig.driver.seeks == [(0, 1)]
        rig.strategy.submit([gap])
        rig.strategy.flush()
        assert rig.backend.counts() == {"issue-a": 2}
        assert rig.backend.checkpoint(0) == 6

    def test_a_fenced_partition_drops_its_counts_and_reads_from_the_stored_checkpoint(
        self, rig: Rig
    ) -> None:
        """Another member checkpointed the partition: nothing of it is written, and it is
        read again from that checkpoint."""
        rig.strategy.on_assign([0])
        rig.submit(0, [make_event("issue-a") for _ in range(3)])
        rig.backend.set_checkpoint(0, 2)
        rig.strategy.flush()
        assert rig.backend.counts() == {}
        assert rig.metric("afissue_consumer_fenced_flushes_total") == 1
        assert rig.driver.seeks == [(0, 2)]
        rig.strategy.submit([rig.message(0, 2, make_event("issue-a"))])
        rig.strategy.flush()
        assert rig.backend.counts() == {"issue-a": 1}
        assert rig.backend.checkpoint(0) == 3

    def test_a_failed_flush_is_taken_back_and_written_once(self, rig: Rig) -> None:
        """A write that fails while more is read: its counts (and trend buckets) go back to
        the partition and are written with the next flush, none twice."""
        rig.strategy.on_assign([0])
        rig.submit(0, [make_event("issue-a") for _ in range(5)])
        rig.store.gate.clear()
        rig.store.failures.append(StoreUnavailable("injected: Firestore went away"))
        rig.advance(rig.settings.flush_interval)
        rig.strategy.submit([])  # the write starts, and is held
        rig.submit(0, [make_event("issue-a") for _ in range(7)])
        rig.store.gate.set()
        with pytest.raises(StoreUnavailable):
            rig.strategy.flush()
        assert rig.backend.counts() == {}
        rig.strategy.flush()
        assert rig.backend.counts() == {"issue-a": 12}
        assert rig.backend.trend_sums() == {"issue-a": (12, 12)}
        assert rig.backend.checkpoint(0) == 12
        assert rig.driver.seeks == []

    def test_an_outage_holds_the_partitions_until_the_retry_succeeds(self, rig: Rig) -> None:
        """Redis down: the partitions are held and what is read is kept; at the retry after
        the backoff it is all counted, written and the partitions released."""
        rig.strategy.on_assign([0])
        rig.claims.down = True
        rig.submit(0, [make_event("issue-a") for _ in range(3)])
        assert rig.driver.holds == 1
        rig.submit(0, [make_event("issue-a") for _ in range(2)])  # before the retry: kept
        assert rig.metric("afissue_consumer_outage_retries_total", dependency="redis") == 1
        rig.claims.down = False
        rig.advance(rig.settings.backoff_initial)
        rig.strategy.submit([])
        assert rig.driver.releases == 1
        assert rig.backend.counts() == {"issue-a": 5}
        assert rig.backend.checkpoint(0) == 5

    def test_a_refused_document_is_dead_lettered_and_the_rest_written(
        self, rig: Rig, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Firestore refuses one issue's data: the partition is read again, that issue's
        events are dead-lettered and the other issues counted exactly."""
        monkeypatch.setattr(wire, "firestore_safe", lambda value, *_: value)
        events = [make_event("issue-a"), make_event("issue-bad", extra={"m": [[1, 2]]}),
                  make_event("issue-b"), make_event("issue-bad", extra={"m": [[3]]})]
        rig.strategy.on_assign([0])
        read = rig.submit(0, events)
        rig.strategy.flush()
        assert rig.backend.counts() == {}
        assert rig.driver.seeks == [(0, None)]
        rig.strategy.submit(read)  # read again from the start
        rig.strategy.flush()
        assert rig.backend.counts() == {"issue-a": 1, "issue-b": 1}
        assert [(m.offset(), e.reason) for m, e in rig.letters.sent] == [
            (1, "firestore_rejected"), (3, "firestore_rejected")]
        assert rig.backend.checkpoint(0) == 4

    def test_a_revoked_partition_is_written_and_resumed_from_its_checkpoint(
        self, rig: Rig
    ) -> None:
        """On revoke its counts are written; assigned again, it starts at the checkpoint
        and what was counted before is not counted again."""
        rig.strategy.on_assign([0, 1])
        first = rig.submit(0, [make_event("issue-a"), make_event("issue-a")])
        rig.strategy.on_revoke([0])
        assert rig.backend.counts() == {"issue-a": 2}
        assert rig.strategy.partitions == [1]
        assert rig.strategy.on_assign([0]) == {0: 2}
        rig.strategy.submit([*first, *rig.read(0, [make_event("issue-a")])])
        rig.strategy.flush()
        assert rig.backend.counts() == {"issue-a": 3}

    def test_messages_of_a_partition_read_again_are_not_kept_through_an_outage(
        self, rig: Rig
    ) -> None:
        """A gap sends a partition back, then an outage stops the batch: its later messages
        are stale and dropped, so the ones read again fill the gap and all are counted."""
        rig.strategy.on_assign([0, 1])
        rig.submit(0, [make_event("issue-a")])
        rig.letters.down = True
        rig.strategy.submit([
            rig.message(0, 5, make_event("issue-a")),  # a gap: read again from 1
            rig.message(1, 0, b"not json"),  # poison, and the dead-letter topic is down
            rig.message(0, 6, make_event("issue-a")),  # stale
        ])
        assert rig.driver.seeks == [(0, 1)]
        assert rig.driver.holds == 1
        rig.letters.down = False
        rig.advance(rig.settings.backoff_initial)
        rig.strategy.submit([rig.message(0, offset, make_event("issue-a")) for offset in range(1, 7)])
        rig.strategy.flush()
        assert rig.backend.counts() == {"issue-a": 7}
        assert rig.backend.checkpoint(0) == 7
