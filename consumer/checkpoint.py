"""Per-partition offset checkpoints, stored in Firestore next to the data they describe.

``{collection}_checkpoints/{group}:{topic}:{partition}`` holds ``next_offset``: the first
offset whose occurrences are *not* yet in the issue documents. It is written in the same
atomic batch as the counts, so it is the truth about what has been counted; the Kafka
committed offset is only a best-effort copy for lag tooling.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Checkpoint", "checkpoint_id"]


def checkpoint_id(group: str, topic: str, partition: int) -> str:
    """The checkpoint document id of one partition for one consumer group."""
    return f"{group}:{topic}:{partition}"


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A partition's stored checkpoint; ``next_offset`` is ``None`` when none exists yet."""

    partition: int
    next_offset: int | None
