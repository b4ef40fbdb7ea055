"""The Kafka → Redis → Firestore worker: exact, deduplicated issue counts.

``run_consumer(settings, stop)`` runs one member of the consumer group until *stop* is
set; ``python -m consumer`` does the same from the environment, stopping on SIGTERM/SIGINT.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from consumer.settings import ConsumerSettings

if TYPE_CHECKING:
    from alerting.rules import AlertConfig

__all__ = ["ConsumerSettings", "run_consumer"]


def run_consumer(
    settings: ConsumerSettings,
    stop: threading.Event | None = None,
    *,
    own_process: bool = False,
    alerts: AlertConfig | None = None,
) -> None:
    """Consume, deduplicate and store issues until *stop* is set; then flush, commit, leave.

    With *own_process* the caller's process is this consumer, so its garbage collector
    is set for throughput once start-up is done (``settings.gc_threshold``). *alerts*
    defaults to the rules the settings name (``consumer.settings.load_alert_rules``);
    an invalid rules file raises ``alerting.rules.RulesError`` before anything starts.
    """
    from consumer.runtime import tune_gc
    from consumer.settings import load_alert_rules
    from consumer.worker import Worker

    worker = Worker(settings, alerts=alerts if alerts is not None else load_alert_rules(settings))
    if settings.metrics_port:
        worker.metrics.serve(settings.metrics_port)
    if own_process:
        tune_gc(settings.gc_threshold)
    worker.run(stop or threading.Event())
