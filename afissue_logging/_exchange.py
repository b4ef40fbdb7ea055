"""One HTTP exchange of one batch: encode, send through the :class:`Transport`, account.

The transport side of the sender (``sentry_sdk.transport`` draws the same line): the
body carries the unreported drop counts, large bodies are gzipped, requests started
after :attr:`Exchange.deadline` (interpreter exit) are not sent, and the answer's
:func:`~afissue_logging._outcome.classify` outcome decides what is counted. Every
occurrence of a batch is accounted for exactly once: sent, dropped with a reason, or
handed back to the caller (the outbox) to retry or spool.
"""

from __future__ import annotations

import time

from afissue_logging._batch import Batch, encode_body
from afissue_logging._counters import Counters
from afissue_logging._outcome import Drop, Retry, Sent, Split, Spool, classify, halves
from afissue_logging._retry import Backoff
from afissue_logging._transport import Transport, TransportError, TransportTimeout
from afissue_logging.settings import ClientSettings

__all__ = ["Exchange"]

_USER_AGENT = "afissue-logging/0.1"


class Exchange:
    """Delivers batches through *transport*, counting into *counters*."""

    def __init__(
        self,
        settings: ClientSettings,
        transport: Transport,
        counters: Counters,
        backoff: Backoff,
    ) -> None:
        self.settings = settings
        self.transport = transport
        self._counters = counters
        self._backoff = backoff
        #: Monotonic time after which no request starts (set when the process exits).
        self.deadline: float | None = None
        #: The batch whose request is on the wire (for a rescue at exit).
        self.inflight: Batch | None = None
        #: Batches the API answered for, so far.
        self.successes = 0
        #: Why the last :meth:`deliver` did not go through, as ``(kind, detail)``: kind
        #: "unreachable", "status" (408/429/5xx), "bad_answer", "auth", "refused" or
        #: "internal"; None after an answered one.
        self.problem: tuple[str, str] | None = None

    def headers(self, compressed: bool) -> dict[str, str]:
        """The request headers."""
        headers = {"Content-Type": "application/json", "User-Agent": _USER_AGENT}
        if compressed:
            headers["Content-Encoding"] = "gzip"
        if self.settings.token:
            headers["Authorization"] = f"Bearer {self.settings.token}"
        return headers

    def deliver(self, batch: Batch) -> Batch | None:
        """POST *batch* and account for every occurrence in it exactly once.

        Returns None when all of it is accounted for (sent, or dropped with a reason),
        else the part still to be retried or spooled: the whole batch, or after a 413
        split only the parts that were not accepted or dropped, so that no occurrence
        is sent or counted twice.
        """
        self.problem = None
        carried = self._counters.unreported()
        try:
            body = encode_body(batch.events, carried)
        except Exception:  # noqa: BLE001 - an unencodable batch never will be: drop it, counted
            self._counters.internal()
            self._counters.drop("internal", batch.occurrences)
            return None
        compressed = len(body) >= self.settings.gzip_min_bytes
        if compressed:
            import gzip  # loaded by the sender's preload: a lookup, not an import

            body = gzip.compress(body, compresslevel=5)
        timeout = self.settings.timeout
        if self.deadline is not None:
            timeout = min(timeout, self.deadline - time.monotonic())
            if timeout <= 0.01:
                return batch
        self._counters.add("requests")
        self.inflight = batch
        try:
            response = self.transport.send(body, self.headers(compressed), timeout)
        except TransportError as error:
            self._fail("timeout" if isinstance(error, TransportTimeout) else "connection")
            self.problem = ("unreachable", str(error))
            return batch
        except Exception as error:  # noqa: BLE001
            # A bug or a broken environment (say, a half-imported module inherited through
            # fork()) must not lose the batch: it is retried and then spooled like any failure.
            self.problem = ("internal", type(error).__name__)
            self._counters.internal()
            self._fail("internal")
            return batch
        finally:
            self.inflight = None
        outcome = classify(response.status, response.headers, response.body, batch.events)
        if isinstance(outcome, Sent):
            self._sent(batch, outcome.rejected, carried)
            return None
        if isinstance(outcome, Split):
            return self._deliver_halves(batch)
        answer = f"HTTP {response.status}"
        if isinstance(outcome, Retry):
            self.problem = ("status", answer)
            self._fail(outcome.reason, outcome.seconds)
            return batch
        if isinstance(outcome, Spool):
            self.problem = (outcome.reason, answer)
            self._fail(outcome.reason)
            batch.spool_now = True
            return batch
        assert isinstance(outcome, Drop)
        self.problem = ("auth" if outcome.reason == "auth" else "refused", answer)
        self._counters.drop(outcome.reason, batch.occurrences)
        return None

    def _deliver_halves(self, batch: Batch) -> Batch | None:
        """Resend a batch answered 413 as two halves; what is left of them, or None."""
        left: list[Batch] = []
        for part in halves(batch.events):
            if left or self._backoff.active():
                # A part failed: the rest waits for the retry rather than hitting a
                # server that just asked us to back off.
                left.append(batch.part(part))
                continue
            leftover = self.deliver(batch.part(part))
            if leftover is not None:
                left.append(leftover)
        if not left:
            return None
        events = [event for part in left for event in part.events]
        spool_now = any(part.spool_now for part in left)
        if len(events) == len(batch.events):
            batch.spool_now = batch.spool_now or spool_now
            return batch
        return batch.part(events, spool_now=spool_now)

    def _fail(self, reason: str, retry_after: float | None = None) -> None:
        """Count a failed exchange by *reason* and back off before the next one."""
        self._counters.fail(reason)
        self._backoff.fail(retry_after)

    def _sent(self, batch: Batch, rejected: int, carried: dict[str, int]) -> None:
        self.successes += 1
        self._backoff.reset()
        self._counters.acknowledge(carried)
        self._counters.drop("rejected", rejected)
        sent = batch.occurrences - rejected
        self._counters.add("sent", sent)
        self._counters.add("events_sent", len(batch.events))
        if batch.from_spool:
            self._counters.add("replayed", sent)
