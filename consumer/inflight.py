"""Partition flushes in flight: written on a small thread pool while consumption goes on.

At most one flush per partition is in flight: a partition's next batch builds on the
checkpoint its current flush writes, so it can only be written after that one landed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from consumer.coalesce import PartitionBatch
from consumer.store import FlushResult

__all__ = ["Flight", "InFlight"]


@dataclasses.dataclass(frozen=True)
class Flight:
    """One partition batch being written, and the write's outcome to come."""

    batch: PartitionBatch
    future: Future[FlushResult]


class InFlight:
    """The flushes under way, one per partition at most."""

    def __init__(self, threads: int = 8) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="afissue-flush")
        self._flights: dict[int, Flight] = {}

    def __contains__(self, partition: int) -> bool:
        return partition in self._flights

    def __bool__(self) -> bool:
        return bool(self._flights)

    def start(self, batch: PartitionBatch, write: Callable[[PartitionBatch], FlushResult]) -> None:
        """Begin writing *batch* (its partition must have no flight)."""
        if batch.partition in self._flights:
            raise RuntimeError(f"partition {batch.partition} already has a flush in flight")
        self._flights[batch.partition] = Flight(batch, self._pool.submit(write, batch))

    def landed(self, partitions: Iterable[int] | None = None, *, block: bool = False) -> list[Flight]:
        """Remove and return the finished flights (of *partitions*; with *block*, all of them)."""
        chosen = [self._flights[p] for p in (self._flights if partitions is None else partitions)
                  if p in self._flights]
        if block:
            wait([flight.future for flight in chosen])
        done = [flight for flight in chosen if flight.future.done()]
        for flight in done:
            del self._flights[flight.batch.partition]
        return done

    def abandon(self, partition: int) -> None:
        """Stop tracking *partition*'s flight (a lost partition: fencing covers its outcome)."""
        self._flights.pop(partition, None)

    def close(self) -> None:
        """Wait for the flushes still running, then release the threads."""
        self._pool.shutdown(wait=True)
