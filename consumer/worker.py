"""One member of the consumer group: the Kafka driver and the counting strategy, wired.

The driver (``consumer.driver``) reads Kafka and carries out seeks, pauses and commits;
the strategy (``consumer.strategy``) decides what is counted, when it is flushed and
when to read again; the quarantine (``consumer.quarantine``) takes what cannot be
counted. This module builds them from the settings and runs the loop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from alerting.rules import AlertConfig
from consumer.alert_triggers import alert_writes_per_issue
from consumer.dedup import Dedup, EventClaims
from consumer.dlq import DeadLetterQueue
from consumer.driver import KafkaDriver
from consumer.metrics import Metrics
from consumer.quarantine import Quarantine
from consumer.settings import WRITES_PER_ISSUE, ConsumerSettings
from consumer.store import FirestoreStore, IssueWriter
from consumer.strategy import CountingStrategy

__all__ = ["Worker"]


class Worker:
    """One member of the consumer group. Build it, then :meth:`run` until *stop* is set."""

    def __init__(
        self,
        settings: ConsumerSettings,
        *,
        store: IssueWriter | None = None,
        dedup: EventClaims | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.monotonic,
        alerts: AlertConfig | None = None,
    ) -> None:
        """*alerts*: the rules whose alerts the flushes decide (none: no outbox writes);
        a given *store* is expected to apply the same rules."""
        self.settings = settings
        alerts = alerts or AlertConfig({}, [])
        self.metrics = metrics or Metrics()
        self._stop = threading.Event()
        dead_letters = DeadLetterQueue(
            settings.kafka_bootstrap, settings.dead_letter_topic, settings.group_id,
            settings.kafka_overrides(),
        )
        self._driver = KafkaDriver(settings)
        self._strategy = CountingStrategy(
            settings, self._driver,
            store=store or FirestoreStore(settings, alerts=alerts),
            claims=dedup or Dedup(settings.redis_url, settings.dedup_ttl, settings.store_timeout),
            quarantine=Quarantine(dead_letters, self.metrics, settings.store_timeout),
            metrics=self.metrics,
            clock=clock,
            wait=self._stopping,
            writes_per_issue=WRITES_PER_ISSUE + alert_writes_per_issue(alerts),
        )

    @property
    def partitions(self) -> list[int]:
        """Partitions assigned to this worker right now."""
        return self._strategy.partitions

    @property
    def pending(self) -> bool:
        """Whether anything consumed is not yet written to the store."""
        return self._strategy.pending

    def run(self, stop: threading.Event | None = None) -> None:
        """Consume until *stop* is set, then flush, commit and leave the group."""
        if stop is not None:
            self._stop = stop
        self._driver.subscribe(self._strategy)
        try:
            while not self._stop.is_set():
                self.step()
            self._strategy.finish()
        finally:
            try:
                self._driver.close()  # revokes the partitions: the strategy writes them
            finally:
                self._strategy.close()

    def step(self) -> None:
        """One turn: read what the strategy has room for, and hand it over."""
        timeout = self._strategy.poll_timeout()
        self._strategy.submit(self._driver.consume(timeout) if timeout is not None else [])

    def _stopping(self, seconds: float) -> bool:
        """Wait up to *seconds*; whether the worker is to stop (the event of :meth:`run`)."""
        return self._stop.wait(seconds)

    def flush(self) -> None:
        """Write everything pending now and wait for it."""
        self._strategy.flush()
