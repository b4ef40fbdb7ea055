"""The consumer's exception tree.

::

    ConsumerError
    ├── RecoverableError      back off and retry; nothing is committed meanwhile
    │   ├── StoreUnavailable  Firestore did not answer (outage, timeout)
    │   └── DedupUnavailable  Redis did not answer
    ├── FencedError           another consumer checkpointed this partition first
    │                         (reported in ``FlushResult.fenced``, not raised)
    ├── PoisonMessage         this one message can never be processed -> dead-letter topic
    └── FatalError            configuration or programming error: stop the consumer
"""

from __future__ import annotations

__all__ = [
    "ConsumerError",
    "DedupUnavailable",
    "FatalError",
    "FencedError",
    "PoisonMessage",
    "RecoverableError",
    "StoreUnavailable",
]


class ConsumerError(Exception):
    """Base of every error raised by the consumer."""


class RecoverableError(ConsumerError):
    """A dependency is unavailable; retrying later will succeed."""


class StoreUnavailable(RecoverableError):
    """Firestore could not be read or written."""


class DedupUnavailable(RecoverableError):
    """Redis could not be reached for the event-id markers."""


class FencedError(ConsumerError):
    """The partition's checkpoint moved under us: our pending state for it is stale."""

    def __init__(self, partition: int, expected: int | None, found: int | None) -> None:
        super().__init__(
            f"partition {partition}: checkpoint is {found}, expected {expected} "
            "(another consumer took over)"
        )
        self.partition = partition
        self.expected = expected
        self.found = found


class PoisonMessage(ConsumerError):
    """A message that cannot be processed; *reason* is a short machine-readable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class FatalError(ConsumerError):
    """An error that retrying cannot fix (bad configuration, Kafka fatal error)."""
