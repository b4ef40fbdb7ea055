"""``afissue dlq list`` and ``afissue dlq replay``: inspect and replay dead letters.

The consumer parks a message it cannot process on ``<topic>.dlq`` verbatim, with
``afissue-dlq-*`` headers saying why and where from. After a fix, ``replay`` produces
each dead letter back to the main topic, once: a consumer group of its own
(``afissue-dlq-replay``) commits what it replayed. Replaying keeps counts exact: a
replayed event keeps its ``event_id``, so if a crash makes ``replay`` send one twice,
the consumer's event-id markers count it once.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

__all__ = ["REPLAY_GROUP", "DeadLetter", "ReplayResult", "read_dead_letters", "replay"]

REPLAY_GROUP = "afissue-dlq-replay"
_HEADER_PREFIX = "afissue-dlq-"


@dataclasses.dataclass(frozen=True)
class DeadLetter:
    """One message of the dead-letter topic."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    reason: str
    detail: str
    source: str
    headers: tuple[tuple[str, bytes], ...]

    def as_row(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "offset": self.offset,
            "reason": self.reason,
            "source": self.source,
            "detail": self.detail,
            "key": (self.key or b"").decode("utf-8", "replace"),
        }


def _to_dead_letter(message: Any) -> DeadLetter:
    headers = tuple((k, v or b"") for k, v in (message.headers() or []))
    named = {k: v.decode("utf-8", "replace") for k, v in headers}
    return DeadLetter(
        partition=message.partition(),
        offset=message.offset(),
        key=message.key(),
        value=message.value(),
        reason=named.get(f"{_HEADER_PREFIX}reason", "unknown"),
        detail=named.get(f"{_HEADER_PREFIX}detail", ""),
        source=named.get(f"{_HEADER_PREFIX}position", ""),
        headers=headers,
    )


def _consume_until(consumer: Consumer, ends: dict[int, int], timeout: float) -> list[Any]:
    """Messages until every partition reached its end offset in *ends*."""
    messages: list[Any] = []
    positions = {p: -1 for p in ends}
    deadline = time.monotonic() + timeout
    while any(positions[p] + 1 < ends[p] for p in ends) and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error():
            raise KafkaException(message.error())
        positions[int(message.partition() or 0)] = int(message.offset() or 0)
        messages.append(message)
    return messages


def _partitions(consumer: Consumer, topic: str) -> list[int]:
    metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
    if metadata is None or metadata.error is not None:
        raise KafkaException(f"dead-letter topic {topic!r} not found")
    return sorted(metadata.partitions)


def read_dead_letters(bootstrap: str, dlq_topic: str, timeout: float = 30.0) -> list[DeadLetter]:
    """Every message of *dlq_topic*, from the beginning to its current end."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"afissue-dlq-list-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = _partitions(consumer, dlq_topic)
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(dlq_topic, p), timeout=10)[1]
            for p in partitions
        }
        consumer.assign([TopicPartition(dlq_topic, p, OFFSET_BEGINNING) for p in partitions])
        return [_to_dead_letter(m) for m in _consume_until(consumer, ends, timeout)]
    finally:
        consumer.close()


@dataclasses.dataclass(frozen=True)
class ReplayResult:
    """What ``replay`` did."""

    replayed: int
    dry_run: bool


def replay(
    bootstrap: str,
    dlq_topic: str,
    target_topic: str,
    *,
    dry_run: bool = False,
    timeout: float = 30.0,
) -> ReplayResult:
    """Produce every not-yet-replayed dead letter back to *target_topic*, then commit."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": REPLAY_GROUP,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        partitions = _partitions(consumer, dlq_topic)
        committed = consumer.committed(
            [TopicPartition(dlq_topic, p) for p in partitions], timeout=10
        )
        starts = {tp.partition: max(tp.offset, 0) for tp in committed}
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(dlq_topic, p), timeout=10)[1]
            for p in partitions
        }
        todo = {p: ends[p] for p in partitions if starts[p] < ends[p]}
        if not todo:
            return ReplayResult(0, dry_run)
        consumer.assign([TopicPartition(dlq_topic, p, starts[p]) for p in todo])
        messages = _consume_until(consumer, todo, timeout)
        if dry_run:
            return ReplayResult(len(messages), dry_run)
        producer = Producer(
            {"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"}
        )
        failures: list[str] = []

        def delivered(err: Any, _msg: Any) -> None:
            if err is not None:
                failures.append(str(err))

        for message in messages:
            letter = _to_dead_letter(message)
            headers: list[tuple[str, str | bytes | None]] = [
                (k, v) for k, v in letter.headers if not k.startswith(_HEADER_PREFIX)
            ]
            headers.append(
                (
                    "afissue-replayed-from",
                    f"{dlq_topic}:{letter.partition}:{letter.offset}".encode(),
                )
            )
            producer.produce(
                target_topic,
                value=letter.value,
                key=letter.key,
                headers=headers,
                on_delivery=delivered,
            )
        remaining = producer.flush(timeout)
        if remaining or failures:
            raise KafkaException(
                f"replay to {target_topic}: {remaining} unacknowledged, errors {failures[:3]}"
            )
        last = {m.partition(): m.offset() for m in messages}
        consumer.commit(
            offsets=[TopicPartition(dlq_topic, p, o + 1) for p, o in last.items()],
            asynchronous=False,
        )
        return ReplayResult(len(messages), dry_run)
    finally:
        consumer.close()
