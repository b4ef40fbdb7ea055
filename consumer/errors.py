"""The consumer's exception tree.

::

    ConsumerError
    ├── RecoverableError      back off and retry; nothing is committed meanwhile
    │   ├── StoreUnavailable  Firestore did not answer (outage, timeout)
    │   └── DedupUnavailable  Redis did not answer
    ├── FencedError           another consumer checkpointed this partition first
    │                         (reported in ``FlushResult.fenced``, not raised)
    ├── PoisonMessage         this one message can never be processed -> dead-letter topic
    ├── FlushRejected         Firestore refuses these issues' writes: their events go to
    │                         the dead-letter topic, the other issues are written
    └── FatalError            configuration or programming error: stop the consumer
"""

from __future__ import annotations

__all__ = [
    "ConsumerError",
    "DedupUnavailable",
    "FatalError",
    "FencedError",
    "FlushRejected",
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


class FlushRejected(ConsumerError):
    """Firestore (or the write encoder) refused a flush because of some issues' data.

    ``culprits`` maps each such issue id to the reason; nothing of the flush was written.
    """

    def __init__(self, culprits: dict[str, str]) -> None:
        super().__init__(f"Firestore refused the writes of issues {sorted(culprits)[:5]}")
        self.culprits = culprits


class FatalError(ConsumerError):
    """An error that retrying cannot fix (bad configuration, Kafka fatal error)."""
