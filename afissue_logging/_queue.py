"""A bounded, lock-free-for-the-caller queue between application threads and the sender.

``queue.Queue`` takes a mutex and notifies a condition on every ``put``; here the
caller's side is a ``deque.append`` (atomic under the GIL) plus a length check, and the
sender is woken through an ``Event`` only when it is actually asleep. Fewer lock
hand-offs also mean the sender thread rarely waits for the GIL behind a busy caller.
"""

from __future__ import annotations

import collections
import threading
from typing import Any

__all__ = ["SnapshotQueue"]


class SnapshotQueue:
    """Many producers, one consumer; ``put_nowait`` never blocks."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = max(maxsize, 1)
        self._items: collections.deque[Any] = collections.deque()
        self._wakeup = threading.Event()
        self._sleeping = False

    def __len__(self) -> int:
        return len(self._items)

    def put_nowait(self, item: Any) -> bool:
        """Append *item* unless the queue is full; False if it was full."""
        if len(self._items) >= self.maxsize:
            return False
        self._items.append(item)
        if self._sleeping:
            self._wakeup.set()
        return True

    def put_control(self, item: Any) -> None:
        """Append a control marker (flush / stop), ignoring the bound."""
        self._items.append(item)
        self._wakeup.set()

    def pop(self) -> Any | None:
        """The oldest item, or None when empty (consumer only)."""
        try:
            return self._items.popleft()
        except IndexError:
            return None

    def wait(self, timeout: float) -> None:
        """Sleep until something is put or *timeout* passes (consumer only)."""
        self._sleeping = True
        try:
            if not self._items:
                self._wakeup.wait(timeout)
        finally:
            self._sleeping = False
            self._wakeup.clear()
