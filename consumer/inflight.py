"""Flushes in flight: written on a small thread pool while consumption goes on.

One flush carries the batches of one or more partitions. At most one flush per
partition is in flight: a partition's next batch builds on the checkpoint its current
flush writes, so it can only be written after that one landed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from consumer.coalesce import PartitionBatch
from consumer.store import FlushResult

__all__ = ["FLUSH_THREADS", "Flight", "InFlight", "Write", "group_for_flights"]

#: Flushes written at the same time.
FLUSH_THREADS = 8

#: Writes partition batches together, atomically (``FirestoreStore.flush``).
Write = Callable[[list[PartitionBatch]], FlushResult]


def group_for_flights(
    batches: list[PartitionBatch], writes: Callable[[PartitionBatch], int], limit: int,
    threads: int = FLUSH_THREADS,
) -> list[list[PartitionBatch]]:
    """Share *batches* out over flushes that run side by side: up to *threads* of them,
    balanced by *writes*, more only where a flush would exceed *limit* writes.

    Fewer, larger flushes save round trips (one read and one commit each); several in
    parallel keep a slow commit from holding up every partition.
    """
    groups: list[list[PartitionBatch]] = [[] for _ in range(min(len(batches), threads))]
    loads = [0] * len(groups)
    for batch in sorted(batches, key=writes, reverse=True):
        size = writes(batch)
        lightest = min(range(len(groups)), key=loads.__getitem__)
        if groups[lightest] and loads[lightest] + size > limit:
            groups.append([])
            loads.append(0)
            lightest = len(groups) - 1
        groups[lightest].append(batch)
        loads[lightest] += size
    return groups


@dataclasses.dataclass(frozen=True)
class Flight:
    """Partition batches being written together, and the write's outcome to come."""

    batches: list[PartitionBatch]
    future: Future[FlushResult]


class InFlight:
    """The flushes under way, one per partition at most."""

    def __init__(self, threads: int = FLUSH_THREADS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="afissue-flush")
        self._flights: dict[int, Flight] = {}

    def __contains__(self, partition: int) -> bool:
        return partition in self._flights

    def __bool__(self) -> bool:
        return bool(self._flights)

    def start(self, batches: list[PartitionBatch], write: Write) -> None:
        """Begin writing *batches* together (their partitions must have no flight)."""
        busy = [b.partition for b in batches if b.partition in self._flights]
        if busy:
            raise RuntimeError(f"partitions {busy} already have a flush in flight")
        flight = Flight(batches, self._pool.submit(write, batches))
        for batch in batches:
            self._flights[batch.partition] = flight

    def landed(self, partitions: Iterable[int] | None = None, *, block: bool = False) -> list[Flight]:
        """Remove and return the finished flights (of *partitions*; with *block*, all of them)."""
        wanted = list(self._flights) if partitions is None else partitions
        # A flight of several partitions appears once.
        chosen = list({id(f): f for p in wanted if (f := self._flights.get(p)) is not None}.values())
        if block:
            wait([flight.future for flight in chosen])
        done = [flight for flight in chosen if flight.future.done()]
        for flight in done:
            for batch in flight.batches:
                if self._flights.get(batch.partition) is flight:
                    del self._flights[batch.partition]
        return done

    def abandon(self, partition: int) -> None:
        """Stop tracking *partition*'s flight (a lost partition: fencing covers its outcome)."""
        self._flights.pop(partition, None)

    def close(self) -> None:
        """Wait for the flushes still running, then release the threads."""
        self._pool.shutdown(wait=True)
