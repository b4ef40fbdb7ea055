"""The consume → dedup → coalesce → flush → commit loop of one consumer.

Per partition, messages are processed in order. At most once per flush window
(``flush_interval``) a dirty partition's batch is written to the store with its
checkpoint, in the background while consumption goes on: the partitions due together
share one atomic batch (several, at Firestore's 500 writes). Once it landed, the Kafka
offsets are committed. During an outage of Redis, Firestore or the
dead-letter topic the consumer pauses its partitions, keeps what it holds in memory and
retries with exponential backoff; nothing is committed meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_INVALID,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from consumer.coalesce import PartitionBatch
from consumer.dedup import Dedup, Verdict, claim_id
from consumer.dlq import DeadLetterQueue, DeadLetterUnavailable
from consumer.errors import (
    DedupUnavailable,
    FatalError,
    FlushRejected,
    PoisonMessage,
    RecoverableError,
    StoreUnavailable,
)
from consumer.inflight import InFlight, group_for_flights
from consumer.metrics import Metrics
from consumer.occurrence import ClockWindow, Occurrence, parse_occurrence
from consumer.settings import MAX_WRITES_PER_BATCH, WRITES_PER_ISSUE, ConsumerSettings
from consumer.store import FirestoreStore, FlushResult, IssueStore

__all__ = ["FETCH_QUEUE_BACKOFF_MS", "Worker", "kafka_config"]

log = logging.getLogger("consumer")

#: How long librdkafka waits to fetch again once its pre-fetch queue is full enough.
FETCH_QUEUE_BACKOFF_MS = 10


def kafka_config(settings: ConsumerSettings) -> dict[str, Any]:
    """librdkafka consumer properties: manual commits, cooperative-sticky rebalancing."""
    return {
        "bootstrap.servers": settings.kafka_bootstrap,
        "group.id": settings.group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
        "session.timeout.ms": settings.session_timeout_ms,
        "heartbeat.interval.ms": max(100, settings.session_timeout_ms // 5),
        "enable.partition.eof": False,
        # Keep the fetch pipeline full: the mock broker answers an empty fetch only
        # after fetch.wait.max.ms, and a small pre-fetch queue stalls on it.
        "fetch.wait.max.ms": 100,
        "queued.min.messages": 100000,
        # Once the pre-fetch queue passes its thresholds librdkafka stops fetching for
        # this long (1 s by default). Catching up on a backlog, the loop drains the
        # queue well within that and then sat idle: random stalls of 0.5-1 s.
        "fetch.queue.backoff.ms": FETCH_QUEUE_BACKOFF_MS,
        **settings.kafka_overrides(),
    }


def _dependency(exc: RecoverableError) -> str:
    if isinstance(exc, DedupUnavailable):
        return "redis"
    if isinstance(exc, StoreUnavailable):
        return "firestore"
    if isinstance(exc, DeadLetterUnavailable):
        return "dead_letter_topic"
    return "unknown"


def _writes(batch: PartitionBatch) -> int:
    """Firestore writes of *batch* at most: per issue and the checkpoint."""
    return WRITES_PER_ISSUE * len(batch.issues) + 1


class Worker:
    """One member of the consumer group. Build it, then :meth:`run` until *stop* is set."""

    def __init__(
        self,
        settings: ConsumerSettings,
        *,
        store: IssueStore | None = None,
        dedup: Dedup | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self._store: IssueStore = store or FirestoreStore(settings)
        self._dedup = dedup or Dedup(settings.redis_url, settings.dedup_ttl, settings.store_timeout)
        self._dlq = DeadLetterQueue(
            settings.kafka_bootstrap, settings.dead_letter_topic, settings.group_id,
            settings.kafka_overrides(),
        )
        self._consumer = Consumer(kafka_config(settings))
        self._clock = clock
        self._clock_window = ClockWindow(settings.max_event_age, settings.max_clock_ahead)
        self._batches: dict[int, PartitionBatch] = {}
        self._backlog: list[Message] = []
        self._reread: set[int] = set()
        self._consumed = self._occurrences = 0
        self._stalled = False
        self._retry_at = 0.0
        self._backoff = settings.backoff_initial
        #: When each partition's last flush started: windows run start to start.
        self._flushed_at: dict[int, float] = {}
        self._stop = threading.Event()
        self._inflight = InFlight()
        #: Per partition: issues whose writes Firestore refused (id -> reason), and the
        #: offset up to which their events are dead-lettered on the way.
        self._quarantine: dict[int, tuple[dict[str, str], int]] = {}

    @property
    def partitions(self) -> list[int]:
        """Partitions assigned to this worker right now."""
        return list(self._batches)

    @property
    def pending(self) -> bool:
        """Whether anything consumed is not yet written to the store."""
        return (bool(self._backlog) or bool(self._inflight)
                or any(b.dirty for b in list(self._batches.values())))

    # -- the loop ---------------------------------------------------------------------

    def run(self, stop: threading.Event | None = None) -> None:
        """Consume until *stop* is set, then flush, commit and leave the group."""
        if stop is not None:
            self._stop = stop
        self._consumer.subscribe(
            [self.settings.kafka_topic],
            on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost,
        )
        try:
            while not self._stop.is_set():
                self.step()
            self._shutdown()
        finally:
            self._close()

    def step(self) -> None:
        """One turn: take messages (or the backlog), process them, account for landed
        flushes and start those that are due."""
        now = self._clock()
        if self._stalled and now < self._retry_at:
            self._backlog.extend(self._consume(min(0.2, self._retry_at - now)))
            return
        messages = self._backlog or self._consume(self._poll_timeout(now))
        self._backlog = []
        try:
            self._process(messages)
            if self._stalled:
                self.flush()
            else:
                self._land()
                self._start_due()
        except RecoverableError as exc:
            self._stall(exc)
            return
        if self._stalled:
            self._recover()

    def _poll_timeout(self, now: float) -> float:
        """Wait for messages until the next window is due or a flight may have landed."""
        waits = [
            self._flushed_at.get(b.partition, 0.0) + self.settings.flush_interval - now
            for b in list(self._batches.values())
            if b.dirty and b.partition not in self._inflight
        ]
        return max(0.0, min([0.02 if self._inflight else 0.2, *waits]))

    def _consume(self, timeout: float) -> list[Message]:
        """What is fetched already, else wait up to *timeout* for the first message only.

        ``consume(n, timeout)`` would wait out the whole timeout for fewer than *n*
        messages, adding that wait to every event's latency at low rates.
        """
        self._reread = set()
        messages = self._consumer.consume(self.settings.poll_batch, timeout=0)
        if not messages and timeout > 0:
            first = self._consumer.poll(timeout)
            if first is not None:
                messages = [first, *self._consumer.consume(self.settings.poll_batch - 1, timeout=0)]
        good = []
        for message in messages:
            error = message.error()
            if error is None:
                good.append(message)
            elif error.fatal():
                raise FatalError(f"Kafka consumer fatal error: {error}")
            elif error.code() != KafkaError._PARTITION_EOF:
                log.warning("Kafka consumer error: %s", error)
        return good

    # -- processing -------------------------------------------------------------------

    def _process(self, messages: Sequence[Message]) -> None:
        """Count *messages*; what is left unprocessed by an outage goes back to the backlog."""
        if not messages:
            return
        parsed = [(message, self._parse(message)) for message in messages]
        claims = [
            (claim_id(item.event["service"], item.event_id),
             f"{m.topic()}:{m.partition()}:{m.offset()}")
            for m, item in parsed if isinstance(item, Occurrence)
        ]
        try:
            verdicts = iter(self._dedup.classify(claims))
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
                    self._backlog = [m for m, _ in parsed[index:]]
                    raise
        finally:
            self.metrics.consumed.inc(self._consumed)
            self.metrics.occurrences.inc(self._occurrences)

    def _parse(self, message: Message) -> Occurrence | PoisonMessage:
        """*message* as an occurrence, or why it is poison: no record stops the consumer."""
        kind, entered_ms = message.timestamp()
        try:
            return parse_occurrence(
                message.value(), entered_ms if kind != TIMESTAMP_NOT_AVAILABLE else None,
                self._clock_window,
            )
        except PoisonMessage as poison:
            return poison
        except Exception as exc:  # a record no rule foresaw: dead-letter it, keep going
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
            self._dead_letter(message, item, batch)
            return
        assert verdict is not None
        if not verdict.counts:
            self.metrics.duplicates.inc()
            batch.advance(offset)
            return
        refused = self._quarantined(batch.partition, offset, item) if self._quarantine else None
        if refused is not None:
            self._dead_letter(message, refused, batch)
            return
        if verdict is Verdict.REDELIVERY:
            self.metrics.redeliveries.inc()
        if item.issue_id not in batch.issues and len(batch.issues) >= self.settings.max_batch_issues:
            self._flush_partition(batch)
            if partition in self._reread:
                return  # fenced by that flush: the partition is read again from its checkpoint
        batch.add(item, offset)
        self._occurrences += item.count

    def _dead_letter(self, message: Message, poison: PoisonMessage, batch: PartitionBatch) -> None:
        offset = message.offset()
        assert offset is not None
        log.warning("dead-lettering %s:%s:%s: %s", message.topic(), message.partition(),
                    offset, poison)
        self._dlq.send(message, poison)
        self.metrics.dead_letters.labels(poison.reason).inc()
        batch.advance(offset)

    # -- flushing ---------------------------------------------------------------------

    def flush(self) -> None:
        """Write every dirty partition now and wait for it (shutdown, outage retries)."""
        self._land(block=True)
        self._start([b for b in list(self._batches.values()) if b.dirty])
        self._land(block=True)

    def _start_due(self) -> None:
        """Start the flush of each dirty partition whose window is over and that has no
        flush in flight. A partition idle for a window is written at once (low latency);
        a hot one at most once per ``flush_interval``, start to start."""
        now = self._clock()
        self._start([
            b for b in list(self._batches.values())
            if b.dirty and b.partition not in self._inflight
            and now - self._flushed_at.get(b.partition, 0.0) >= self.settings.flush_interval
        ])

    def _start(self, batches: list[PartitionBatch]) -> None:
        """Hand *batches* over for writing, grouped into a few atomic flushes."""
        if not batches:
            return
        self._confirm_dead_letters()
        now = self._clock()
        for group in group_for_flights(batches, _writes, MAX_WRITES_PER_BATCH):
            for batch in group:
                self._flushed_at[batch.partition] = now
            self._inflight.start([batch.detach() for batch in group], self._store.flush)

    def _flush_partition(self, batch: PartitionBatch) -> None:
        """Write *batch*'s partition now (after its flight, if any) and wait for it."""
        self._land([batch.partition], block=True)
        if batch.dirty:
            self._start([batch])
            self._land([batch.partition], block=True)

    def _confirm_dead_letters(self) -> None:
        try:
            self._dlq.confirm(self.settings.store_timeout)
        except DeadLetterUnavailable as exc:
            if exc.lost:
                for pending in list(self._batches.values()):
                    if pending.dirty:
                        self._rewind(pending, pending.base_offset)
            raise

    def _land(self, partitions: list[int] | None = None, *, block: bool = False) -> None:
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
            log.warning("partition %s: dead-lettering the events of issues %s up to offset %s",
                        written.partition, sorted(culprits), written.next_offset)
            self._quarantine[written.partition] = (culprits, written.next_offset)
            self._rewind(live, written.base_offset)

    def _quarantined(self, partition: int, offset: int, item: Occurrence) -> PoisonMessage | None:
        """Why *item* is to be dead-lettered: its issue's data was refused by Firestore."""
        culprits, until = self._quarantine.get(partition, (None, 0))
        if culprits is None:
            return None
        if offset >= until:
            del self._quarantine[partition]
            return None
        reason = culprits.get(item.issue_id)
        return None if reason is None else PoisonMessage("firestore_rejected", reason)

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
        offsets = []
        for batch in written:
            if batch.partition not in self._batches:
                continue  # lost meanwhile: its new owner commits (the checkpoint decides)
            assert batch.next_offset is not None
            self._record_lag(batch.topic, batch.partition, batch.next_offset)
            offsets.append(TopicPartition(batch.topic, batch.partition, batch.next_offset))
        if not offsets:
            return
        try:
            self._consumer.commit(offsets=offsets, asynchronous=True)
        except KafkaException as exc:  # best effort: the checkpoints are the truth
            log.info("offset commit of partitions %s failed: %s",
                     [tp.partition for tp in offsets], exc)

    def _record_lag(self, topic: str, partition: int, checkpoint: int) -> None:
        try:
            _, high = self._consumer.get_watermark_offsets(
                TopicPartition(topic, partition), cached=True
            )
        except KafkaException:
            return
        if high >= 0:
            self.metrics.lag.labels(str(partition)).set(max(0, high - checkpoint))

    def _rewind(self, batch: PartitionBatch, offset: int | None) -> None:
        """Forget *batch*'s pending state and read the partition again from *offset*."""
        batch.rebase(offset)
        self._seek(batch.topic, batch.partition,
                   offset if offset is not None else OFFSET_BEGINNING)

    def _seek(self, topic: str, partition: int, offset: int) -> None:
        """Read *partition* again from *offset*; drop what we hold of it past that."""
        self._reread.add(partition)
        self._backlog = [m for m in self._backlog if m.partition() != partition]
        target = TopicPartition(topic, partition, offset)
        try:
            self._consumer.seek(target)
        except KafkaException as exc:
            log.info("seek of partition %s failed (%s); re-assigning it", partition, exc)
            self._consumer.incremental_unassign([TopicPartition(topic, partition)])
            self._consumer.incremental_assign([target])

    # -- outages ----------------------------------------------------------------------

    def _stall(self, exc: RecoverableError) -> None:
        dependency = _dependency(exc)
        self.metrics.outages.labels(dependency).inc()
        if not self._stalled:
            log.warning("%s unavailable, pausing consumption: %s", dependency, exc)
            self._pause(self._consumer.assignment())
            self._stalled = True
            self._backoff = self.settings.backoff_initial
        else:
            self._backoff = min(self._backoff * 2, self.settings.backoff_max)
        self._retry_at = self._clock() + self._backoff

    def _recover(self) -> None:
        log.warning("dependencies available again, resuming consumption")
        self._stalled = False
        try:
            self._consumer.resume(self._consumer.assignment())
        except KafkaException as exc:
            log.info("resume failed: %s", exc)

    def _pause(self, partitions: list[TopicPartition]) -> None:
        if partitions:
            try:
                self._consumer.pause(partitions)
            except KafkaException as exc:
                log.info("pause failed: %s", exc)

    # -- rebalancing ------------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if not partitions:
            consumer.incremental_assign([])
            return
        checkpoints = self._read_checkpoints([tp.partition for tp in partitions])
        if checkpoints is None:  # stopping during an outage: take nothing
            return
        targets = []
        for checkpoint in checkpoints:
            self._flushed_at[checkpoint.partition] = self._clock()  # first window from here
            self._batches[checkpoint.partition] = PartitionBatch(
                self.settings.kafka_topic, checkpoint.partition, checkpoint.next_offset
            )
            offset = checkpoint.next_offset if checkpoint.next_offset is not None else OFFSET_INVALID
            targets.append(TopicPartition(self.settings.kafka_topic, checkpoint.partition, offset))
        log.info("assigned partitions %s (checkpoints %s)", [c.partition for c in checkpoints],
                 [c.next_offset for c in checkpoints])
        consumer.incremental_assign(targets)
        if self._stalled:
            self._pause(targets)

    def _read_checkpoints(self, partitions: list[int]) -> Any:
        delay = self.settings.backoff_initial
        while True:
            try:
                return self._store.read_checkpoints(self.settings.kafka_topic, partitions)
            except StoreUnavailable as exc:
                self.metrics.outages.labels("firestore").inc()
                log.warning("cannot read checkpoints, retrying in %.1fs: %s", delay, exc)
            if self._stop.wait(delay):
                return None
            delay = min(delay * 2, self.settings.backoff_max)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            batch = self._batches.get(tp.partition)
            self._backlog = [m for m in self._backlog if m.partition() != tp.partition]
            try:
                if batch is not None and not self._stalled:
                    self._flush_partition(batch)
                else:
                    self._land([tp.partition], block=True)
            except RecoverableError as exc:
                log.warning("partition %s revoked before its flush (%s); its next owner "
                            "reads it again from the checkpoint", tp.partition, exc)
            self._batches.pop(tp.partition, None)
            self._flushed_at.pop(tp.partition, None)
            self._quarantine.pop(tp.partition, None)
        log.info("revoked partitions %s", [tp.partition for tp in partitions])

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self._batches.pop(tp.partition, None)
            self._flushed_at.pop(tp.partition, None)
            self._inflight.abandon(tp.partition)  # if it lands, a new owner's flush is fenced
            self._quarantine.pop(tp.partition, None)
            self._backlog = [m for m in self._backlog if m.partition() != tp.partition]
        log.warning("lost partitions %s; their pending counts are dropped",
                    [tp.partition for tp in partitions])

    # -- shutdown ---------------------------------------------------------------------

    def _shutdown(self) -> None:
        if self._backlog and not self._stalled:
            with contextlib.suppress(RecoverableError):
                self._process(self._backlog)
        try:
            self.flush()
        except RecoverableError as exc:
            log.warning("final flush failed (%s); the next owner reads from the checkpoint", exc)

    def _close(self) -> None:
        try:
            self._consumer.close()
        finally:
            self._inflight.close()
            self._dlq.close()
            self._dedup.close()
            self._store.close()
