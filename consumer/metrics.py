"""Prometheus metrics of one consumer (its own registry, so several can share a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

__all__ = ["Metrics"]


class Metrics:
    """Counters and gauges named ``afissue_consumer_*``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.consumed = Counter(
            "afissue_consumer_messages_consumed", "Kafka messages read.", registry=r)
        self.occurrences = Counter(
            "afissue_consumer_occurrences_counted", "Occurrences counted (sum of event counts).",
            registry=r)
        self.duplicates = Counter(
            "afissue_consumer_duplicates", "Records skipped as copies of an event already seen.",
            registry=r)
        self.redeliveries = Counter(
            "afissue_consumer_redeliveries", "Records delivered again before their flush.",
            registry=r)
        self.created = Counter(
            "afissue_consumer_issues_created", "Issue documents created.", registry=r)
        self.regressed = Counter(
            "afissue_consumer_issues_regressed", "Resolved issues reopened by a new occurrence.",
            registry=r)
        self.alerts = Counter(
            "afissue_consumer_alerts_decided", "Alerts written to the outbox by a flush.",
            registry=r)
        self.issue_writes = Counter(
            "afissue_consumer_issue_writes", "Issue documents written (one per issue per flush).",
            registry=r)
        self.writes = Counter(
            "afissue_consumer_firestore_writes",
            "Firestore document writes (issues, occurrences, checkpoints).", registry=r)
        self.flushes = Counter(
            "afissue_consumer_flushes", "Partition flushes committed to Firestore.", registry=r)
        self.fenced = Counter(
            "afissue_consumer_fenced_flushes",
            "Flushes dropped because another consumer checkpointed the partition first.",
            registry=r)
        self.dead_letters = Counter(
            "afissue_consumer_dead_letters", "Messages sent to the dead-letter topic.",
            ["reason"], registry=r)
        self.outages = Counter(
            "afissue_consumer_outage_retries", "Retries while a dependency was unavailable.",
            ["dependency"], registry=r)
        self.lag = Gauge(
            "afissue_consumer_lag", "Messages behind the partition's high watermark.",
            ["partition"], registry=r)
        self.flush_seconds = Histogram(
            "afissue_consumer_flush_seconds", "Latency of one partition flush.", registry=r)

    def value(self, name: str, **labels: str) -> float:
        """The current value of sample *name* (e.g. ``afissue_consumer_duplicates_total``)."""
        return self.registry.get_sample_value(name, labels or None) or 0.0

    def serve(self, port: int) -> None:
        """Expose ``/metrics`` on *port*."""
        start_http_server(port, registry=self.registry)
