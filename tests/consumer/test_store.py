"""The Firestore adapter on the real emulator: atomic flush with checkpoint, fencing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from afissue_logging.wire import encode_event
from consumer.coalesce import PartitionBatch
from consumer.occurrence import parse_occurrence
from consumer.settings import ConsumerSettings
from consumer.store import FirestoreStore
from tests.consumer.helpers import make_event


@pytest.fixture
def store(settings: ConsumerSettings) -> Iterator[FirestoreStore]:
    adapter = FirestoreStore(settings)
    yield adapter
    adapter.close()


def _batch(settings: ConsumerSettings, base: int | None, counts: dict[str, int],
           start: int = 0, partition: int = 0) -> PartitionBatch:
    batch = PartitionBatch(settings.kafka_topic, partition, base)
    offset = start
    for issue, count in counts.items():
        batch.add(parse_occurrence(encode_event(make_event(issue, count=count))), offset)
        offset += 1
    return batch


class TestFirestoreStore:
    """FirestoreStore"""

    def test_flush_writes_issues_and_checkpoint(
        self, settings: ConsumerSettings, store: FirestoreStore, db: Any
    ) -> None:
        """One flush creates the issues and the partition's checkpoint together."""
        result = store.flush([_batch(settings, None, {"a": 2, "b": 1})])
        assert sorted(result.created) == ["a", "b"]
        assert (result.issue_writes, result.writes, result.fenced) == (2, 5, [])
        assert db.collection("issues").document("a").get().get("count") == 2
        [checkpoint] = store.read_checkpoints(settings.kafka_topic, [0])
        assert checkpoint.next_offset == 2
        occurrences = list(db.collection("issues").document("a").collection("occurrences").stream())
        assert len(occurrences) == 1

    def test_second_flush_increments(
        self, settings: ConsumerSettings, store: FirestoreStore, db: Any
    ) -> None:
        """A later flush building on the checkpoint increments counts."""
        store.flush([_batch(settings, None, {"a": 2})])
        result = store.flush([_batch(settings, 1, {"a": 5}, start=1)])
        assert result.created == []
        assert db.collection("issues").document("a").get().get("count") == 7

    def test_stale_checkpoint_is_fenced(
        self, settings: ConsumerSettings, store: FirestoreStore, db: Any
    ) -> None:
        """A flush built on an outdated checkpoint (a zombie's) is refused and writes nothing."""
        store.flush([_batch(settings, None, {"a": 2})])
        result = store.flush([_batch(settings, None, {"a": 5})])
        [fenced] = result.fenced
        assert (fenced.partition, fenced.expected, fenced.found) == (0, None, 1)
        assert (result.issue_writes, result.writes) == (0, 0)
        assert db.collection("issues").document("a").get().get("count") == 2

    def test_partitions_flushed_together_fence_alone(
        self, settings: ConsumerSettings, store: FirestoreStore, db: Any
    ) -> None:
        """In one flush of two partitions, a fenced one writes nothing and the other is written."""
        store.flush([_batch(settings, None, {"a": 2}, partition=0)])
        result = store.flush([
            _batch(settings, None, {"a": 5}, partition=0),  # stale: partition 0 is at 1
            _batch(settings, None, {"b": 3}, partition=1),
        ])
        assert [f.partition for f in result.fenced] == [0]
        assert (result.created, result.issue_writes, result.writes) == (["b"], 1, 3)
        counts = {d.id: d.get("count") for d in db.collection("issues").stream()}
        assert counts == {"a": 2, "b": 3}
        assert [c.next_offset for c in store.read_checkpoints(settings.kafka_topic, [0, 1])] == [1, 1]

    def test_one_issue_in_two_partitions_is_one_write(
        self, settings: ConsumerSettings, store: FirestoreStore, db: Any
    ) -> None:
        """An issue keyed into two partitions (odd producer) is written once with both counts."""
        result = store.flush([
            _batch(settings, None, {"a": 2}, partition=0),
            _batch(settings, None, {"a": 5, "b": 1}, partition=1),
        ])
        assert (sorted(result.created), result.issue_writes, result.writes) == (["a", "b"], 2, 6)
        assert db.collection("issues").document("a").get().get("count") == 7
        assert [c.next_offset for c in store.read_checkpoints(settings.kafka_topic, [0, 1])] == [1, 2]

    def test_missing_checkpoints_read_as_none(
        self, settings: ConsumerSettings, store: FirestoreStore
    ) -> None:
        """Partitions never flushed have no checkpoint."""
        assert [c.next_offset for c in store.read_checkpoints(settings.kafka_topic, [0, 1])] == [
            None, None]
