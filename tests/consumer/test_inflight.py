"""Grouping partition batches into flushes, and the flights' bookkeeping."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumer.coalesce import PartitionBatch
from consumer.inflight import InFlight, group_for_flights
from consumer.store import FlushResult


def _batches(sizes: list[int]) -> list[PartitionBatch]:
    return [PartitionBatch("t", partition, None, records=size) for partition, size in enumerate(sizes)]


def _size(batch: PartitionBatch) -> int:
    return batch.records


class TestGroupForFlights:
    """group_for_flights"""

    @given(st.lists(st.integers(1, 499), max_size=60), st.integers(1, 8))
    def test_every_batch_once_within_the_limit(self, sizes: list[int], threads: int) -> None:
        """Each batch is in exactly one group; groups stay <= the limit; no more groups than needed."""
        groups = group_for_flights(_batches(sizes), _size, 500, threads)
        placed = sorted(b.partition for group in groups for b in group)
        assert placed == list(range(len(sizes)))
        assert all(sum(map(_size, group)) <= 500 for group in groups)
        assert all(groups)
        # More than *threads* groups only when the writes could not fit in fewer.
        assert len(groups) <= max(min(len(sizes), threads), -(-sum(sizes) // 500) * 2)

    def test_few_partitions_go_side_by_side(self) -> None:
        """Up to *threads* partitions are written in parallel, one flush each."""
        groups = group_for_flights(_batches([10, 10, 10]), _size, 500, 8)
        assert sorted(len(g) for g in groups) == [1, 1, 1]

    def test_many_partitions_share_flushes(self) -> None:
        """100 small partitions make 8 flushes, not 100 round trips."""
        groups = group_for_flights(_batches([9] * 100), _size, 500, 8)
        assert len(groups) == 8
        assert sorted(len(g) for g in groups) == [12, 12, 12, 12, 13, 13, 13, 13]


class TestInFlight:
    """InFlight"""

    def test_one_flight_per_partition_landed_once(self) -> None:
        """A flight covering two partitions lands once, whichever partition is asked for."""
        inflight = InFlight(threads=2)
        release = threading.Event()
        written: list[list[int]] = []

        def write(batches: list[PartitionBatch]) -> FlushResult:
            assert release.wait(10)
            written.append([b.partition for b in batches])
            return FlushResult([], [], 0, 0)

        inflight.start(_batches([1, 1]), write)
        assert 0 in inflight and 1 in inflight
        assert inflight.landed() == []
        with pytest.raises(RuntimeError, match="already have a flush in flight"):
            inflight.start(_batches([1]), write)
        release.set()
        [flight] = inflight.landed([1], block=True)
        assert [b.partition for b in flight.batches] == [0, 1]
        assert not inflight and inflight.landed(block=True) == []
        assert written == [[0, 1]]
        inflight.close()
