"""The background sender of one settings object: queue -> aggregate -> batch -> HTTP.

Callers only :meth:`Sender.submit` a snapshot (never a wait: a full queue coalesces by
storm key, and only a new key beyond its bound is a counted drop). On the
:class:`~afissue_logging._worker.Worker` thread the sender aggregates snapshots into a
window, which closes after ``flush_interval`` seconds or ``batch_size`` distinct events;
its events go out as batches through the :class:`~afissue_logging._exchange.Exchange`,
and what does not go out waits in the :class:`~afissue_logging._outbox.Outbox` (retry,
then spool). Drops are reported to the API in the ``dropped`` field of the next request.
:meth:`Sender.flush` says whether everything since the previous flush was delivered.
After ``fork()`` the child gets fresh state and its own thread; at interpreter exit the
sender drains for ``exit_timeout`` seconds and spools the rest.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import Any

from afissue_logging._batch import Batch
from afissue_logging._builder import EventBuilder
from afissue_logging._counters import Counters
from afissue_logging._exchange import Exchange
from afissue_logging._outbox import Outbox
from afissue_logging._reported import claim
from afissue_logging._retry import Backoff, RetryPolicy
from afissue_logging._snapshot import Snapshot, snapshot_manual
from afissue_logging._transport import HttpTransport, Transport
from afissue_logging._warnings import DeliveryWarnings
from afissue_logging._worker import Worker
from afissue_logging.aggregate import Aggregator
from afissue_logging.settings import ClientSettings
from afissue_logging.wire import EventDict

__all__ = ["Sender"]

# While offline, windows only go to disk: aggregate 10x longer and larger.
_OFFLINE_WINDOW_FACTOR = 10
_OFFLINE_WINDOW_EVENTS = 2_000


class Sender:
    """Delivers the events of one settings object, from one thread per process.

    *transport* is used as given, in this process and in forked children (make it
    fork-safe); without one, each process opens its own :class:`HttpTransport`.
    *on_start* runs on the caller's thread whenever a process starts its sender thread.
    """

    def __init__(
        self,
        settings: ClientSettings,
        transport: Transport | None = None,
        on_start: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self._given_transport = transport
        self._on_start = on_start
        self._policy = RetryPolicy(settings.backoff_base, settings.backoff_max, settings.max_retries)
        _preload()
        from afissue_logging.spool import Spool

        self._spool: Spool | None = (
            Spool(settings.spool_dir or ".", settings.service, settings.spool_max_bytes)
            if settings.spool_enabled and settings.spool_dir
            else None
        )
        self._builder = EventBuilder(settings)
        # Kept across fork(): a child does not repeat what its parent already printed.
        self._warnings = DeliveryWarnings(settings, spooling=self._spool is not None)
        self._reset_process_state()

    def _reset_process_state(self) -> None:
        # A child must not share the parent's keep-alive connection: a new transport.
        transport = self._given_transport or HttpTransport(self.settings.url)
        self._counters = Counters()
        self._backoff = Backoff(self._policy)
        self._exchange = Exchange(self.settings, transport, self._counters, self._backoff)
        self._outbox = Outbox(
            self.settings, self._spool, self._exchange, self._counters, self._backoff,
            warnings=self._warnings,
        )
        self._undelivered_at_flush = 0
        self._agg = Aggregator()
        self._window_deadline: float | None = None
        self._worker = Worker(self, self.settings.queue_size, self._builder.raw_key)

    def after_fork_in_child(self) -> None:
        """Forget the parent's thread, queue, batches and counters."""
        self._reset_process_state()

    @property
    def thread_ident(self) -> int | None:
        """The ident of this process's sender thread, once started."""
        return self._worker.thread_ident

    # -- caller side ---------------------------------------------------------------

    def submit(self, snap: Snapshot) -> bool:
        """Enqueue *snap* without blocking; False (and a counted drop) if the queue is full."""
        worker = self._worker
        if worker.pid != os.getpid():
            self.after_fork_in_child()
            worker = self._worker
        if not worker.started:
            self.start()
        if worker.closed:
            self._counters.drop("shutdown", 1)
            return False
        if worker.put(snap):
            return True
        self._counters.drop("queue_full", 1)
        return False

    def submit_event(self, event: dict[str, Any]) -> bool:
        """Enqueue an already wire-shaped event (``IssueTrackerClient``)."""
        return self.submit(snapshot_manual(event))

    def start(self) -> None:
        """Start the background thread (idempotent; called lazily by :meth:`submit`)."""
        if self._worker.start() and self._on_start is not None:
            self._on_start()

    def start_if_spooled(self) -> None:
        """Start now if the spool holds bodies from an earlier run, so they are replayed."""
        try:
            if self._spool is not None and self._spool.directory.is_dir() and any(
                self._spool.directory.iterdir()
            ):
                self.start()
        except OSError:
            pass

    def count_internal(self) -> None:
        """Count an internal error of a caller-side component."""
        self._counters.internal()

    def flush(self, timeout: float | None = None) -> bool:
        """Deliver or spool everything submitted so far. True if all that was submitted
        since the previous flush was delivered; False if *timeout* ran out first, or some
        of it had to be spooled or was dropped (:meth:`stats` says which)."""
        return self._worker.flush(timeout)

    def shutdown(self, timeout: float | None = None) -> bool:
        """Drain for at most *timeout* seconds (default ``exit_timeout``), spool the rest, stop."""
        if self._worker.forked():
            return True
        wait = self.settings.exit_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        # Requests started from now on are bounded by the exit deadline.
        self._exchange.deadline = deadline
        stopping = self._worker.stop(deadline)
        if stopping is None:
            return True
        # Spooling after the deadline needs a moment more than the drain itself.
        if stopping.wait(wait + 1.0):
            return True
        self._rescue()
        return False

    def _rescue(self) -> None:
        """The sender is stuck (a request hangs) at exit: spool what it holds, from here.

        The in-flight and retry batches may still arrive after all; their event ids are
        the same, so the replayed copy is deduplicated downstream.
        """
        if self._spool is None:
            return
        events: list[EventDict] = []
        for batch in (self._exchange.inflight, self._outbox.retry):
            if batch is not None:
                events.extend(batch.events)
        events.extend(self._agg.snapshot())
        for item in self._worker.take_pending():
            try:
                events.append(self._builder.build(item))
            except Exception:  # noqa: BLE001
                self._counters.drop("internal", item.count)
        if events:
            with contextlib.suppress(Exception):
                self._outbox.spool_events(events)

    def stats(self) -> dict[str, Any]:
        """Counters of this process: queued, sent, aggregated, retried, spooled, dropped..."""
        counts = self._counters.snapshot()
        pending = len(self._worker)
        spool = self._spool
        return {
            "queued": counts.pop("received") + pending,
            "pending": pending,
            **counts,
            "spool_files": spool.pending() if spool else 0,
            "spool_occurrences": spool.pending_occurrences() if spool else 0,
        }

    # -- the worker thread's job (see _worker.Job) -----------------------------------

    def on_start(self) -> None:
        """Take back spool files a dead process had claimed."""
        self._outbox.recover()

    def on_error(self) -> None:
        """Count an internal error of the sender thread."""
        self._counters.internal()

    def idle_timeout(self) -> float:
        """Seconds until the window closes or the outbox has work."""
        now = time.monotonic()
        due = [t for t in (self._window_deadline, self._outbox.due(now)) if t is not None]
        return min(due) - now if due else 5.0

    def on_item(self, snap: Snapshot) -> None:
        """Aggregate *snap* into the window; close the window when it is full."""
        self._aggregate(snap)
        if self._window_full():
            self.on_tick()

    def _aggregate(self, snap: Snapshot) -> None:
        if snap.exc_info is not None and not claim(snap.exc_info[1], id(self)):
            return  # this exception object was reported already (see ``_reported``)
        self._counters.add("received", snap.count)
        try:
            raw = self._builder.raw_key(snap)
            if self._agg.bump_raw(raw, snap.count):
                self._counters.add("aggregated", snap.count)
                return
            event = self._builder.build(snap, raw)
            merged = self._agg.add(event, raw, aggregate=snap.kind != "manual")
            self._counters.add("aggregated", snap.count if merged else snap.count - 1)
        except Exception:  # noqa: BLE001
            self._counters.internal()
            self._counters.drop("internal", snap.count)
            return
        if self._window_deadline is None:
            interval = self.settings.flush_interval
            if self._offline():
                interval *= _OFFLINE_WINDOW_FACTOR
            self._window_deadline = time.monotonic() + interval

    def on_tick(self) -> None:
        """Close the window when due; retry and replay when the backoff allows."""
        now = time.monotonic()
        if len(self._agg) and (
            self._window_full()
            or (self._window_deadline is not None and now >= self._window_deadline)
        ):
            self._close_window()
        if now >= self._backoff.until:
            self._outbox.pump()

    def on_flush(self) -> bool:
        """Send (or spool) the window and the pending retry; report drops if nothing did.

        Whether nothing was spooled or dropped since the previous flush.
        """
        self._close_window(final=True)
        retry = self._outbox.take_retry()
        if retry is not None:
            leftover = retry if self._backoff.active() else self._outbox.deliver(retry)
            if leftover is not None:
                self._outbox.to_spool(leftover)
        if not self._outbox.in_backoff() and self._counters.unreported():
            # A request of drop counts alone; if it fails, the next batch carries them.
            self._outbox.deliver(Batch([], time.time()))
        undelivered = self._counters.undelivered()
        delivered = undelivered == self._undelivered_at_flush
        self._undelivered_at_flush = undelivered
        return delivered

    def on_stop(self, deadline: float) -> None:
        """Flush if there is time left, else spool; then release the transport."""
        self._exchange.deadline = deadline
        try:
            if time.monotonic() < deadline:
                self.on_flush()
                return
            events = self._agg.drain()
            if events:
                self._outbox.spool_events(events)
            retry = self._outbox.take_retry()
            if retry is not None:
                self._outbox.to_spool(retry)
        finally:
            self._exchange.transport.close()

    def _offline(self) -> bool:
        """Deliveries are failing: windows only go to disk, so they may grow larger."""
        return self._backoff.failures > 0 or self._outbox.in_backoff()

    def _window_full(self) -> bool:
        limit = self.settings.batch_size
        if self._offline():
            limit = max(limit, _OFFLINE_WINDOW_EVENTS)
        return len(self._agg) >= limit

    def _close_window(self, *, final: bool = False) -> None:
        events = self._agg.drain()
        self._window_deadline = None
        if not events:
            return
        created = time.time()
        size = max(self.settings.batch_size, 1)
        for start in range(0, len(events), size):
            if self._outbox.in_backoff():
                self._outbox.to_spool(Batch(events[start:], created))
                return
            leftover = self._outbox.deliver(Batch(events[start : start + size], created))
            if leftover is not None:
                if final:
                    self._outbox.to_spool(leftover)
                else:
                    self._outbox.schedule_retry(leftover)


def _preload() -> None:
    """Import what the sender thread needs now, on the constructing thread.

    An import running on the sender thread when the process forks leaves the child
    a half-initialised module (the import lock's owner does not exist there), so
    nothing is imported lazily once the sender runs; see :func:`_transport.preload`.
    """
    import email.utils  # noqa: F401 - HTTP-date Retry-After values
    import gzip  # noqa: F401 - large bodies, spooled bodies

    import afissue_logging.spool  # noqa: F401
