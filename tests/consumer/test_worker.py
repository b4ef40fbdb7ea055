"""The consumer end to end on real Kafka (mock cluster), Redis and the Firestore emulator."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from consumer.checkpoint import checkpoint_id
from consumer.coalesce import PartitionBatch
from consumer.errors import StoreUnavailable
from consumer.settings import MAX_WRITES_PER_BATCH, ConsumerSettings
from consumer.store import FirestoreStore, FlushResult
from tests.consumer.helpers import (
    BASE_TIME,
    issue_counts,
    make_event,
    produce,
    running,
    wait_counts,
    wait_for,
)
from tests.kafka_helpers import KafkaBed


class TestCounting:
    """Occurrences become one document per issue with exact counts."""

    def test_same_issue_becomes_one_document_with_summed_counts(
        self, settings: ConsumerSettings, db: Any
    ) -> None:
        """N events of one issue, some aggregated by the client, make one document counting all."""
        events = [make_event("issue-a", count=1 + i % 3) for i in range(30)]
        produce(settings.kafka_bootstrap, settings.kafka_topic, events)
        with running(settings):
            wait_counts(db, settings, {"issue-a": sum(e["count"] for e in events)})

    def test_two_issues_make_two_documents(self, settings: ConsumerSettings, db: Any) -> None:
        """Events of two issues land in two documents."""
        events = [make_event("issue-a"), make_event("issue-b"), make_event("issue-a")]
        produce(settings.kafka_bootstrap, settings.kafka_topic, events)
        with running(settings):
            wait_counts(db, settings, {"issue-a": 2, "issue-b": 1})

    def test_same_event_id_twice_is_counted_once(
        self, settings: ConsumerSettings, db: Any
    ) -> None:
        """A client retry (same event id, new record) is not counted again."""
        retried = make_event("issue-a", count=4)
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [retried, make_event("issue-a"), retried])
        with running(settings) as worker:
            wait_counts(db, settings, {"issue-a": 5})
            wait_for(lambda: worker.metric("afissue_consumer_duplicates_total") == 1)

    def test_first_and_last_seen_are_min_and_max_out_of_order(
        self, settings: ConsumerSettings, db: Any
    ) -> None:
        """Occurrence times arriving out of order still give min/max first/last seen."""
        times = [BASE_TIME + 50, BASE_TIME + 10, BASE_TIME + 90, BASE_TIME + 30]
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [make_event("issue-a", at=t, message=f"at {t}") for t in times[:2]])
        with running(settings):
            wait_counts(db, settings, {"issue-a": 2})
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [make_event("issue-a", at=t, message=f"at {t}") for t in times[2:]])
        with running(settings):
            wait_counts(db, settings, {"issue-a": 4})
        doc = db.collection(settings.firestore_collection).document("issue-a").get().to_dict()
        assert doc["first_seen"].timestamp() == pytest.approx(min(times))
        assert doc["last_seen"].timestamp() == pytest.approx(max(times))
        assert doc["latest"]["message"] == f"at {max(times)}"

    def test_created_issue_is_logged_once(
        self, settings: ConsumerSettings, db: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        """``Created issue {id} from Kafka`` is logged once per new issue, not per flush."""
        caplog.set_level(logging.INFO, logger="consumer")
        produce(settings.kafka_bootstrap, settings.kafka_topic, [make_event("issue-a")])
        with running(settings):
            wait_counts(db, settings, {"issue-a": 1})
            produce(settings.kafka_bootstrap, settings.kafka_topic, [make_event("issue-a")])
            wait_counts(db, settings, {"issue-a": 2})
        created = [r for r in caplog.records if r.getMessage() == "Created issue issue-a from Kafka"]
        assert len(created) == 1


class TestCheckpoint:
    """The Firestore checkpoint, not the Kafka commit, decides where a partition resumes."""

    def test_checkpoints_follow_the_data(
        self, settings: ConsumerSettings, db: Any, kafka: KafkaBed
    ) -> None:
        """After a flush each partition's checkpoint equals its end offset."""
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [make_event(f"issue-{i}") for i in range(12)])
        with running(settings) as worker:
            wait_counts(db, settings, {f"issue-{i}": 1 for i in range(12)})
            store = FirestoreStore(settings)
            ends = kafka.end_offsets(settings.kafka_topic, 3)
            wait_for(lambda: [c.next_offset or 0 for c in store.read_checkpoints(
                settings.kafka_topic, range(3))] == ends, 30, "checkpoints at the end offsets")
            store.close()
            assert worker.metric("afissue_consumer_issues_created_total") == 12

    def test_resume_from_checkpoint_despite_rewound_kafka_offsets(
        self, settings: ConsumerSettings, db: Any
    ) -> None:
        """A restart resumes from the checkpoint even when Kafka's committed offsets are older."""
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [make_event("issue-a") for _ in range(10)])
        with running(settings):
            wait_counts(db, settings, {"issue-a": 10})
        _rewind_group(settings)
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [make_event("issue-a") for _ in range(5)])
        with running(settings) as worker:
            wait_counts(db, settings, {"issue-a": 15})
            wait_for(lambda: worker.metric("afissue_consumer_flushes_total") >= 1)
        assert worker.metric("afissue_consumer_occurrences_counted_total") == 5


class TestFencing:
    """A consumer whose partition was checkpointed by another member (a zombie) backs off."""

    def test_zombie_flush_writes_nothing(self, settings: ConsumerSettings, db: Any) -> None:
        """When the checkpoint moved under a consumer, its pending counts are dropped, not written."""
        settings = dataclasses.replace(settings, flush_interval=3600.0)
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [make_event("issue-a") for _ in range(5)])
        with running(settings) as worker:
            wait_for(lambda: worker.metric("afissue_consumer_occurrences_counted_total") == 5)
            checkpoints = db.collection(settings.checkpoint_collection)
            for partition in range(3):  # another member flushed these partitions meanwhile
                checkpoints.document(checkpoint_id(
                    settings.group_id, settings.kafka_topic, partition)).set({"next_offset": 99})
        assert worker.metric("afissue_consumer_fenced_flushes_total") == 1
        assert worker.metric("afissue_consumer_flushes_total") == 0
        assert issue_counts(db, settings) == {}


def _rewind_group(settings: ConsumerSettings) -> None:
    """Commit offset 0 for every partition as a member of the consumer's group."""
    rewind = Consumer({
        "bootstrap.servers": settings.kafka_bootstrap, "group.id": settings.group_id,
        "enable.auto.commit": False, "partition.assignment.strategy": "cooperative-sticky",
        "session.timeout.ms": 6000,
    })
    try:
        rewind.subscribe([settings.kafka_topic])
        wait_for(lambda: rewind.poll(0.2) is None and len(rewind.assignment()) == 3, 30,
                 "assignment of the rewinding member")
        rewind.commit(offsets=[TopicPartition(settings.kafka_topic, p, 0) for p in range(3)],
                      asynchronous=False)
    finally:
        rewind.close()


class _RecordingStore(FirestoreStore):
    """The real adapter, remembering each partition batch's issues and each flush's writes."""

    def __init__(self, settings: ConsumerSettings) -> None:
        super().__init__(settings)
        self.sizes: list[int] = []
        self.writes: list[int] = []

    def flush(self, batches: Sequence[PartitionBatch]) -> FlushResult:
        self.sizes.extend(len(batch.issues) for batch in batches)
        result = super().flush(batches)
        self.writes.append(result.writes)
        return result


class TestCoalescing:
    """Hot issues are written once per flush window; batches stay within Firestore's limit."""

    def test_hot_issue_written_about_once_per_window(
        self, settings: ConsumerSettings, db: Any
    ) -> None:
        """Thousands of events of one issue become a few Increment writes, <= one per window."""
        settings = dataclasses.replace(settings, flush_interval=1.0)
        events = [make_event("hot", at=BASE_TIME + i / 1000) for i in range(4000)]
        produce(settings.kafka_bootstrap, settings.kafka_topic, events)
        started = time.monotonic()
        with running(settings) as worker:
            wait_counts(db, settings, {"hot": 4000})
            elapsed = time.monotonic() - started
            writes = worker.metric("afissue_consumer_issue_writes_total")
        assert writes <= elapsed / settings.flush_interval + 1
        assert writes <= worker.metric("afissue_consumer_flushes_total")
        ring = db.collection("issues").document("hot").collection("occurrences").stream()
        assert sum(doc.get("coalesced_count") for doc in ring) == 4000

    @staticmethod
    def _distinct_issues(settings: ConsumerSettings, db: Any, issues: int,
                         max_batch_issues: int) -> _RecordingStore:
        """Consume one event each of *issues* distinct issues through a recording store."""
        settings = dataclasses.replace(
            settings, max_batch_issues=max_batch_issues, flush_interval=5.0
        )
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [make_event(f"issue-{i}") for i in range(issues)])
        store = _RecordingStore(settings)
        with running(settings, store):
            wait_counts(db, settings, {f"issue-{i}": 1 for i in range(issues)})
        return store

    def test_batches_capped_per_partition(self, settings: ConsumerSettings, db: Any) -> None:
        """Many distinct issues are split into flushes of at most max_batch_issues."""
        store = self._distinct_issues(settings, db, 90, max_batch_issues=10)
        assert max(store.sizes) == 10
        assert sum(store.sizes) == 90

    def test_partitions_due_together_share_batches_within_the_limit(
        self, settings: ConsumerSettings, db: Any
    ) -> None:
        """Partitions flushed together are split into atomic batches of <= 500 writes."""
        store = self._distinct_issues(settings, db, 450, max_batch_issues=200)
        assert sum(store.sizes) == 450
        assert max(store.writes) <= MAX_WRITES_PER_BATCH
        assert sum(store.writes) == 2 * 450 + len(store.sizes)  # one checkpoint per batch


class _HeldStore(FirestoreStore):
    """The real adapter, whose first flush waits for :attr:`release` (then fails, if told)."""

    def __init__(self, settings: ConsumerSettings, fail_first: bool = False) -> None:
        super().__init__(settings)
        self.entered = threading.Event()
        self.release = threading.Event()
        self._fail_first = fail_first
        self._held = False

    def flush(self, batches: Sequence[PartitionBatch]) -> FlushResult:
        if not self._held:
            self._held = True
            self.entered.set()
            assert self.release.wait(60)
            if self._fail_first:
                raise StoreUnavailable("injected: Firestore went away mid-flush")
        return super().flush(batches)


class TestBackgroundFlush:
    """Flushes are written in the background; consumption goes on meanwhile."""

    def test_consumption_goes_on_while_a_flush_is_written(
        self, settings: ConsumerSettings, db: Any
    ) -> None:
        """Events read while a flush is held are counted, then written in the next window."""
        store = _HeldStore(settings)
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [make_event("issue-a") for _ in range(5)])
        with running(settings, store) as worker:
            assert store.entered.wait(30)
            produce(settings.kafka_bootstrap, settings.kafka_topic,
                    [make_event("issue-a") for _ in range(7)])
            wait_for(lambda: worker.metric("afissue_consumer_occurrences_counted_total") == 12,
                     30, "the 7 later events counted while the first flush is held")
            assert issue_counts(db, settings) == {}
            store.release.set()
            wait_counts(db, settings, {"issue-a": 12})

    def test_failed_background_flush_is_taken_back_and_written_once(
        self, settings: ConsumerSettings, db: Any
    ) -> None:
        """A flush that fails after more events were read: all are written, each once."""
        store = _HeldStore(settings, fail_first=True)
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [make_event("issue-a", at=BASE_TIME + i) for i in range(5)])
        with running(settings, store) as worker:
            assert store.entered.wait(30)
            produce(settings.kafka_bootstrap, settings.kafka_topic,
                    [make_event("issue-a", at=BASE_TIME - 100 + i) for i in range(7)])
            wait_for(lambda: worker.metric("afissue_consumer_occurrences_counted_total") == 12)
            store.release.set()
            wait_counts(db, settings, {"issue-a": 12})
            assert worker.metric("afissue_consumer_outage_retries_total",
                                 dependency="firestore") >= 1
            # Taken back in memory: not dropped as fenced and read again from Kafka.
            assert worker.metric("afissue_consumer_fenced_flushes_total") == 0
            assert worker.metric("afissue_consumer_redeliveries_total") == 0
        doc = db.collection(settings.firestore_collection).document("issue-a").get()
        assert doc.get("first_seen").timestamp() == BASE_TIME - 100
        assert doc.get("last_seen").timestamp() == BASE_TIME + 4

    def test_idle_partition_is_written_at_once(self, settings: ConsumerSettings, db: Any) -> None:
        """After a quiet window, an event is written without waiting out flush_interval."""
        settings = dataclasses.replace(settings, flush_interval=4.0)
        with running(settings) as worker:
            wait_for(lambda: worker.assigned, 30, "partitions assigned")
            time.sleep(settings.flush_interval + 0.5)  # the first window runs from assignment
            produced = time.monotonic()
            produce(settings.kafka_bootstrap, settings.kafka_topic, [make_event("issue-a")])
            wait_counts(db, settings, {"issue-a": 1}, timeout=15)
            assert time.monotonic() - produced < settings.flush_interval / 2
