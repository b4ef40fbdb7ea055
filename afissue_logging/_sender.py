"""The process-wide background sender: queue -> aggregate -> batch -> HTTP -> retry -> spool.

Callers only :meth:`Sender.submit` a snapshot (``put_nowait`` on a bounded queue that,
when full, coalesces by storm key; never a wait). One daemon thread per process and settings does
everything else. A window closes after ``flush_interval`` seconds or ``batch_size``
distinct events; its events are POSTed as one batch. A failed batch is retried in memory
with backoff (``Retry-After`` honoured) and then spooled; while a retry is pending, newer
windows go straight to the spool, which is replayed oldest first after a success, and at
the next process start. After ``fork()`` the child gets fresh state and its own thread;
at interpreter exit the sender drains for ``exit_timeout`` seconds and spools the rest.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import functools
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from afissue_logging.spool import Spool, SpoolEntry

from afissue_logging._builder import EventBuilder
from afissue_logging._queue import SnapshotQueue
from afissue_logging._retry import RetryPolicy, parse_retry_after
from afissue_logging._snapshot import Snapshot, snapshot_manual
from afissue_logging._transport import HttpTransport, Transport, TransportError, TransportTimeout
from afissue_logging.aggregate import Aggregator
from afissue_logging.settings import ClientSettings
from afissue_logging.wire import EventDict, encode_event, new_event_id

__all__ = ["DROP_REASONS", "FAILURE_REASONS", "Sender", "get_sender", "reset_senders", "shutdown_all"]

DROP_REASONS = (
    "queue_full",
    "rejected",
    "too_large",
    "auth",
    "spool_full",
    "spool_error",
    "internal",
    "shutdown",
)
# Why an exchange failed (a failed exchange is retried, then spooled): no answer,
# a 408/429/5xx status, a 2xx whose body is not the ingest API's answer (a wrong URL
# reaching some other web server), or an exception inside the client.
FAILURE_REASONS = ("connection", "timeout", "status", "bad_answer", "internal")
_REPLAY_PER_PUMP = 20
_DRAIN_PER_WAKE = 2_000
# While offline, windows only go to disk: aggregate 10x longer and larger.
_OFFLINE_WINDOW_FACTOR = 10
_OFFLINE_WINDOW_EVENTS = 2_000


class _Flush:
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class _Stop:
    __slots__ = ("deadline", "done")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.done = threading.Event()


@dataclasses.dataclass
class _Batch:
    events: list[EventDict]
    created: float
    attempts: int = 0
    from_spool: bool = False

    @property
    def occurrences(self) -> int:
        return sum(e.get("count", 1) for e in self.events)


_ANSWER_STATUSES = frozenset({"accepted", "rejected"})


def _rejected_occurrences(events: list[EventDict], body: bytes) -> int | None:
    """Occurrences the ingest API's 2xx *body* rejects; None if *body* is not its answer.

    The answer is ``{"results": [...]}`` with one ``{"status": "accepted" | "rejected"}``
    per event (or, for one event, ``{"id", "issue_id", "status": "accepted"}``).
    """
    try:
        payload = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict):
        return None
    results = payload.get("results")
    if results is None and len(events) == 1 and "id" in payload:
        results = [payload]
    if not isinstance(results, list) or len(results) != len(events):
        return None
    rejected = 0
    for event, result in zip(events, results, strict=True):
        status = result.get("status") if isinstance(result, dict) else None
        if status not in _ANSWER_STATUSES:
            return None
        if status == "rejected":
            rejected += event.get("count", 1)
    return rejected


class Sender:
    """One background thread delivering the events of one settings object."""

    def __init__(self, settings: ClientSettings, transport: Transport | None = None) -> None:
        self.settings = settings
        self._custom_transport = transport
        self._transport: Transport = transport or HttpTransport(settings.url)
        self._policy = RetryPolicy(settings.backoff_base, settings.backoff_max, settings.max_retries)
        _preload()
        from afissue_logging.spool import Spool

        self._spool: Spool | None = (
            Spool(settings.spool_dir or ".", settings.service, settings.spool_max_bytes)
            if settings.spool_enabled and settings.spool_dir
            else None
        )
        self._builder = EventBuilder(settings)
        self._reset_process_state()

    # -- process state (reset after fork) ------------------------------------------

    def _reset_process_state(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._queue = SnapshotQueue(self.settings.queue_size, self._builder.raw_key)
        self._thread: threading.Thread | None = None
        self.thread_ident: int | None = None
        self._closed = False
        self._counts: dict[str, int] = dict.fromkeys(
            ("received", "sent", "events_sent", "requests", "aggregated", "retried",
             "spooled", "replayed"), 0
        )
        self._dropped: dict[str, int] = dict.fromkeys(DROP_REASONS, 0)
        self._failures_by: dict[str, int] = dict.fromkeys(FAILURE_REASONS, 0)
        self._internal_errors = 0
        self._unreported: dict[str, int] = {}
        self._agg = Aggregator()
        self._window_deadline: float | None = None
        self._retry: _Batch | None = None
        self._inflight: _Batch | None = None
        self._backoff_until = 0.0
        self._failures = 0
        self._replay_wanted = self._spool is not None
        self._deadline: float | None = None

    def _after_fork_in_child(self) -> None:
        if isinstance(self._transport, HttpTransport):
            self._transport._conn = None  # the parent's socket is not ours to use
            self._transport = HttpTransport(self.settings.url)
        self._reset_process_state()

    # -- caller side ---------------------------------------------------------------

    def submit(self, snap: Snapshot) -> bool:
        """Enqueue *snap* without blocking; False (and a counted drop) if the queue refuses it."""
        if self._pid != os.getpid():
            self._after_fork_in_child()
        if self._thread is None:
            self.start()
        if self._closed:
            self._drop("shutdown", 1)
            return False
        if self._queue.put_nowait(snap):
            return True
        self._drop("queue_full", 1)
        return False

    def submit_event(self, event: dict[str, Any]) -> bool:
        """Enqueue an already wire-shaped event (``IssueTrackerClient``)."""
        return self.submit(snapshot_manual(event))

    def start(self) -> None:
        """Start the background thread (idempotent; called lazily by :meth:`submit`)."""
        with self._lock:
            if self._thread is not None or self._closed:
                return
            thread = threading.Thread(target=self._run, name="afissue-sender", daemon=True)
            self._thread = thread
            thread.start()
            self.thread_ident = thread.ident
        _register_multiprocessing_finalizer()

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
        self._count_internal()

    def flush(self, timeout: float | None = None) -> bool:
        """Deliver or spool everything submitted so far; False if *timeout* ran out first."""
        if self._pid != os.getpid() or self._thread is None or self._closed:
            return self._thread is None or self._pid != os.getpid()
        if threading.get_ident() == self.thread_ident:
            return False
        marker = _Flush()
        self._queue.put_control(marker)
        return marker.done.wait(timeout)

    def shutdown(self, timeout: float | None = None) -> bool:
        """Drain for at most *timeout* seconds (default ``exit_timeout``), spool the rest, stop."""
        if self._pid != os.getpid():
            return True
        wait = self.settings.exit_timeout if timeout is None else timeout
        with self._lock:
            thread = self._thread
            if self._closed:
                return True
            self._closed = True
        if thread is None or not thread.is_alive():
            return True
        stop = _Stop(time.monotonic() + wait)
        # Requests started from now on are bounded by the exit deadline.
        self._deadline = stop.deadline
        self._queue.put_control(stop)
        # Spooling after the deadline needs a moment more than the drain itself.
        if stop.done.wait(wait + 1.0):
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
        for batch in (self._inflight, self._retry):
            if batch is not None:
                events.extend(batch.events)
        events.extend(self._agg.snapshot())
        while (item := self._queue.pop()) is not None:
            if isinstance(item, Snapshot):
                try:
                    events.append(self._builder.build(item))
                except Exception:  # noqa: BLE001
                    self._drop("internal", item.count)
        if events:
            with contextlib.suppress(Exception):
                self._to_spool(_Batch(events, time.time()))

    def stats(self) -> dict[str, Any]:
        """Counters of this process: queued, sent, aggregated, retried, spooled, dropped..."""
        with self._lock:
            counts = dict(self._counts)
            dropped = dict(self._dropped)
        pending = len(self._queue)
        return {
            "queued": counts.pop("received") + pending,
            "pending": pending,
            **counts,
            "dropped": dropped,
            "dropped_total": sum(dropped.values()),
            "failures": dict(self._failures_by),
            "spool_files": self._spool.pending() if self._spool else 0,
            "spool_occurrences": self._spool.pending_occurrences() if self._spool else 0,
            "internal_errors": self._internal_errors,
        }

    # -- accounting ----------------------------------------------------------------

    def _count(self, name: str, amount: int = 1) -> None:
        # Only the sender thread writes these counters: no lock needed.
        self._counts[name] += amount

    def _drop(self, reason: str, occurrences: int) -> None:
        if occurrences <= 0:
            return
        with self._lock:
            self._dropped[reason] = self._dropped.get(reason, 0) + occurrences
            self._unreported[reason] = self._unreported.get(reason, 0) + occurrences

    # -- background thread ---------------------------------------------------------

    def _run(self) -> None:
        self.thread_ident = threading.get_ident()
        if self._spool is not None:
            self._guard(self._spool.recover)
        while True:
            item = self._queue.pop()
            if item is None:
                self._queue.wait(self._wait_timeout())
                item = self._queue.pop()
            drained = 0
            while item is not None:
                if isinstance(item, _Stop):
                    self._guard(functools.partial(self._stop, item))
                    item.done.set()
                    return
                if isinstance(item, _Flush):
                    self._guard(self._flush_now)
                    item.done.set()
                else:
                    self._ingest(item)
                    if self._window_full():
                        self._guard(self._tick)
                drained += 1
                if drained >= _DRAIN_PER_WAKE:
                    break
                item = self._queue.pop()
            self._guard(self._tick)

    def _guard(self, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception:  # noqa: BLE001
            self._count_internal()

    def _count_internal(self) -> None:
        with self._lock:
            self._internal_errors += 1

    def _wait_timeout(self) -> float:
        now = time.monotonic()
        due: list[float] = []
        if self._window_deadline is not None:
            due.append(self._window_deadline)
        if self._retry is not None or self._replay_wanted:
            due.append(max(self._backoff_until, now))
        if not due:
            return 5.0
        return min(max(min(due) - now, 0.001), 5.0)

    def _ingest(self, snap: Snapshot) -> None:
        self._count("received", snap.count)
        try:
            raw = self._builder.raw_key(snap)
            if self._agg.bump_raw(raw, snap.count):
                self._count("aggregated", snap.count)
                return
            event = self._builder.build(snap, raw)
            merged = self._agg.add(event, raw, aggregate=snap.kind != "manual")
            self._count("aggregated", snap.count if merged else snap.count - 1)
        except Exception:  # noqa: BLE001
            self._count_internal()
            self._drop("internal", snap.count)
            return
        if self._window_deadline is None:
            interval = self.settings.flush_interval
            if self._offline():
                interval *= _OFFLINE_WINDOW_FACTOR
            self._window_deadline = time.monotonic() + interval

    def _window_full(self) -> bool:
        limit = self.settings.batch_size
        if self._offline():
            limit = max(limit, _OFFLINE_WINDOW_EVENTS)
        return len(self._agg) >= limit

    def _tick(self) -> None:
        now = time.monotonic()
        if len(self._agg) and (
            self._window_full()
            or (self._window_deadline is not None and now >= self._window_deadline)
        ):
            self._close_window()
        if now >= self._backoff_until:
            self._pump()

    def _offline(self) -> bool:
        """Deliveries are failing: windows only go to disk, so they may grow larger."""
        return self._failures > 0 or self._in_backoff()

    def _in_backoff(self) -> bool:
        return self._retry is not None or time.monotonic() < self._backoff_until

    def _close_window(self, *, final: bool = False) -> None:
        events = self._agg.drain()
        self._window_deadline = None
        if not events:
            return
        created = time.time()
        if self._in_backoff():
            self._to_spool(_Batch(events, created))
            return
        size = max(self.settings.batch_size, 1)
        for start in range(0, len(events), size):
            if self._in_backoff():
                self._to_spool(_Batch(events[start:], created))
                return
            leftover = self._deliver(_Batch(events[start : start + size], created))
            if leftover is not None:
                if final:
                    self._to_spool(leftover)
                else:
                    self._schedule_retry(leftover)

    def _flush_now(self) -> None:
        self._close_window(final=True)
        if self._retry is not None:
            leftover: _Batch | None
            leftover, self._retry = self._retry, None
            if time.monotonic() >= self._backoff_until:
                leftover = self._deliver(leftover)
            if leftover is not None:
                self._to_spool(leftover)

    def _stop(self, stop: _Stop) -> None:
        self._deadline = stop.deadline
        if time.monotonic() < stop.deadline:
            self._flush_now()
        else:
            events = self._agg.drain()
            if events:
                self._to_spool(_Batch(events, time.time()))
            if self._retry is not None:
                self._to_spool(self._retry)
                self._retry = None
        if isinstance(self._transport, HttpTransport):
            self._transport.close()

    def _schedule_retry(self, batch: _Batch) -> None:
        batch.attempts += 1
        if self._policy.exhausted(batch.attempts) or self._retry is not None:
            self._to_spool(batch)
            return
        self._count("retried")
        self._retry = batch

    def _backoff(self, retry_after: float | None) -> None:
        self._failures += 1
        delay = self._policy.delay(self._failures, retry_after)
        self._backoff_until = time.monotonic() + delay

    def _pump(self) -> None:
        """Retry the pending batch, then replay the spool, while deliveries succeed."""
        if self._retry is not None:
            batch, self._retry = self._retry, None
            leftover = self._deliver(batch)
            if leftover is not None:
                self._schedule_retry(leftover)
                return
        if not self._replay_wanted or self._spool is None:
            return
        for _ in range(_REPLAY_PER_PUMP):
            try:
                entry = self._spool.claim_oldest()
            except OSError:
                # An unreadable spool must not turn the wait loop into a busy loop.
                self._replay_wanted = False
                self._count_internal()
                return
            if entry is None:
                self._replay_wanted = False
                return
            try:
                events = _decode_body(entry.read())
            except (OSError, ValueError):
                self._spool.done(entry)
                self._drop("spool_error", entry.occurrences)
                continue
            if not self._replay_entry(entry, events):
                return

    def _replay_entry(self, entry: SpoolEntry, events: list[EventDict]) -> bool:
        """Send one spooled body in batches; False (rest kept spooled) when one fails."""
        assert self._spool is not None
        size = max(self.settings.batch_size, 1)
        created = entry.created_ns / 1e9
        for start in range(0, len(events), size):
            batch = _Batch(events[start : start + size], created, from_spool=True)
            leftover = self._deliver(batch)
            if leftover is None:
                continue
            if leftover is batch and start == 0:
                self._spool.release(entry)  # nothing of it was accounted for
            else:
                rest = _Batch(leftover.events + events[start + size :], created)
                self._spool.done(entry)
                self._write_spool(rest)
            return False
        self._spool.done(entry)
        return True

    def _to_spool(self, batch: _Batch) -> None:
        # One file (two fsyncs) per window, however large: replay sends it in batches.
        occurrences = batch.occurrences
        if self._spool is None:
            self._drop("spool_error", occurrences)
            return
        if self._write_spool(batch):
            self._count("spooled", occurrences)

    def _write_spool(self, batch: _Batch) -> bool:
        from afissue_logging.spool import SpoolError

        assert self._spool is not None
        try:
            dropped = self._spool.write(_encode_body(batch.events), batch.occurrences, batch.created)
        except SpoolError:
            self._drop("spool_error", batch.occurrences)
            return False
        except Exception:  # noqa: BLE001 - the batch is ours to account for, whatever failed
            self._count_internal()
            self._drop("spool_error", batch.occurrences)
            return False
        self._drop("spool_full", dropped)
        self._replay_wanted = True
        return True

    # -- one HTTP exchange -----------------------------------------------------------

    def _headers(self, compressed: bool) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "afissue-logging/0.1"}
        if compressed:
            headers["Content-Encoding"] = "gzip"
        if self.settings.token:
            headers["Authorization"] = f"Bearer {self.settings.token}"
        return headers

    def _deliver(self, batch: _Batch) -> _Batch | None:
        """POST *batch* and account for every occurrence in it exactly once.

        Returns None when all of it is accounted for (sent, or dropped with a reason),
        else the part still to be retried or spooled: the whole batch, or after a 413
        split only the parts that were not accepted or dropped, so that no occurrence
        is sent or counted twice.
        """
        try:
            body = _encode_body(batch.events)
        except Exception:  # noqa: BLE001 - an unencodable batch never will be: drop it, counted
            self._count_internal()
            self._drop("internal", batch.occurrences)
            return None
        compressed = len(body) >= self.settings.gzip_min_bytes
        if compressed:
            import gzip  # loaded by _preload(): this is a lookup, not an import

            body = gzip.compress(body, compresslevel=5)
        timeout = self.settings.timeout
        if self._deadline is not None:
            timeout = min(timeout, self._deadline - time.monotonic())
            if timeout <= 0.01:
                return batch
        self._count("requests")
        self._inflight = batch
        try:
            response = self._transport.send(body, self._headers(compressed), timeout)
        except TransportError as error:
            self._fail("timeout" if isinstance(error, TransportTimeout) else "connection")
            return batch
        except Exception:  # noqa: BLE001
            # A bug or a broken environment (say, a half-imported module inherited through
            # fork()) must not lose the batch: it is retried and then spooled like any failure.
            self._count_internal()
            self._fail("internal")
            return batch
        finally:
            self._inflight = None
        status = response.status
        if 200 <= status < 300:
            rejected = _rejected_occurrences(batch.events, response.body)
            if rejected is None:
                self._fail("bad_answer")
                return batch
            self._on_success(batch, rejected)
            return None
        if status == 413 and len(batch.events) > 1:
            return self._deliver_halves(batch)
        if status in (408, 429) or status >= 500:
            self._fail("status", parse_retry_after(response.headers.get("retry-after")))
            return batch
        reason = "auth" if status in (401, 403) else "too_large" if status == 413 else "rejected"
        self._drop(reason, batch.occurrences)
        return None

    def _deliver_halves(self, batch: _Batch) -> _Batch | None:
        """Resend a batch answered 413 as two halves; what is left of them, or None."""
        half = len(batch.events) // 2
        left: list[EventDict] = []
        for part in (batch.events[:half], batch.events[half:]):
            if left or self._in_backoff():
                # A part failed: the rest waits for the retry rather than hitting a
                # server that just asked us to back off.
                left.extend(part)
                continue
            leftover = self._deliver(
                _Batch(part, batch.created, batch.attempts, from_spool=batch.from_spool)
            )
            if leftover is not None:
                left.extend(leftover.events)
        if not left:
            return None
        if len(left) == len(batch.events):
            return batch
        return _Batch(left, batch.created, batch.attempts, from_spool=batch.from_spool)

    def _fail(self, reason: str, retry_after: float | None = None) -> None:
        """Count a failed exchange by *reason* and back off before the next one."""
        self._failures_by[reason] += 1
        self._backoff(retry_after)

    def _on_success(self, batch: _Batch, rejected: int) -> None:
        self._failures = 0
        self._backoff_until = 0.0
        self._drop("rejected", rejected)
        sent = batch.occurrences - rejected
        self._count("sent", sent)
        self._count("events_sent", len(batch.events))
        if batch.from_spool:
            self._count("replayed", sent)
        if not batch.from_spool and self._spool is not None and self._replay_wanted is False:
            self._replay_wanted = self._spool.pending() > 0
        self._report_drops()

    def _report_drops(self) -> None:
        with self._lock:
            unreported = {k: v for k, v in self._unreported.items() if v}
            self._unreported = {}
        if not unreported:
            return
        if self._deadline is not None:
            self._restore_unreported(unreported)
            return
        try:
            delivered = self._send_drop_report(unreported)
        except Exception:  # noqa: BLE001
            self._count_internal()
            delivered = False
        if not delivered:
            self._restore_unreported(unreported)

    def _send_drop_report(self, unreported: dict[str, int]) -> bool:
        """POST the drop report event; True if the API accepted it."""
        total = sum(unreported.values())
        event = self._builder.build(
            snapshot_manual(
                {
                    "event_id": _new_id(),
                    "title": f"afissue client dropped {total} events",
                    "message": f"afissue client dropped {total} events",
                    "message_template": "afissue client dropped events",
                    "level": "warning",
                    "logger": "afissue_logging",
                    "extra": {"dropped": unreported, "dropped_total": total},
                }
            )
        )
        body = _encode_body([event])
        self._count("requests")
        try:
            response = self._transport.send(body, self._headers(False), self.settings.timeout)
        except TransportError:
            return False
        return 200 <= response.status < 300 and _rejected_occurrences([event], response.body) == 0

    def _restore_unreported(self, unreported: dict[str, int]) -> None:
        with self._lock:
            for reason, amount in unreported.items():
                self._unreported[reason] = self._unreported.get(reason, 0) + amount


def _preload() -> None:
    """Import what the sender thread needs now, on the constructing thread.

    An import running on the sender thread when the process forks leaves the child
    a half-initialised module (the import lock's owner does not exist there), so
    nothing is imported lazily once the sender runs; see :func:`_transport.preload`.
    """
    import email.utils  # noqa: F401 - HTTP-date Retry-After values
    import gzip  # noqa: F401 - large bodies, spooled bodies

    import afissue_logging.spool  # noqa: F401


def _new_id() -> str:
    return new_event_id()


def _encode_body(events: list[EventDict]) -> bytes:
    return encode_event({"events": events})


def _decode_body(data: bytes) -> list[EventDict]:
    if data[:2] == b"\x1f\x8b":
        import gzip

        data = gzip.decompress(data)
    payload = json.loads(data.decode("utf-8"))
    if isinstance(payload, dict) and isinstance(payload.get("events"), list):
        return payload["events"]  # type: ignore[no-any-return]
    raise ValueError("spooled body is not an events batch")


# -- the process-wide registry ------------------------------------------------------

_registry: dict[tuple[ClientSettings, int], Sender] = {}
_registry_lock = threading.Lock()
_mp_finalizer_pid: int | None = None


def get_sender(settings: ClientSettings, transport: Transport | None = None) -> Sender:
    """The process-wide sender of *settings* (and *transport*, when one is injected)."""
    key = (settings, id(transport) if transport is not None else 0)
    sender = _registry.get(key)
    if sender is None:
        with _registry_lock:
            sender = _registry.get(key)
            if sender is None:
                sender = Sender(settings, transport)
                _registry[key] = sender
    return sender


def shutdown_all(timeout: float | None = None) -> None:
    """Drain and stop every sender of this process (registered with ``atexit``)."""
    for sender in list(_registry.values()):
        with contextlib.suppress(Exception):  # never fail interpreter exit
            sender.shutdown(timeout)


def reset_senders() -> None:
    """Stop and forget every sender without draining (for tests)."""
    with _registry_lock:
        senders = list(_registry.values())
        _registry.clear()
    for sender in senders:
        with contextlib.suppress(Exception):
            sender.shutdown(0.0)


def _after_fork_in_child() -> None:
    global _registry_lock, _mp_finalizer_pid  # noqa: PLW0603
    _registry_lock = threading.Lock()
    _mp_finalizer_pid = None
    for sender in list(_registry.values()):
        sender._after_fork_in_child()


def _register_multiprocessing_finalizer() -> None:
    """multiprocessing children leave through ``os._exit``: drain in its finalizers too."""
    global _mp_finalizer_pid  # noqa: PLW0603
    util = sys.modules.get("multiprocessing.util")
    if util is None or _mp_finalizer_pid == os.getpid():
        return
    _mp_finalizer_pid = os.getpid()
    util.Finalize(None, shutdown_all, exitpriority=10)


atexit.register(shutdown_all)
os.register_at_fork(after_in_child=_after_fork_in_child)
