"""What cannot be counted: poison messages, and the events of issues Firestore refused.

Both go to the dead-letter topic with the reason. A poison message is known as it is
read. A refused issue is known only after a flush of it failed: the partition is read
again from its checkpoint, and until the offset that flush reached, the events of the
refused issues are dead-lettered on the way while the other issues are counted again.
"""

from __future__ import annotations

import logging

from confluent_kafka import Message

from consumer.dlq import DeadLetters
from consumer.errors import PoisonMessage
from consumer.metrics import Metrics

__all__ = ["Quarantine"]

log = logging.getLogger("consumer")


class Quarantine:
    """Dead-letters messages and remembers, per partition, the issues Firestore refused."""

    def __init__(self, dead_letters: DeadLetters, metrics: Metrics, timeout: float) -> None:
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._timeout = timeout
        #: Per partition: refused issues (id -> reason), and the offset up to which their
        #: events are dead-lettered. Read it, never change it, from outside: the strategy
        #: tests it per event before calling :meth:`verdict` (an attribute is cheaper).
        self.refused: dict[int, tuple[dict[str, str], int]] = {}

    def dead_letter(self, message: Message, poison: PoisonMessage) -> None:
        """Queue *message* for the dead-letter topic (acknowledged by :meth:`confirm`)."""
        log.warning("dead-lettering %s:%s:%s: %s", message.topic(), message.partition(),
                    message.offset(), poison)
        self._dead_letters.send(message, poison)
        self._metrics.dead_letters.labels(poison.reason).inc()

    def confirm(self) -> None:
        """Wait for every dead letter's acknowledgement; ``DeadLetterUnavailable`` if not
        (with ``lost``: those dead letters are to be read again from the checkpoint)."""
        self._dead_letters.confirm(self._timeout)

    def refuse(self, partition: int, culprits: dict[str, str], until: int) -> None:
        """Dead-letter the events of the issues *culprits* read from *partition* before
        offset *until*."""
        log.warning("partition %s: dead-lettering the events of issues %s up to offset %s",
                    partition, sorted(culprits), until)
        self.refused[partition] = (culprits, until)

    def verdict(self, partition: int, offset: int, issue_id: str) -> PoisonMessage | None:
        """Why the event of *issue_id* at *offset* is to be dead-lettered, if it is."""
        culprits, until = self.refused.get(partition, (None, 0))
        if culprits is None:
            return None
        if offset >= until:
            del self.refused[partition]
            return None
        reason = culprits.get(issue_id)
        return None if reason is None else PoisonMessage("firestore_rejected", reason)

    def forget(self, partition: int) -> None:
        """*partition* is no longer ours: its next owner finds the refused issues again."""
        self.refused.pop(partition, None)

    def close(self) -> None:
        """Release the dead-letter producer."""
        self._dead_letters.close()
