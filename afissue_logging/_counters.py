"""What became of every occurrence in this process: sent, spooled, dropped by reason.

Only the sender thread writes the plain counts and failures; drops and internal errors
also come from callers' threads, so they take a lock. Drops are also kept in a ledger of
those the ingest API has not yet acknowledged: each request carries the ledger
(:meth:`Counters.unreported`) and a 2xx answer to it clears what it carried
(:meth:`Counters.acknowledge`), so a report lost on the way is sent again.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from afissue_logging.wire import DROP_REASONS, MAX_COUNT

__all__ = ["COUNTS", "DROP_REASONS", "FAILURE_REASONS", "Counters"]

COUNTS = (
    "received", "sent", "events_sent", "requests", "aggregated", "retried", "spooled",
    "replayed",
)
# Why an exchange failed (a failed exchange is retried, then spooled): no answer,
# a 408/429/5xx status, a 2xx whose body is not the ingest API's answer (a wrong URL
# reaching some other web server), or an exception inside the client.
FAILURE_REASONS = ("connection", "timeout", "status", "bad_answer", "internal")


class Counters:
    """The counters behind ``stats()``, and the ledger of unreported drops."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = dict.fromkeys(COUNTS, 0)
        self._failures: dict[str, int] = dict.fromkeys(FAILURE_REASONS, 0)
        self._dropped: dict[str, int] = dict.fromkeys(DROP_REASONS, 0)
        self._unreported: dict[str, int] = {}
        self._internal_errors = 0

    def add(self, name: str, amount: int = 1) -> None:
        """Count *amount* under *name* (one of :data:`COUNTS`; sender thread only)."""
        self._counts[name] += amount

    def fail(self, reason: str) -> None:
        """Count a failed exchange (one of :data:`FAILURE_REASONS`; sender thread only)."""
        self._failures[reason] += 1

    def drop(self, reason: str, occurrences: int) -> None:
        """Count *occurrences* dropped for *reason*, and owe the API a report of them."""
        if occurrences <= 0:
            return
        with self._lock:
            self._dropped[reason] = self._dropped.get(reason, 0) + occurrences
            self._unreported[reason] = self._unreported.get(reason, 0) + occurrences

    def undelivered(self) -> int:
        """Occurrences spooled or dropped so far (any reason): a flush that sees this
        number grow did not deliver everything."""
        with self._lock:
            dropped = sum(self._dropped.values())
        return self._counts["spooled"] + dropped

    def internal(self) -> None:
        """Count an internal error (any thread)."""
        with self._lock:
            self._internal_errors += 1

    def unreported(self) -> dict[str, int]:
        """Drops the API has not acknowledged, by reason, each at most ``MAX_COUNT``
        (the wire's bound; the rest goes with a later request)."""
        with self._lock:
            return {reason: min(n, MAX_COUNT) for reason, n in self._unreported.items() if n}

    def acknowledge(self, reported: Mapping[str, int]) -> None:
        """The API answered 2xx to a request carrying *reported*: those are reported."""
        if not reported:
            return
        with self._lock:
            for reason, amount in reported.items():
                left = self._unreported.get(reason, 0) - amount
                if left > 0:
                    self._unreported[reason] = left
                else:
                    self._unreported.pop(reason, None)

    def snapshot(self) -> dict[str, Any]:
        """Every counter, copied: the counts, ``dropped`` by reason and its total,
        ``failures`` by reason, ``internal_errors``."""
        with self._lock:
            counts = dict(self._counts)
            dropped = dict(self._dropped)
            internal_errors = self._internal_errors
        return {
            **counts,
            "dropped": dropped,
            "dropped_total": sum(dropped.values()),
            "failures": dict(self._failures),
            "internal_errors": internal_errors,
        }
