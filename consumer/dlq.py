"""The dead-letter topic: poison messages are parked there, verbatim, with the reason.

A dead letter counts as handled only once the broker acknowledged it; the partition's
checkpoint never moves past a dead letter that is not yet acknowledged, so nothing is
silently dropped. A crash in between may park a message twice (at-least-once); the
``afissue-dlq-position`` header identifies it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from consumer.errors import PoisonMessage, RecoverableError

__all__ = ["DeadLetterQueue", "DeadLetterUnavailable", "dead_letter_headers"]

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


@dataclasses.dataclass
class _Pending:
    errors: list[str]
    sent: int = 0


class DeadLetterQueue:
    """Produces dead letters and waits for their acknowledgement before a checkpoint."""

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
        """Queue *message* for the dead-letter topic (delivery confirmed by :meth:`confirm`)."""
        pending = self._pending

        def delivered(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                pending.errors.append(str(err))

        self._producer.produce(
            self.topic, value=message.value(), key=message.key(),
            headers=dead_letter_headers(message, error, self._group), on_delivery=delivered,
        )
        pending.sent += 1
        self._producer.poll(0)

    def confirm(self, timeout: float) -> None:
        """Wait until every queued dead letter is acknowledged; ``DeadLetterUnavailable`` if not."""
        if self._pending.sent == 0:
            return
        remaining = self._producer.flush(timeout)
        pending = self._pending
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
