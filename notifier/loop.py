"""The delivery loop: find due outbox documents, claim them, send, record.

One pass (:meth:`DeliveryLoop.run_once`):

1. read the pending outbox documents, oldest first (``state == "pending"`` ordered by
   ``created_at``), and keep those with a channel due now and a free lease;
2. claim up to ``batch`` of them (``notifier.lease``);
3. per channel, take rate-limit tokens for the messages due (``notifier.ratelimit``):
   with enough, each alert is sent on its own; with fewer, all but one token send the
   oldest alerts and the last sends one digest of the rest; with none, they wait for the
   next window (not an attempt). Every alert a digest carries is recorded "delivered",
   ``via`` the digest's id: held back, never lost;
4. record each channel's result (delivered, retry later with backoff, dead) and release.

A receiver that fails once fails the rest of that pass's messages to it with the same
error, so a receiver that is down costs one timeout per pass, not one per alert, and the
leases are not outlived.
"""

from __future__ import annotations

import datetime
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from alerting.outbox import CHANNEL_DEAD, STATE_PENDING
from alerting.rules import AlertConfig
from notifier.channels import DeliveryError, Sender
from notifier.delivery import RetryPolicy, deferred, delivered, due_channels, failed
from notifier.lease import Leases, lease_free
from notifier.message import AlertMessage, Digest, alert_message
from notifier.metrics import Metrics
from notifier.ratelimit import RateLimiter

__all__ = ["PENDING_FILTER", "PENDING_ORDER", "DeliveryLoop"]

log = logging.getLogger("notifier")

_Results = dict[str, dict[str, dict[str, Any]]]  # alert id -> channel -> new entry

#: The pending-alerts query: an equality filter and an ascending sort, which needs the
#: composite index (state, created_at) in firestore.indexes.json.
PENDING_FILTER = ("state", "==", STATE_PENDING)
PENDING_ORDER = "created_at"


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class DeliveryLoop:
    """Delivers the pending alerts of one outbox collection."""

    def __init__(
        self,
        db: Any,
        collection: str,
        config: AlertConfig,
        senders: Mapping[str, Sender],
        limiter: RateLimiter,
        *,
        owner: str,
        base_url: str,
        policy: RetryPolicy | None = None,
        lease_seconds: float = 120.0,
        batch: int = 20,
        scan_limit: int = 500,
        clock: Callable[[], datetime.datetime] = _utcnow,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.db = db
        self.collection = collection
        self.config = config
        self.senders = senders
        self.limiter = limiter
        self.owner = owner
        self.base_url = base_url
        self.policy = policy or RetryPolicy()
        self.leases = Leases(db, collection, owner, lease_seconds, clock)
        self.batch = batch
        self.scan_limit = scan_limit
        self._clock = clock
        self._rng = rng or random.Random()
        self.metrics = metrics or Metrics()

    def run(self, stop: threading.Event, poll_interval: float = 1.0) -> None:
        """Pass after pass until *stop* is set; idle passes wait *poll_interval*. A pass
        that fails (Firestore unreachable) is logged and retried after a pause."""
        while not stop.is_set():
            try:
                handled = self.run_once()
                self.metrics.passes.inc()
                self.metrics.last_pass.set_to_current_time()
            except Exception:
                log.exception("delivery pass failed; retrying")
                handled = 0
                stop.wait(min(30.0, poll_interval * 5))
            if not handled:
                stop.wait(poll_interval)

    def _candidates(self, now: datetime.datetime) -> list[str]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = (
            self.db.collection(self.collection)
            .where(filter=FieldFilter(*PENDING_FILTER))
            .order_by(PENDING_ORDER)
            .limit(self.scan_limit)
        )
        found = []
        for snapshot in query.stream():
            data = snapshot.to_dict() or {}
            if due_channels(data, now) and lease_free(data, self.owner, now):
                found.append(str(snapshot.id))
                if len(found) >= self.batch:
                    break
        return found

    def run_once(self) -> int:
        """One pass; the number of documents claimed."""
        claimed: dict[str, dict[str, Any]] = {}
        for alert_id in self._candidates(self._clock()):
            document = self.leases.claim(alert_id)
            if document is not None:
                claimed[alert_id] = document
        if not claimed:
            return 0
        now = self._clock()
        work: dict[str, list[tuple[str, AlertMessage, Mapping[str, Any]]]] = {}
        for alert_id, document in claimed.items():
            channels = document.get("channels") or {}
            for channel in due_channels(document, now):
                message = alert_message({**document, "alert_id": alert_id}, channel, self.base_url)
                work.setdefault(channel, []).append((alert_id, message, channels[channel]))
        results: _Results = {alert_id: {} for alert_id in claimed}
        for channel, items in work.items():
            self._deliver_channel(channel, items, results)
        for alert_id in claimed:
            self.leases.finish(alert_id, results[alert_id])
        return len(claimed)

    def _deliver_channel(
        self,
        channel: str,
        items: list[tuple[str, AlertMessage, Mapping[str, Any]]],
        results: _Results,
    ) -> None:
        sender = self.senders.get(channel)
        configured = self.config.channels.get(channel)
        if sender is None or configured is None:
            for alert_id, _, entry in items:
                self._record_failure(results, alert_id, channel, entry,
                                     DeliveryError(f"channel {channel!r} is not configured"))
            return
        granted = self.limiter.acquire(channel, configured.rate_limit, len(items))
        if granted == 0:
            until = datetime.datetime.fromtimestamp(
                self.limiter.window_end(configured.rate_limit), datetime.UTC
            )
            for alert_id, _, entry in items:
                results[alert_id][channel] = deferred(entry, until)
            self.metrics.held.labels(channel).inc(len(items))
            log.info("%d alerts to %s held back by its rate limit until %s",
                     len(items), channel, until.isoformat())
            return
        single = items if granted >= len(items) else items[: granted - 1]
        held = [] if granted >= len(items) else items[granted - 1:]
        broken: DeliveryError | None = None
        for alert_id, message, entry in single:
            broken = self._send(sender, message, broken)
            if broken is None:
                results[alert_id][channel] = delivered(entry, self._clock())
                self.metrics.delivered.labels(channel).inc()
                log.info("Delivered alert %s to %s: %s", alert_id, channel, message.summary(120))
            else:
                self._record_failure(results, alert_id, channel, entry, broken)
        if held:
            digest = Digest(channel, tuple(message for _, message, _ in held))
            broken = self._send(sender, digest, broken)
            for alert_id, _, entry in held:
                if broken is None:
                    results[alert_id][channel] = delivered(
                        entry, self._clock(), via=digest.idempotency_id
                    )
                else:
                    self._record_failure(results, alert_id, channel, entry, broken)
            if broken is None:
                self.metrics.delivered.labels(channel).inc(len(held))
                self.metrics.digests.labels(channel).inc()
                log.info("Delivered a digest of %d alerts to %s (%s)",
                         len(held), channel, digest.idempotency_id)

    @staticmethod
    def _send(
        sender: Sender, message: AlertMessage | Digest, broken: DeliveryError | None
    ) -> DeliveryError | None:
        """Send unless the channel already failed in this pass; the error, if any."""
        if broken is not None:
            return broken
        started = time.monotonic()
        try:
            sender.send(message)
        except DeliveryError as error:
            log.debug("send of %s failed after %.1fs", message.idempotency_id,
                      time.monotonic() - started)
            return error
        except Exception as error:
            log.exception("sender of %s raised", message.idempotency_id)
            return DeliveryError(f"{type(error).__name__}: {error}")
        return None

    def _record_failure(
        self, results: _Results, alert_id: str, channel: str, entry: Mapping[str, Any],
        error: DeliveryError,
    ) -> None:
        new = failed(entry, str(error), self._clock(), self.policy,
                     retry_after=error.retry_after, rng=self._rng)
        results[alert_id][channel] = new
        self.metrics.failed.labels(channel).inc()
        if new["state"] == CHANNEL_DEAD:
            self.metrics.dead.labels(channel).inc()
            log.error("Alert %s to %s is dead after %d attempts: %s",
                      alert_id, channel, new["attempts"], error)
        else:
            log.warning("Alert %s to %s failed (attempt %d, next at %s): %s",
                        alert_id, channel, new["attempts"],
                        new["next_attempt_at"].isoformat(), error)

