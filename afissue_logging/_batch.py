"""A batch of events on its way to the ingest API, and its request body.

The body is ``{"events": [...]}``, plus ``"dropped": {reason: count}`` when the client
has drops the API has not yet acknowledged. Spooled bodies hold events only: the drop
counts ride on whichever request goes out next.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from afissue_logging.wire import EventDict, encode_event

__all__ = ["Batch", "decode_body", "encode_body"]


@dataclasses.dataclass
class Batch:
    """Events sent (and retried, split, spooled) together."""

    events: list[EventDict]
    #: Wall-clock time the window closed; orders the spool.
    created: float
    attempts: int = 0
    from_spool: bool = False
    #: The last answer says retrying from memory cannot help: spool it now.
    spool_now: bool = False

    @property
    def occurrences(self) -> int:
        """What the events stand for: the sum of their counts."""
        return sum(e.get("count", 1) for e in self.events)

    def part(self, events: list[EventDict], *, spool_now: bool = False) -> Batch:
        """A batch of some of these *events* (after a split), with this batch's history."""
        return Batch(events, self.created, self.attempts, self.from_spool, spool_now)


def encode_body(events: list[EventDict], dropped: Mapping[str, int] | None = None) -> bytes:
    """The request body for *events*, carrying the unacknowledged *dropped* counts."""
    payload: dict[str, Any] = {"events": events}
    if dropped:
        payload["dropped"] = dict(dropped)
    return encode_event(payload)


def decode_body(data: bytes) -> list[EventDict]:
    """The events of a (possibly gzipped) body; ``ValueError`` if it is not a batch."""
    if data[:2] == b"\x1f\x8b":
        import gzip  # loaded by the sender's preload: a lookup, not an import

        data = gzip.decompress(data)
    payload = json.loads(data.decode("utf-8"))
    if isinstance(payload, dict) and isinstance(payload.get("events"), list):
        return payload["events"]  # type: ignore[no-any-return]
    raise ValueError("spooled body is not an events batch")
