"""The counting strategy: dedup, coalesce, plan and flush what the driver reads.

Per partition, messages are counted in order into a batch of per-issue deltas. At most
once per flush window (``flush_interval``) a dirty partition's batch is written to the
store with its checkpoint, in the background while counting goes on
(``consumer.flushes``); once it landed, the checkpoints are copied to Kafka. During an
outage of Redis, Firestore or the dead-letter topic the strategy holds its partitions,
keeps what it has in memory and retries with exponential backoff; nothing is committed
meanwhile.

The store's checkpoint decides where a partition stands, so three things move it back:
a *gap* (offsets skipped: read again from the expected position, once), a *fence* (the
checkpoint moved under us: drop what is pending and read from the stored one) and a
failed flush (its counts are *restored* to the partition, to be written with the next).

Kafka is behind the :class:`Driver` port and time behind an injected clock, so all of
this runs in unit tests on fakes (``tests/consumer/test_strategy.py``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Message

from consumer.checkpoint import Checkpoint
from consumer.coalesce import PartitionBatch
from consumer.dedup import EventClaims, Verdict, claim_id
from consumer.dlq import DeadLetterUnavailable
from consumer.errors import (
    DedupUnavailable,
    PoisonMessage,
    RecoverableError,
    StoreUnavailable,
)
from consumer.flushes import Commits, Flushes, max_issues_per_batch
from consumer.metrics import Metrics
from consumer.occurrence import ClockWindow, Occurrence, parse_occurrence
from consumer.quarantine import Quarantine
from consumer.settings import WRITES_PER_ISSUE, ConsumerSettings
from consumer.store import IssueWriter

__all__ = ["CountingStrategy", "Driver"]

log = logging.getLogger("consumer")


class Driver(Commits, Protocol):
    """What the strategy asks of Kafka (``consumer.driver.KafkaDriver``)."""

    def seek(self, topic: str, partition: int, offset: int | None) -> None:
        """Read *partition* again from *offset* (``None``: from its beginning)."""
        ...

    def hold(self) -> None:
        """Pause every partition (and those assigned later) until :meth:`release`."""
        ...

    def release(self) -> None:
        """Resume what :meth:`hold` paused."""
        ...


def _dependency(exc: RecoverableError) -> str:
    if isinstance(exc, DedupUnavailable):
        return "redis"
    if isinstance(exc, StoreUnavailable):
        return "firestore"
    if isinstance(exc, DeadLetterUnavailable):
        return "dead_letter_topic"
    return "unknown"


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False


class CountingStrategy:
    """Turns one member's messages into exact issue counts in the store.

    The loop (``consumer.worker``) asks :meth:`poll_timeout`, reads that long and hands
    the messages to :meth:`submit`; rebalances arrive as :meth:`on_assign`,
    :meth:`on_revoke` and :meth:`on_lost`.
    """

    def __init__(
        self,
        settings: ConsumerSettings,
        driver: Driver,
        *,
        store: IssueWriter,
        claims: EventClaims,
        quarantine: Quarantine,
        metrics: Metrics,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float], bool] | None = None,
        writes_per_issue: int = WRITES_PER_ISSUE,
    ) -> None:
        """*wait(seconds)* sleeps between checkpoint reads during an outage and is true
        once the consumer is stopping (default: a plain sleep, never stopping);
        *writes_per_issue* bounds the issues of one partition's batch (``Flushes``)."""
        self.settings = settings
        self.metrics = metrics
        self._driver = driver
        self._store = store
        self._claims = claims
        self._quarantine = quarantine
        self._clock = clock
        self._wait = wait or _sleep
        self._clock_window = ClockWindow(settings.max_event_age, settings.max_clock_ahead)
        self._batches: dict[int, PartitionBatch] = {}
        #: Messages taken but not yet counted (held during an outage), oldest first.
        self._backlog: list[Message] = []
        #: Partitions sought since the messages being counted were read: the rest of
        #: their messages in hand are stale copies.
        self._reread: set[int] = set()
        self._consumed = self._occurrences = 0
        self._stalled = False
        self._retry_at = 0.0
        self._backoff = settings.backoff_initial
        self._flushes = Flushes(
            settings, self._batches, store=store, commits=driver, quarantine=quarantine,
            metrics=metrics, rewind=self._rewind, clock=clock, writes_per_issue=writes_per_issue,
        )
        self._max_issues = max_issues_per_batch(settings, writes_per_issue)

    @property
    def partitions(self) -> list[int]:
        """Partitions assigned right now."""
        return list(self._batches)

    @property
    def pending(self) -> bool:
        """Whether anything taken is not yet written to the store."""
        return (bool(self._backlog) or self._flushes.flying
                or any(b.dirty for b in list(self._batches.values())))

    # -- the loop's turn --------------------------------------------------------------

    def poll_timeout(self) -> float | None:
        """How long the driver may wait for messages: until the next window is due or a
        flight may have landed; ``None``: read nothing, the backlog comes first."""
        now = self._clock()
        if self._stalled and now < self._retry_at:
            return min(0.2, self._retry_at - now)
        return None if self._backlog else self._flushes.wait(now)

    def submit(self, messages: Sequence[Message]) -> None:
        """Count *messages* (just read, after any backlog), account for landed flushes and
        start those that are due; during an outage hold them until the next retry."""
        self._reread = set()
        if self._stalled and self._clock() < self._retry_at:
            self._backlog.extend(messages)
            return
        messages = [*self._backlog, *messages] if self._backlog else messages
        self._backlog = []
        try:
            self._process(messages)
            if self._stalled:
                self._flushes.flush()
            else:
                self._flushes.flush_due()
        except RecoverableError as exc:
            self._stall(exc)
            return
        if self._stalled:
            self._recover()

    # -- counting ---------------------------------------------------------------------

    def _process(self, messages: Sequence[Message]) -> None:
        """Count *messages*; what is left uncounted by an outage goes back to the backlog."""
        if not messages:
            return
        window = self._clock_window
        parsed: list[tuple[Message, Occurrence | PoisonMessage]] = []
        for message in messages:  # inline: this runs for every record
            kind, entered_ms = message.timestamp()
            try:
                item: Occurrence | PoisonMessage = parse_occurrence(
                    message.value(), entered_ms if kind != TIMESTAMP_NOT_AVAILABLE else None,
                    window,
                )
            except PoisonMessage as poison:
                item = poison
            except Exception as exc:  # noqa: BLE001  (a record no rule foresaw: dead-letter it)
                item = self._unforeseen(message, exc)
            parsed.append((message, item))
        claims = [
            (claim_id(item.event["service"], item.event_id),
             f"{m.topic()}:{m.partition()}:{m.offset()}")
            for m, item in parsed if isinstance(item, Occurrence)
        ]
        try:
            verdicts = iter(self._claims.classify(claims))
        except DedupUnavailable:
            self._backlog = list(messages)
            raise
        self._consumed = self._occurrences = 0
        try:
            for index, (message, item) in enumerate(parsed):
                verdict = next(verdicts) if isinstance(item, Occurrence) else None
                try:
                    self._apply(message, item, verdict)
                except RecoverableError:
                    # Re-claiming these later finds their own positions: counted once.
                    # Those of a partition sought meanwhile are stale: it is read again.
                    self._backlog = [m for m, _ in parsed[index:]
                                     if m.partition() not in self._reread]
                    raise
        finally:
            self.metrics.consumed.inc(self._consumed)
            self.metrics.occurrences.inc(self._occurrences)

    def _unforeseen(self, message: Message, exc: Exception) -> PoisonMessage:
        """Why *message* is poison when parsing it raised what no rule foresaw: no record
        stops the consumer."""
        log.exception("unexpected error parsing %s:%s:%s", message.topic(),
                      message.partition(), message.offset())
        return PoisonMessage("unprocessable", f"{type(exc).__name__}: {exc}")

    def _apply(
        self, message: Message, item: Occurrence | PoisonMessage, verdict: Verdict | None
    ) -> None:
        partition, offset = message.partition(), message.offset()
        batch = self._batches.get(partition) if partition is not None else None
        if batch is None or offset is None or message.topic() != self.settings.kafka_topic:
            return  # revoked while in flight: its new owner reads it again
        if partition in self._reread:
            return  # a stale copy: the partition is being read again from its position
        position = batch.position
        if position is not None and offset < position:
            return  # before the checkpoint or already pending: counted once already
        if position is not None and offset > position and batch.gap_checked != position:
            # Offsets skipped: a message fetched before a rebalance or rewind. Counting it
            # would move the checkpoint past the gap, so read the partition again from
            # the expected position (once: a gap seen again after that is real).
            batch.gap_checked = position
            self._seek(batch.topic, batch.partition, position)
            return
        self._consumed += 1
        if isinstance(item, PoisonMessage):
            self._quarantine.dead_letter(message, item)
            batch.advance(offset)
            return
        assert verdict is not None
        if not verdict.counts:
            self.metrics.duplicates.inc()
            batch.advance(offset)
            return
        refused = (self._quarantine.verdict(batch.partition, offset, item.issue_id)
                   if self._quarantine.refused else None)
        if refused is not None:
            self._quarantine.dead_letter(message, refused)
            batch.advance(offset)
            return
        if verdict is Verdict.REDELIVERY:
            self.metrics.redeliveries.inc()
        if item.issue_id not in batch.issues and len(batch.issues) >= self._max_issues:
            self._flushes.flush_partition(batch)
            if partition in self._reread:
                return  # fenced by that flush: the partition is read again from its checkpoint
        batch.add(item, offset)
        self._occurrences += item.count

    # -- reading again ----------------------------------------------------------------

    def flush(self) -> None:
        """Write every dirty partition now and wait for it."""
        self._flushes.flush()

    def _rewind(self, batch: PartitionBatch, offset: int | None) -> None:
        """Forget *batch*'s pending state and read the partition again from *offset*."""
        batch.rebase(offset)
        self._seek(batch.topic, batch.partition, offset)

    def _seek(self, topic: str, partition: int, offset: int | None) -> None:
        """Read *partition* again from *offset*; drop what we hold of it past that."""
        self._reread.add(partition)
        self._backlog = [m for m in self._backlog if m.partition() != partition]
        self._driver.seek(topic, partition, offset)

    # -- outages ----------------------------------------------------------------------

    def _stall(self, exc: RecoverableError) -> None:
        dependency = _dependency(exc)
        self.metrics.outages.labels(dependency).inc()
        if not self._stalled:
            log.warning("%s unavailable, pausing consumption: %s", dependency, exc)
            self._driver.hold()
            self._stalled = True
            self._backoff = self.settings.backoff_initial
        else:
            self._backoff = min(self._backoff * 2, self.settings.backoff_max)
        self._retry_at = self._clock() + self._backoff

    def _recover(self) -> None:
        log.warning("dependencies available again, resuming consumption")
        self._stalled = False
        self._driver.release()

    # -- rebalancing ------------------------------------------------------------------

    def on_assign(self, partitions: list[int]) -> dict[int, int | None] | None:
        """Start *partitions* from their stored checkpoints (retried through an outage);
        where to read each from, or ``None`` if stopping before they could be read."""
        checkpoints = self._read_checkpoints(partitions)
        if checkpoints is None:
            return None
        for checkpoint in checkpoints:
            self._flushes.opened(checkpoint.partition)
            self._batches[checkpoint.partition] = PartitionBatch(
                self.settings.kafka_topic, checkpoint.partition, checkpoint.next_offset
            )
        log.info("assigned partitions %s (checkpoints %s)", [c.partition for c in checkpoints],
                 [c.next_offset for c in checkpoints])
        return {c.partition: c.next_offset for c in checkpoints}

    def _read_checkpoints(self, partitions: list[int]) -> list[Checkpoint] | None:
        delay = self.settings.backoff_initial
        while True:
            try:
                return self._store.read_checkpoints(self.settings.kafka_topic, partitions)
            except StoreUnavailable as exc:
                self.metrics.outages.labels("firestore").inc()
                log.warning("cannot read checkpoints, retrying in %.1fs: %s", delay, exc)
            if self._wait(delay):
                return None
            delay = min(delay * 2, self.settings.backoff_max)

    def on_revoke(self, partitions: list[int]) -> None:
        """Write what is pending of *partitions* before they go (unless a dependency is
        down: their next owner reads them again from the checkpoint)."""
        for partition in partitions:
            batch = self._batches.get(partition)
            self._backlog = [m for m in self._backlog if m.partition() != partition]
            try:
                if batch is not None and not self._stalled:
                    self._flushes.flush_partition(batch)
                else:
                    self._flushes.land([partition], block=True)
            except RecoverableError as exc:
                log.warning("partition %s revoked before its flush (%s); its next owner "
                            "reads it again from the checkpoint", partition, exc)
            self._batches.pop(partition, None)
            self._flushes.closed(partition)
            self._quarantine.forget(partition)
        log.info("revoked partitions %s", partitions)

    def on_lost(self, partitions: list[int]) -> None:
        """Drop what is pending of *partitions*, taken away already."""
        for partition in partitions:
            self._batches.pop(partition, None)
            self._flushes.abandon(partition)
            self._quarantine.forget(partition)
            self._backlog = [m for m in self._backlog if m.partition() != partition]
        log.warning("lost partitions %s; their pending counts are dropped", partitions)

    # -- shutdown ---------------------------------------------------------------------

    def finish(self) -> None:
        """Count the backlog and write everything, as far as the dependencies allow."""
        if self._backlog and not self._stalled:
            with contextlib.suppress(RecoverableError):
                self._process(self._backlog)
        try:
            self._flushes.flush()
        except RecoverableError as exc:
            log.warning("final flush failed (%s); the next owner reads from the checkpoint", exc)

    def close(self) -> None:
        """Wait for the flushes still running; release the dependencies."""
        self._flushes.close()
        self._quarantine.close()
        self._claims.close()
        self._store.close()
