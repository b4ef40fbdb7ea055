"""Prometheus metrics of a running consumer, scraped over HTTP."""

from __future__ import annotations

import dataclasses
import threading
import urllib.request
from typing import Any

from afissue.services import free_port
from consumer import run_consumer
from consumer.settings import ConsumerSettings
from tests.consumer.helpers import make_event, produce, wait_counts, wait_for


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return -1.0


class TestMetrics:
    """The /metrics endpoint of ``run_consumer``."""

    def test_metrics_count_what_happened(self, settings: ConsumerSettings, db: Any) -> None:
        """Consumed, duplicates, created, writes, dead letters, lag and flush latency are exposed."""
        port = free_port()
        settings = dataclasses.replace(settings, metrics_port=port)
        retried = make_event("issue-a")
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [retried, make_event("issue-a"), make_event("issue-b"), retried])
        produce(settings.kafka_bootstrap, settings.kafka_topic, [b"garbage"], key=b"issue-a")
        stop = threading.Event()
        thread = threading.Thread(target=run_consumer, args=(settings, stop))
        thread.start()
        try:
            wait_counts(db, settings, {"issue-a": 2, "issue-b": 1})

            def scraped() -> str | None:
                text = _scrape(port)
                # Lag is 0 once the dead letter's checkpoint is written too.
                done = (_sample(text, "afissue_consumer_dead_letters_total") == 1
                        and _sample(text, "afissue_consumer_lag") == 0)
                return text if done else None

            text = wait_for(scraped, 30, "metrics")
        finally:
            stop.set()
            thread.join(30)
        assert _sample(text, "afissue_consumer_messages_consumed_total") == 5
        assert _sample(text, "afissue_consumer_duplicates_total") == 1
        assert _sample(text, "afissue_consumer_issues_created_total") == 2
        assert _sample(text, "afissue_consumer_issue_writes_total") >= 2
        assert _sample(text, "afissue_consumer_firestore_writes_total") >= 5
        assert _sample(text, "afissue_consumer_flush_seconds_count") >= 1
        assert _sample(text, "afissue_consumer_lag") == 0
