"""The dead-letter topic: poison messages are parked there, verbatim, with the reason.

A dead letter counts as handled only once the broker acknowledged it; the partition's
checkpoint never moves past a dead letter that is not yet acknowledged, so nothing is
silently dropped. A crash in between may park a message twice (at-least-once); the
``afissue-dlq-position`` header identifies it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from consumer.errors import PoisonMessage, RecoverableError

__all__ = [
    "TRUNCATED_BYTES",
    "DeadLetterQueue",
    "DeadLetterUnavailable",
    "DeadLetters",
    "dead_letter_headers",
    "truncated_copy",
]

REASON_HEADER = "afissue-dlq-reason"


class DeadLetterUnavailable(RecoverableError):
    """The dead-letter topic did not acknowledge a message; ``lost``: it never will."""

    def __init__(self, message: str, lost: bool) -> None:
        super().__init__(message)
        self.lost = lost


def dead_letter_headers(
    message: Message, error: PoisonMessage, group: str
) -> list[tuple[str, str | bytes | None]]:
    """Headers naming why and where from; the original headers follow."""
    headers: list[tuple[str, str | bytes | None]] = [
        (REASON_HEADER, error.reason.encode()),
        ("afissue-dlq-detail", error.detail[:1000].encode()),
        ("afissue-dlq-topic", str(message.topic()).encode()),
        ("afissue-dlq-partition", str(message.partition()).encode()),
        ("afissue-dlq-offset", str(message.offset()).encode()),
        ("afissue-dlq-position", f"{message.topic()}:{message.partition()}:{message.offset()}".encode()),
        ("afissue-dlq-group", group.encode()),
    ]
    original = message.headers() or []
    pairs = original.items() if isinstance(original, dict) else original
    return headers + [(str(k), v) for k, v in pairs]


#: A dead letter the broker cannot take whole keeps this much of its value.
TRUNCATED_BYTES = 64 * 1024
TRUNCATED_HEADER = "afissue-dlq-truncated"
_TOO_LARGE = (KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.INVALID_MSG_SIZE)


def truncated_copy(
    value: bytes | None, headers: list[tuple[str, str | bytes | None]]
) -> tuple[bytes | None, list[tuple[str, str | bytes | None]]]:
    """A dead letter's value cut to :data:`TRUNCATED_BYTES`, with our headers only (the
    original ones may be what is too large) and the original size in a header."""
    ours = [(k, v) for k, v in headers if k.startswith("afissue-dlq-")]
    size = len(value) if value is not None else 0
    return (value[:TRUNCATED_BYTES] if value is not None else None,
            [*ours, (TRUNCATED_HEADER, str(size).encode())])


@dataclasses.dataclass
class _Pending:
    errors: list[str]
    sent: int = 0
    #: Dead letters the broker refused as too large, to send again truncated.
    too_large: list[tuple[bytes | None, bytes | None, list[tuple[str, str | bytes | None]]]] = (
        dataclasses.field(default_factory=list))


class DeadLetters(Protocol):
    """Where the consumer parks what it cannot count."""

    def send(self, message: Message, error: PoisonMessage) -> None:
        """Queue *message* with the reason *error*; never raises for the record itself."""
        ...

    def confirm(self, timeout: float) -> None:
        """Wait until every queued dead letter is acknowledged; ``DeadLetterUnavailable`` if not."""
        ...

    def close(self) -> None:
        """Deliver what is queued, as far as possible, and release the producer."""
        ...


class DeadLetterQueue:
    """Produces dead letters and waits for their acknowledgement before a checkpoint:
    :class:`DeadLetters` on the dead-letter topic."""

    def __init__(self, bootstrap: str, topic: str, group: str, extra: dict[str, str]) -> None:
        conf: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            **{k: v for k, v in extra.items() if not k.startswith(("group.", "session."))},
        }
        self._producer = Producer(conf)
        self.topic = topic
        self._group = group
        self._pending = _Pending(errors=[])

    def send(self, message: Message, error: PoisonMessage) -> None:
        """Queue *message* for the dead-letter topic (delivery confirmed by :meth:`confirm`).

        Never raises for the record itself: one too large for the producer or the broker
        is sent as a truncated copy (:func:`truncated_copy`).
        """
        self._produce(message.value(), message.key(), dead_letter_headers(message, error, self._group))

    def _produce(
        self, value: bytes | None, key: bytes | None, headers: list[tuple[str, str | bytes | None]]
    ) -> None:
        pending = self._pending

        def delivered(err: KafkaError | None, _msg: Message) -> None:
            if err is None:
                return
            if err.code() in _TOO_LARGE and not any(k == TRUNCATED_HEADER for k, _ in headers):
                pending.too_large.append((value, key, headers))
            else:
                pending.errors.append(str(err))

        for _attempt in range(100):
            try:
                self._producer.produce(
                    self.topic, value=value, key=key, headers=headers, on_delivery=delivered
                )
                break
            except BufferError:  # the producer's queue is full: let it drain a little
                self._producer.poll(0.1)
            except KafkaException as exc:
                if exc.args[0].code() not in _TOO_LARGE or any(
                        k == TRUNCATED_HEADER for k, _ in headers):
                    raise DeadLetterUnavailable(
                        f"dead-letter topic {self.topic}: {exc}", lost=False) from exc
                value, headers = truncated_copy(value, headers)
                key = key[:1024] if key is not None else None
        else:
            raise DeadLetterUnavailable(f"dead-letter topic {self.topic}: queue full", lost=False)
        pending.sent += 1
        self._producer.poll(0)

    def confirm(self, timeout: float) -> None:
        """Wait until every queued dead letter is acknowledged; ``DeadLetterUnavailable`` if not."""
        if self._pending.sent == 0:
            return
        remaining = self._producer.flush(timeout)
        pending = self._pending
        while pending.too_large and not pending.errors:
            refused, pending.too_large = pending.too_large, []
            for value, key, headers in refused:
                copy, copy_headers = truncated_copy(value, headers)
                self._produce(copy, key[:1024] if key is not None else None, copy_headers)
            remaining = self._producer.flush(timeout)
        if pending.errors:
            # Those dead letters are gone: the caller re-reads them from the checkpoint.
            self._pending = _Pending(errors=[])
            raise DeadLetterUnavailable(
                f"dead-letter topic {self.topic}: delivery failed: {pending.errors[:3]}", lost=True
            )
        if remaining:
            raise DeadLetterUnavailable(
                f"dead-letter topic {self.topic}: {remaining} not yet acknowledged", lost=False
            )
        self._pending = _Pending(errors=[])

    def close(self, timeout: float = 5.0) -> None:
        self._producer.flush(timeout)
