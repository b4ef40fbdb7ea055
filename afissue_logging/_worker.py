"""One background thread per process draining a bounded queue into a job.

Modelled on ``sentry_sdk.worker.BackgroundWorker``: callers only ``put`` (never
blocking; a full queue coalesces by storm key, and what it refuses is the caller's drop
to count), the thread starts lazily, and
``flush(timeout)`` / ``stop(deadline)`` travel through the queue as markers, so they
take effect after everything put before them. A worker belongs to the process that made
it: after ``fork()`` its thread does not exist in the child, so the owner checks
:meth:`Worker.forked` and builds a new one (:mod:`afissue_logging._registry` does it for
every sender from an ``os.register_at_fork`` hook; the pid check catches forks that
bypass the hook).

The job runs on the worker thread only. Nothing may be imported there: an import in
progress on this thread when the process forks leaves the child a half-initialised
module, so the job's owner imports what it needs before the first ``put``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, Protocol

from afissue_logging._queue import KeyFunction, SnapshotQueue

__all__ = ["Job", "Worker"]

_DRAIN_PER_WAKE = 2_000
_IDLE_WAIT_MAX = 5.0


class Job(Protocol):
    """What the worker thread does. An exception from any method is :meth:`on_error`."""

    def on_start(self) -> None:
        """First thing on the new thread."""

    def on_item(self, item: Any) -> None:
        """One item that was put."""

    def on_tick(self) -> None:
        """After a run of items, and whenever :meth:`idle_timeout` passed."""

    def on_flush(self) -> bool:
        """Deliver (or spool) everything taken so far; whether all of it was delivered."""

    def on_stop(self, deadline: float) -> None:
        """Last call: flush if the monotonic *deadline* allows, else spool."""

    def idle_timeout(self) -> float:
        """Seconds until the next :meth:`on_tick` is due with no items."""

    def on_error(self) -> None:
        """A method of the job raised: count it (the thread goes on)."""


class _Flush:
    __slots__ = ("delivered", "done")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.delivered = False


class _Stop:
    __slots__ = ("deadline", "done")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.done = threading.Event()


class Worker:
    """A bounded queue and the daemon thread that feeds it to *job*."""

    def __init__(
        self,
        job: Job,
        queue_size: int,
        key: KeyFunction | None = None,
        name: str = "afissue-sender",
    ) -> None:
        """*key* is the storm key a full queue coalesces by (see :mod:`._queue`)."""
        self.pid = os.getpid()
        self.job = job
        self.name = name
        self.thread_ident: int | None = None
        self.closed = False
        self._queue = SnapshotQueue(queue_size, key)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        #: Whether the thread was started (it may have stopped since).
        self.started = False
        #: Queue an item without blocking; False if the queue is full. (The queue's own
        #: method: this is the caller's hot path.)
        self.put: Callable[[Any], bool] = self._queue.put_nowait

    def __len__(self) -> int:
        return len(self._queue)

    def forked(self) -> bool:
        """Whether this process is a fork of the one that made the worker."""
        return self.pid != os.getpid()

    def start(self) -> bool:
        """Start the thread; False if it already was, or the worker is closed."""
        with self._lock:
            if self._thread is not None or self.closed:
                return False
            thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread = thread
            self.started = True
            thread.start()
            self.thread_ident = thread.ident
        return True

    def flush(self, timeout: float | None) -> bool:
        """Wait until the job has flushed everything put so far: whether it says all of it
        was delivered. False on timeout, when called from the worker thread itself, or
        after :meth:`stop`."""
        if self.forked() or self._thread is None:
            return True
        if self.closed or threading.get_ident() == self.thread_ident:
            return False
        marker = _Flush()
        self._queue.put_control(marker)
        return marker.done.wait(timeout) and marker.delivered

    def stop(self, deadline: float) -> threading.Event | None:
        """Close the worker and ask the job to stop by *deadline* (monotonic); the event
        is set once it did. None if there is no running thread to stop."""
        with self._lock:
            thread = self._thread
            if self.closed:
                return None
            self.closed = True
        if thread is None or not thread.is_alive():
            return None
        marker = _Stop(deadline)
        self._queue.put_control(marker)
        return marker.done

    def take_pending(self) -> list[Any]:
        """Remove and return the items not yet taken (a rescue when the thread hangs)."""
        items = []
        while (item := self._queue.pop()) is not None:
            if not isinstance(item, _Flush | _Stop):
                items.append(item)
        return items

    def _run(self) -> None:
        self.thread_ident = threading.get_ident()
        job, queue = self.job, self._queue
        self._guard(job.on_start)
        while True:
            item = queue.pop()
            if item is None:
                queue.wait(min(max(job.idle_timeout(), 0.001), _IDLE_WAIT_MAX))
                item = queue.pop()
            drained = 0
            while item is not None:
                if isinstance(item, _Stop):
                    try:
                        job.on_stop(item.deadline)
                    except Exception:  # noqa: BLE001
                        job.on_error()
                    item.done.set()
                    return
                if isinstance(item, _Flush):
                    try:
                        item.delivered = job.on_flush()
                    except Exception:  # noqa: BLE001
                        job.on_error()
                    item.done.set()
                else:
                    try:
                        job.on_item(item)
                    except Exception:  # noqa: BLE001
                        job.on_error()
                drained += 1
                if drained >= _DRAIN_PER_WAKE:
                    break
                item = queue.pop()
            self._guard(job.on_tick)

    def _guard(self, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception:  # noqa: BLE001
            self.job.on_error()
