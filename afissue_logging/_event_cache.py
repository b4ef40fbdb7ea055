"""The parts of built events that their storm key determines, kept across windows.

An aggregation window builds the first occurrence of every distinct error in full;
when the window closes the next one starts empty and, while an error storm goes on,
builds every kind again. The expensive parts of a build — the walked and scrubbed
exception frames, the scrubbed template, the fingerprint — depend only on the key, so
they are kept here (least recently used first out, bounded by entries and by an
estimate of their size) and an occurrence only adds what is its own: event id,
timestamp, message, exception values, context.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Hashable
from typing import Any

from afissue_logging.wire import ExceptionDict

__all__ = ["CachedParts", "EventCache"]

_FRAME_OVERHEAD = 400  # a frame dict and its small values, roughly, in bytes
_ENTRY_OVERHEAD = 600


@dataclasses.dataclass(frozen=True, slots=True)
class CachedParts:
    """What one key's events share; None where an occurrence must compute its own."""

    template: str | None
    exception: ExceptionDict | None
    override: list[str] | None
    fingerprint: str

    def size(self) -> int:
        """An estimate of the bytes this entry keeps alive."""
        total = _ENTRY_OVERHEAD + len(self.template or "") + len(self.fingerprint)
        exc: Any = self.exception
        for entry in [exc, *(exc.get("chain", ()) if exc else ())]:
            if entry is None:
                continue
            for frame in entry["frames"]:
                total += _FRAME_OVERHEAD + len(frame.get("context_line", ""))
        return total


class EventCache:
    """A least-recently-used map of key -> :class:`CachedParts`, size-bounded.

    Used from the sender thread only; no locking.
    """

    def __init__(self, max_entries: int = 4_096, max_bytes: int = 8_000_000) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: collections.OrderedDict[Hashable, tuple[CachedParts, int]] = (
            collections.OrderedDict()
        )

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> CachedParts | None:
        """The parts stored under *key* (now the most recently used), or None."""
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return found[0]

    def put(self, key: Hashable, parts: CachedParts) -> None:
        """Store *parts*, evicting the least recently used entries beyond the bounds."""
        size = parts.size()
        if size > self.max_bytes or self.max_entries <= 0:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        self._entries[key] = (parts, size)
        self.bytes += size
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            _, (_, evicted) = self._entries.popitem(last=False)
            self.bytes -= evicted
