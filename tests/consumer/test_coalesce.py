"""Coalescing of one flush window's occurrences per issue and partition."""

from __future__ import annotations

from afissue_logging.wire import encode_event
from consumer.coalesce import PartitionBatch
from consumer.occurrence import Occurrence, parse_occurrence
from tests.consumer.helpers import BASE_TIME, make_event


def _occ(issue: str, at: float, count: int = 1, **fields: str) -> Occurrence:
    return parse_occurrence(encode_event(make_event(issue, at=at, count=count, **fields)))


class TestPartitionBatch:
    """PartitionBatch"""

    def test_sums_counts_per_issue(self) -> None:
        """Counts of one issue add up into one delta; other issues get their own."""
        batch = PartitionBatch("t", 0, None)
        for offset, (issue, count) in enumerate([("a", 2), ("b", 1), ("a", 5)]):
            batch.add(_occ(issue, BASE_TIME, count), offset)
        assert {k: d.count for k, d in batch.issues.items()} == {"a": 7, "b": 1}
        assert batch.issues["a"].records == 2
        assert batch.next_offset == 3

    def test_min_max_times_and_latest_out_of_order(self) -> None:
        """first/last seen are min/max whatever the order; the latest is the newest in full."""
        batch = PartitionBatch("t", 0, None)
        for offset, at in enumerate([50.0, 10.0, 90.0, 30.0]):
            batch.add(_occ("a", BASE_TIME + at, message=f"m{at}"), offset)
        delta = batch.issues["a"]
        assert delta.first_seen.timestamp() == BASE_TIME + 10
        assert delta.last_seen.timestamp() == BASE_TIME + 90
        assert delta.latest.event["message"] == "m90.0"

    def test_environments_and_releases_collected_once(self) -> None:
        """Environments and releases seen are collected without repeats."""
        batch = PartitionBatch("t", 0, None)
        batch.add(_occ("a", BASE_TIME, environment="prod", release="1"), 0)
        batch.add(_occ("a", BASE_TIME, environment="staging", release="1"), 1)
        assert batch.issues["a"].environments == ["prod", "staging"]
        assert batch.issues["a"].releases == ["1"]

    def test_advance_moves_checkpoint_without_counting(self) -> None:
        """A skipped record moves the next checkpoint but adds no issue."""
        batch = PartitionBatch("t", 0, 10)
        before = batch.dirty
        batch.advance(10)
        assert not before
        assert batch.dirty
        assert batch.next_offset == 11
        assert batch.issues == {}

    def test_rebase_drops_pending_state(self) -> None:
        """rebase() forgets what was pending and builds on the new checkpoint."""
        batch = PartitionBatch("t", 0, None)
        batch.add(_occ("a", BASE_TIME), 4)
        batch.rebase(5)
        assert (batch.base_offset, batch.next_offset, batch.issues, batch.dirty) == (5, None, {}, False)


class TestDetachRestore:
    """A batch handed over for writing, and taken back when the write failed."""

    def test_detach_hands_over_and_continues_from_next_offset(self) -> None:
        """detach() returns the pending state; the batch goes on, empty, from next_offset."""
        batch = PartitionBatch("t", 3, 10)
        batch.add(_occ("a", BASE_TIME), 10)
        batch.add(_occ("b", BASE_TIME), 11)
        written = batch.detach()
        assert (written.partition, written.base_offset, written.next_offset) == (3, 10, 12)
        assert set(written.issues) == {"a", "b"}
        assert (batch.base_offset, batch.next_offset, batch.issues, batch.dirty) == (12, None, {}, False)
        assert batch.position == 12

    def test_restore_equals_never_having_detached(self) -> None:
        """Detach, read more, restore: the same deltas as one batch that read everything."""
        times = [50.0, 10.0, 90.0, 30.0, 90.0, 5.0, 70.0]
        envs = ["prod", "staging", "prod", "dev", "qa", "prod", "dev"]
        occurrences = [
            _occ(issue, BASE_TIME + at, count=1 + i % 3, environment=env, release=f"r{i % 2}",
                 message=f"m{i}")
            for i, (issue, at, env) in enumerate(zip("aabab" "ba", times, envs, strict=True))
        ]
        whole = PartitionBatch("t", 0, 100)
        for offset, occurrence in enumerate(occurrences, start=100):
            whole.add(occurrence, offset)
        for split in range(len(occurrences) + 1):
            batch = PartitionBatch("t", 0, 100)
            for offset, occurrence in enumerate(occurrences[:split], start=100):
                batch.add(occurrence, offset)
            written = batch.detach()
            for offset, occurrence in enumerate(occurrences[split:], start=100 + split):
                batch.add(occurrence, offset)
            batch.restore(written)
            assert (batch.base_offset, batch.next_offset, batch.records) == (
                whole.base_offset, whole.next_offset, whole.records), split
            assert batch.issues == whole.issues, split
