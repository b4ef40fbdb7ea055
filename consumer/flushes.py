"""Flush windows and flights: when each partition's batch is written, and what a landed
write means for the partition.

A dirty partition is written at most once per ``flush_interval``, start to start, in the
background (``consumer.inflight``); partitions due together share one atomic write. When
a write lands, its checkpoints are copied to Kafka; when it fails, its counts go back to
the partition (*restore*) for the next write; when another member checkpointed a
partition first (*fence*), or Firestore refused an issue's data, the partition is read
again from its checkpoint.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from consumer.coalesce import PartitionBatch
from consumer.dlq import DeadLetterUnavailable
from consumer.errors import FlushRejected, RecoverableError
from consumer.inflight import InFlight, group_for_flights
from consumer.metrics import Metrics
from consumer.quarantine import Quarantine
from consumer.settings import MAX_WRITES_PER_BATCH, WRITES_PER_ISSUE, ConsumerSettings
from consumer.store import FlushResult, IssueWriter

__all__ = ["Commits", "Flushes", "Rewind", "max_issues_per_batch"]

log = logging.getLogger("consumer")

#: Drop a partition's pending state and read it again from an offset (``None``: its start).
Rewind = Callable[[PartitionBatch, int | None], None]


class Commits(Protocol):
    """Where landed checkpoints are copied to (the Kafka driver)."""

    def commit(self, topic: str, offsets: Mapping[int, int]) -> None:
        """Copy checkpoints (partition -> next offset) to Kafka, best effort."""
        ...

    def high_watermark(self, topic: str, partition: int) -> int | None:
        """The offset after *partition*'s last message, if known."""
        ...


def max_issues_per_batch(settings: ConsumerSettings, writes_per_issue: int) -> int:
    """Distinct issues a partition's batch may hold so that its flush fits one Firestore
    batch when each issue costs *writes_per_issue* (more when alerts are configured)."""
    return max(1, min(settings.max_batch_issues, (MAX_WRITES_PER_BATCH - 1) // writes_per_issue))


class Flushes:
    """Writes the partition batches of one member; *batches* is its live partition table."""

    def __init__(
        self,
        settings: ConsumerSettings,
        batches: Mapping[int, PartitionBatch],
        *,
        store: IssueWriter,
        commits: Commits,
        quarantine: Quarantine,
        metrics: Metrics,
        rewind: Rewind,
        clock: Callable[[], float] = time.monotonic,
        writes_per_issue: int = WRITES_PER_ISSUE,
    ) -> None:
        """*writes_per_issue*: the most Firestore writes one issue costs in a flush (its
        document, its ring document, and the alerts it may fire)."""
        self.settings = settings
        self.writes_per_issue = writes_per_issue
        self.metrics = metrics
        self._batches = batches
        self._store = store
        self._commits = commits
        self._quarantine = quarantine
        self._rewind = rewind
        self._clock = clock
        self._inflight = InFlight()
        #: When each partition's last flush started: windows run start to start.
        self._flushed_at: dict[int, float] = {}

    @property
    def flying(self) -> bool:
        """Whether some write has not landed yet."""
        return bool(self._inflight)

    def wait(self, now: float) -> float:
        """How long until the next window is due or a flight may have landed."""
        waits = [
            self._flushed_at.get(b.partition, 0.0) + self.settings.flush_interval - now
            for b in list(self._batches.values())
            if b.dirty and b.partition not in self._inflight
        ]
        return max(0.0, min([0.02 if self._inflight else 0.2, *waits]))

    def opened(self, partition: int) -> None:
        """*partition* was assigned: its first window runs from now."""
        self._flushed_at[partition] = self._clock()

    def closed(self, partition: int) -> None:
        """*partition* went away (its flight, if any, landed or was abandoned)."""
        self._flushed_at.pop(partition, None)

    def abandon(self, partition: int) -> None:
        """*partition* was lost: if its flight lands, a new owner's flush is fenced."""
        self._inflight.abandon(partition)
        self.closed(partition)

    def flush(self) -> None:
        """Write every dirty partition now and wait for it (shutdown, outage retries)."""
        self.land(block=True)
        self._start([b for b in list(self._batches.values()) if b.dirty])
        self.land(block=True)

    def flush_due(self) -> None:
        """Account for landed flushes, then start the flush of each dirty partition whose
        window is over and that has no flush in flight. A partition idle for a window is
        written at once (low latency); a hot one at most once per ``flush_interval``,
        start to start."""
        self.land()
        now = self._clock()
        self._start([
            b for b in list(self._batches.values())
            if b.dirty and b.partition not in self._inflight
            and now - self._flushed_at.get(b.partition, 0.0) >= self.settings.flush_interval
        ])

    def flush_partition(self, batch: PartitionBatch) -> None:
        """Write *batch*'s partition now (after its flight, if any) and wait for it."""
        self.land([batch.partition], block=True)
        if batch.dirty:
            self._start([batch])
            self.land([batch.partition], block=True)

    def _start(self, batches: list[PartitionBatch]) -> None:
        """Hand *batches* over for writing, grouped into a few atomic flushes."""
        if not batches:
            return
        self._confirm_dead_letters()
        now = self._clock()
        for group in group_for_flights(batches, self._writes, MAX_WRITES_PER_BATCH):
            for batch in group:
                self._flushed_at[batch.partition] = now
            self._inflight.start([batch.detach() for batch in group], self._store.flush)

    def _writes(self, batch: PartitionBatch) -> int:
        """Firestore writes of *batch* at most: per issue and the checkpoint."""
        return self.writes_per_issue * len(batch.issues) + 1

    def _confirm_dead_letters(self) -> None:
        try:
            self._quarantine.confirm()
        except DeadLetterUnavailable as exc:
            if exc.lost:
                for pending in list(self._batches.values()):
                    if pending.dirty:
                        self._rewind(pending, pending.base_offset)
            raise

    def land(self, partitions: list[int] | None = None, *, block: bool = False) -> None:
        """Account for finished flushes; a failed one's counts go back to their partition."""
        failure: RecoverableError | None = None
        for flight in self._inflight.landed(partitions, block=block):
            try:
                self._after_flush(flight.batches, flight.future.result)
            except FlushRejected as rejected:
                self._quarantine_culprits(flight.batches, rejected)
            except RecoverableError as exc:
                for written in flight.batches:
                    live = self._batches.get(written.partition)
                    if live is not None:
                        live.restore(written)
                failure = failure or exc
        if failure is not None:
            raise failure

    def _quarantine_culprits(self, flushed: list[PartitionBatch], rejected: FlushRejected) -> None:
        """Nothing of *flushed* was written: read the partitions holding a refused issue
        again, dead-lettering that issue's events up to where the flush ended; give the
        others back their counts, to be written with their next flush."""
        for written in flushed:
            live = self._batches.get(written.partition)
            if live is None:
                continue
            culprits = {i: r for i, r in rejected.culprits.items() if i in written.issues}
            if not culprits or written.next_offset is None:
                live.restore(written)
                continue
            self._quarantine.refuse(written.partition, culprits, written.next_offset)
            self._rewind(live, written.base_offset)

    def _after_flush(
        self, flushed: list[PartitionBatch], write: Callable[[], FlushResult]
    ) -> None:
        """Account for one flush of *flushed* (*write* returns its outcome or raises)."""
        result = write()
        fenced = {f.partition: f for f in result.fenced}
        for stale in fenced.values():
            self.metrics.fenced.inc()
            log.warning("%s; dropping its pending counts", stale)
            live = self._batches.get(stale.partition)
            if live is not None:
                self._rewind(live, stale.found)
        written = [b for b in flushed if b.partition not in fenced]
        if not written:
            return
        self.metrics.flush_seconds.observe(result.seconds)
        self.metrics.flushes.inc()
        self.metrics.issue_writes.inc(result.issue_writes)
        self.metrics.writes.inc(result.writes)
        for issue_id in result.created:
            log.info("Created issue %s from Kafka", issue_id)
            self.metrics.created.inc()
        for issue_id in result.regressed:
            log.info("Issue %s regressed: reopened by a new occurrence", issue_id)
            self.metrics.regressed.inc()
        for alert in result.alerts:
            log.info("Alert %s decided", alert)
            self.metrics.alerts.inc()
        offsets: dict[int, int] = {}
        for batch in written:
            if batch.partition not in self._batches:
                continue  # lost meanwhile: its new owner commits (the checkpoint decides)
            assert batch.next_offset is not None
            high = self._commits.high_watermark(batch.topic, batch.partition)
            if high is not None:
                self.metrics.lag.labels(str(batch.partition)).set(max(0, high - batch.next_offset))
            offsets[batch.partition] = batch.next_offset
        self._commits.commit(self.settings.kafka_topic, offsets)

    def close(self) -> None:
        """Wait for the flushes still running, then release the threads."""
        self._inflight.close()
