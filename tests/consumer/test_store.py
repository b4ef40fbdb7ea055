"""The Firestore adapter on the real emulator: atomic flush with checkpoint, fencing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from afissue_logging.wire import encode_event
from consumer.coalesce import PartitionBatch
from consumer.errors import FencedError
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
           start: int = 0) -> PartitionBatch:
    batch = PartitionBatch(settings.kafka_topic, 0, base)
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
        result = store.flush(_batch(settings, None, {"a": 2, "b": 1}))
        assert sorted(result.created) == ["a", "b"]
        assert result.issue_writes == 2
        assert db.collection("issues").document("a").get().get("count") == 2
        [checkpoint] = store.read_checkpoints(settings.kafka_topic, [0])
        assert checkpoint.next_offset == 2
        occurrences = list(db.collection("issues").document("a").collection("occurrences").stream())
        assert len(occurrences) == 1

    def test_second_flush_increments(
        self, settings: ConsumerSettings, store: FirestoreStore, db: Any
    ) -> None:
        """A later flush building on the checkpoint increments counts."""
        store.flush(_batch(settings, None, {"a": 2}))
        result = store.flush(_batch(settings, 1, {"a": 5}, start=1))
        assert result.created == []
        assert db.collection("issues").document("a").get().get("count") == 7

    def test_stale_checkpoint_is_fenced(
        self, settings: ConsumerSettings, store: FirestoreStore, db: Any
    ) -> None:
        """A flush built on an outdated checkpoint (a zombie's) is refused and writes nothing."""
        store.flush(_batch(settings, None, {"a": 2}))
        with pytest.raises(FencedError) as fenced:
            store.flush(_batch(settings, None, {"a": 5}))
        assert fenced.value.found == 1
        assert db.collection("issues").document("a").get().get("count") == 2

    def test_missing_checkpoints_read_as_none(
        self, settings: ConsumerSettings, store: FirestoreStore
    ) -> None:
        """Partitions never flushed have no checkpoint."""
        assert [c.next_offset for c in store.read_checkpoints(settings.kafka_topic, [0, 1])] == [
            None, None]
