"""The Kafka driver: one confluent-kafka ``Consumer`` and the few things asked of it.

It builds and subscribes the consumer, turns librdkafka's rebalance callbacks into calls
on an :class:`Assignments` listener (the counting strategy), fetches messages, and
carries out the strategy's requests: read a partition again from an offset (seek), hold
every partition while a dependency is down (pause), let go again (resume), and copy the
checkpoints to Kafka's committed offsets. What is counted, and when, is not its concern
(``consumer.strategy``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_INVALID,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from consumer.errors import FatalError
from consumer.settings import ConsumerSettings

__all__ = ["FETCH_QUEUE_BACKOFF_MS", "Assignments", "KafkaDriver", "kafka_config"]

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


class Assignments(Protocol):
    """Who is told about rebalances (the counting strategy); partitions of the one topic."""

    def on_assign(self, partitions: list[int]) -> Mapping[int, int | None] | None:
        """Where to start reading each of *partitions* (``None``: the group's committed
        offset, else the earliest); ``None`` instead of a mapping: take none of them."""
        ...

    def on_revoke(self, partitions: list[int]) -> None:
        """*partitions* are about to go to another member: finish with them."""
        ...

    def on_lost(self, partitions: list[int]) -> None:
        """*partitions* were taken away already: drop what is held of them."""
        ...


class KafkaDriver:
    """One member's Kafka consumer: fetch, rebalance, seek, hold, commit."""

    def __init__(self, settings: ConsumerSettings, consumer: Any | None = None) -> None:
        self._topic = settings.kafka_topic
        self._poll_batch = settings.poll_batch
        self._consumer = consumer if consumer is not None else Consumer(kafka_config(settings))
        #: Whether every partition is paused (partitions assigned meanwhile, too).
        self._held = False

    # -- the group --------------------------------------------------------------------

    def subscribe(self, listener: Assignments) -> None:
        """Join the group on the topic; rebalances are reported to *listener*."""

        def on_assign(consumer: Consumer, partitions: list[TopicPartition]) -> None:
            if not partitions:
                consumer.incremental_assign([])
                return
            starts = listener.on_assign([tp.partition for tp in partitions])
            if starts is None:  # stopping during an outage: take nothing
                return
            targets = [
                TopicPartition(self._topic, partition,
                               offset if offset is not None else OFFSET_INVALID)
                for partition, offset in starts.items()
            ]
            consumer.incremental_assign(targets)
            if self._held:
                self._pause(targets)

        def on_revoke(_consumer: Consumer, partitions: list[TopicPartition]) -> None:
            listener.on_revoke([tp.partition for tp in partitions])

        def on_lost(_consumer: Consumer, partitions: list[TopicPartition]) -> None:
            listener.on_lost([tp.partition for tp in partitions])

        self._consumer.subscribe(
            [self._topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost
        )

    # -- reading ----------------------------------------------------------------------

    def consume(self, timeout: float) -> list[Message]:
        """What is fetched already, else wait up to *timeout* for the first message only.

        ``consume(n, timeout)`` would wait out the whole timeout for fewer than *n*
        messages, adding that wait to every event's latency at low rates. Broker errors
        are logged; a fatal one raises ``FatalError``.
        """
        messages = self._consumer.consume(self._poll_batch, timeout=0)
        if not messages and timeout > 0:
            first = self._consumer.poll(timeout)
            if first is not None:
                messages = [first, *self._consumer.consume(self._poll_batch - 1, timeout=0)]
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

    def seek(self, topic: str, partition: int, offset: int | None) -> None:
        """Read *partition* again from *offset* (``None``: from its beginning)."""
        target = TopicPartition(topic, partition, offset if offset is not None else OFFSET_BEGINNING)
        try:
            self._consumer.seek(target)
        except KafkaException as exc:
            log.info("seek of partition %s failed (%s); re-assigning it", partition, exc)
            self._consumer.incremental_unassign([TopicPartition(topic, partition)])
            self._consumer.incremental_assign([target])

    # -- holding ----------------------------------------------------------------------

    def hold(self) -> None:
        """Pause every assigned partition, and those assigned later, until :meth:`release`."""
        self._held = True
        self._pause(self._consumer.assignment())

    def release(self) -> None:
        """Resume the partitions :meth:`hold` paused."""
        self._held = False
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

    # -- committing -------------------------------------------------------------------

    def commit(self, topic: str, offsets: Mapping[int, int]) -> None:
        """Copy the checkpoints *offsets* (partition -> next offset) to Kafka, best effort:
        the checkpoints in the store are the truth, this copy is for lag tooling."""
        if not offsets:
            return
        try:
            self._consumer.commit(
                offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()],
                asynchronous=True,
            )
        except KafkaException as exc:
            log.info("offset commit of partitions %s failed: %s", list(offsets), exc)

    def high_watermark(self, topic: str, partition: int) -> int | None:
        """The offset after *partition*'s last message, as last fetched; ``None``: unknown."""
        try:
            _, high = self._consumer.get_watermark_offsets(
                TopicPartition(topic, partition), cached=True
            )
        except KafkaException:
            return None
        return int(high) if high >= 0 else None

    def close(self) -> None:
        """Leave the group (the listener hears the revocation) and close the consumer."""
        self._consumer.close()
