"""The Kafka → Redis → Firestore worker: exact, deduplicated issue counts.

``run_consumer(settings, stop)`` runs one member of the consumer group until *stop* is
set; ``python -m consumer`` does the same from the environment, stopping on SIGTERM/SIGINT.
"""

from __future__ import annotations

import threading

from consumer.settings import ConsumerSettings

__all__ = ["ConsumerSettings", "run_consumer"]


def run_consumer(settings: ConsumerSettings, stop: threading.Event | None = None) -> None:
    """Consume, deduplicate and store issues until *stop* is set; then flush, commit, leave."""
    from consumer.worker import Worker

    worker = Worker(settings)
    if settings.metrics_port:
        worker.metrics.serve(settings.metrics_port)
    worker.run(stop or threading.Event())
