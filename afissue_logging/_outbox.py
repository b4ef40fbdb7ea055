"""Batches that did not go out: one retried from memory, the rest spooled and replayed.

A failed batch waits in the retry slot for the backoff to pass (``Retry-After``
honoured) and is retried up to ``max_retries`` times, then written to the spool; while
a retry is pending, newer batches go straight to the spool. The spool is replayed
oldest first after a success, and at the next process start, in batches of
``batch_size`` events. Why the events are not getting through is said once on stderr
(:class:`~afissue_logging._warnings.DeliveryWarnings`): at the first failure if nothing
was ever delivered (a wrong URL), at the first spill otherwise.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from afissue_logging._batch import Batch, decode_body, encode_body
from afissue_logging._counters import Counters
from afissue_logging._exchange import Exchange
from afissue_logging._retry import Backoff
from afissue_logging._warnings import DeliveryWarnings
from afissue_logging.settings import ClientSettings
from afissue_logging.wire import EventDict

if TYPE_CHECKING:
    from afissue_logging.spool import Spool, SpoolEntry

__all__ = ["Outbox"]

_REPLAY_PER_PUMP = 20


class Outbox:
    """The retry slot and the spool of one sender (sender thread only)."""

    def __init__(
        self,
        settings: ClientSettings,
        spool: Spool | None,
        exchange: Exchange,
        counters: Counters,
        backoff: Backoff,
        *,
        warnings: DeliveryWarnings,
    ) -> None:
        self.settings = settings
        self.spool = spool
        self._exchange = exchange
        self._counters = counters
        self._backoff = backoff
        self._warnings = warnings
        #: The batch waiting to be retried from memory.
        self.retry: Batch | None = None
        self._replay_wanted = spool is not None

    def recover(self) -> None:
        """Take back spool files a dead process had claimed (at thread start)."""
        if self.spool is not None:
            self.spool.recover()

    def in_backoff(self) -> bool:
        """Whether new batches must wait (a retry is pending, or the backoff runs)."""
        return self.retry is not None or self._backoff.active()

    def due(self, now: float) -> float | None:
        """When :meth:`pump` has work (a retry or a replay), or None."""
        if self.retry is not None or self._replay_wanted:
            return max(self._backoff.until, now)
        return None

    def deliver(self, batch: Batch) -> Batch | None:
        """:meth:`Exchange.deliver`; a success also looks for spool files to replay
        (another process using the same spool may have written some)."""
        successes = self._exchange.successes
        leftover = self._exchange.deliver(batch)
        problem = self._exchange.problem
        if problem is not None:
            self._warnings.failed(
                *problem, batch.occurrences, delivered_before=self._exchange.successes > 0
            )
        if (
            self._exchange.successes != successes
            and not batch.from_spool
            and self.spool is not None
            and not self._replay_wanted
        ):
            self._replay_wanted = self.spool.pending() > 0
        return leftover

    def take_retry(self) -> Batch | None:
        """The pending retry, removed from the slot."""
        batch, self.retry = self.retry, None
        return batch

    def schedule_retry(self, batch: Batch) -> None:
        """Retry *batch* after the backoff, or spool it when it had its retries (or the
        slot is taken, or its last answer says retrying cannot help)."""
        batch.attempts += 1
        exhausted = self._backoff.policy.exhausted(batch.attempts)
        if batch.spool_now or exhausted or self.retry is not None:
            self.to_spool(batch)
            return
        self._counters.add("retried")
        self.retry = batch

    def pump(self) -> None:
        """Retry the pending batch, then replay the spool, while deliveries succeed."""
        if self.retry is not None:
            batch, self.retry = self.retry, None
            leftover = self.deliver(batch)
            if leftover is not None:
                self.schedule_retry(leftover)
                return
        if not self._replay_wanted or self.spool is None:
            return
        for _ in range(_REPLAY_PER_PUMP):
            try:
                entry = self.spool.claim_oldest()
            except OSError:
                # An unreadable spool must not turn the wait loop into a busy loop.
                self._replay_wanted = False
                self._counters.internal()
                return
            if entry is None:
                self._replay_wanted = False
                return
            try:
                events = decode_body(entry.read())
            except (OSError, ValueError):
                self.spool.done(entry)
                self._counters.drop("spool_error", entry.occurrences)
                continue
            if not self._replay_entry(entry, events):
                return

    def _replay_entry(self, entry: SpoolEntry, events: list[EventDict]) -> bool:
        """Send one spooled body in batches; False (rest kept spooled) when one fails."""
        assert self.spool is not None
        size = max(self.settings.batch_size, 1)
        created = entry.created_ns / 1e9
        for start in range(0, len(events), size):
            batch = Batch(events[start : start + size], created, from_spool=True)
            leftover = self.deliver(batch)
            if leftover is None:
                continue
            if leftover is batch and start == 0:
                self.spool.release(entry)  # nothing of it was accounted for
            else:
                rest = Batch(leftover.events + events[start + size :], created)
                self.spool.done(entry)
                self._write(rest)
            return False
        self.spool.done(entry)
        return True

    def to_spool(self, batch: Batch) -> None:
        """Write *batch* to the spool (counted spooled), or count it dropped."""
        # One file (two fsyncs) per window, however large: replay sends it in batches.
        detail = self._exchange.problem[1] if self._exchange.problem else None
        if self.spool is None:
            self._counters.drop("spool_error", batch.occurrences)
            self._warnings.not_spooled(batch.occurrences, detail)
            return
        if self._write(batch):
            self._counters.add("spooled", batch.occurrences)
            self._warnings.spilled(batch.occurrences, detail)

    def spool_events(self, events: list[EventDict]) -> None:
        """Spool *events* as one batch closed now."""
        self.to_spool(Batch(events, time.time()))

    def _write(self, batch: Batch) -> bool:
        from afissue_logging.spool import SpoolError  # loaded by the sender's preload

        assert self.spool is not None
        try:
            dropped = self.spool.write(encode_body(batch.events), batch.occurrences, batch.created)
        except SpoolError as error:
            self._counters.drop("spool_error", batch.occurrences)
            self._warnings.spool_failed(batch.occurrences, str(error.__cause__ or error))
            return False
        except Exception as error:  # noqa: BLE001 - the batch is ours to account for, whatever failed
            self._counters.internal()
            self._counters.drop("spool_error", batch.occurrences)
            self._warnings.spool_failed(batch.occurrences, type(error).__name__)
            return False
        self._counters.drop("spool_full", dropped)
        self._replay_wanted = True
        return True
