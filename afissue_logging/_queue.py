"""A bounded, lock-free-for-the-caller queue between application threads and the sender.

``queue.Queue`` takes a mutex and notifies a condition on every ``put``; here the
caller's side is a ``deque.append`` (atomic under the GIL) plus a length check, and the
sender is woken through an ``Event`` only when it is actually asleep. Fewer lock
hand-offs also mean the sender thread rarely waits for the GIL behind a busy caller.

When the deque is full a snapshot is not dropped but coalesced into the *overflow*:
one entry per storm key (the sender's raw aggregation key, equal key => equal
fingerprint), whose first snapshot is kept as it is and whose ``count`` grows by one per
further occurrence. Memory stays bounded by the number of distinct keys while counts
stay exact; only a new key beyond ``maxsize`` distinct ones is refused (the caller
counts it as a ``queue_full`` drop). While the overflow holds anything, every new
snapshot goes there, and the consumer takes it only once the deque is empty, so
occurrences still reach the sender in the order they were logged (a coalesced entry
stands at the place of its first occurrence).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Hashable
from typing import Any

from afissue_logging._snapshot import Snapshot

__all__ = ["SnapshotQueue"]

KeyFunction = Callable[[Snapshot], Hashable | None]


class SnapshotQueue:
    """Many producers, one consumer; ``put_nowait`` never blocks."""

    def __init__(self, maxsize: int, key: KeyFunction | None = None) -> None:
        self.maxsize = max(maxsize, 1)
        self._key = key
        self._items: collections.deque[Any] = collections.deque()
        self._wakeup = threading.Event()
        self._sleeping = False
        # Producers touch the overflow under the lock; the consumer swaps it out whole.
        self._lock = threading.Lock()
        self._overflow: dict[Hashable, Any] = {}
        self._overflow_occurrences = 0
        self._taken: list[Any] = []  # a swapped-out overflow, newest first
        self._taken_occurrences = 0

    def __len__(self) -> int:
        """Occurrences (and control markers) not yet taken by the consumer."""
        return len(self._items) + self._overflow_occurrences + self._taken_occurrences

    def put_nowait(self, item: Snapshot) -> bool:
        """Append or coalesce *item*; False if it had to be refused (a drop to count)."""
        if self._overflow or len(self._items) >= self.maxsize:
            return self._coalesce(item)
        self._items.append(item)
        if self._sleeping:
            self._wakeup.set()
        return True

    def _coalesce(self, item: Snapshot) -> bool:
        key: Hashable | None = None
        if self._key is not None:
            try:
                key = self._key(item)
                hash(key)
            except Exception:  # noqa: BLE001 - no key: the snapshot takes a slot of its own
                key = None
        with self._lock:
            if not self._overflow and len(self._items) < self.maxsize:
                self._items.append(item)  # the consumer made room meanwhile
            else:
                entry = self._overflow.get(key) if key is not None else None
                if entry is not None:
                    entry.count += item.count
                elif len(self._overflow) >= self.maxsize:
                    return False
                else:
                    self._overflow[key if key is not None else object()] = item
                self._overflow_occurrences += item.count
        if self._sleeping:
            self._wakeup.set()
        return True

    def put_control(self, item: Any) -> None:
        """Append a control marker (flush / stop) after everything put so far, unbounded."""
        with self._lock:
            if self._overflow:
                self._overflow[object()] = item
            else:
                self._items.append(item)
        self._wakeup.set()

    def pop(self) -> Any | None:
        """The oldest item, or None when empty (consumer only)."""
        if self._taken:
            item = self._taken.pop()
            self._taken_occurrences -= getattr(item, "count", 0)
            return item
        try:
            return self._items.popleft()
        except IndexError:
            pass
        if not self._overflow:
            return None
        with self._lock:
            taken = list(self._overflow.values())
            self._overflow = {}
            self._taken_occurrences = self._overflow_occurrences
            self._overflow_occurrences = 0
        taken.reverse()
        self._taken = taken
        return self.pop()

    def wait(self, timeout: float) -> None:
        """Sleep until something is put or *timeout* passes (consumer only)."""
        self._sleeping = True
        try:
            if not self._items and not self._overflow and not self._taken:
                self._wakeup.wait(timeout)
        finally:
            self._sleeping = False
            self._wakeup.clear()
