"""Prometheus metrics of one notifier replica (its own registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

__all__ = ["Metrics"]


class Metrics:
    """Counters and gauges named ``afissue_notifier_*``, labelled by channel."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.delivered = Counter(
            "afissue_notifier_delivered", "Alerts recorded delivered (alone or in a digest).",
            ["channel"], registry=r)
        self.failed = Counter(
            "afissue_notifier_failed_attempts", "Delivery attempts that failed (to be retried).",
            ["channel"], registry=r)
        self.dead = Counter(
            "afissue_notifier_dead", "Alerts given up after the last attempt (dead).",
            ["channel"], registry=r)
        self.digests = Counter(
            "afissue_notifier_digests", "Digest messages sent for rate-limited alerts.",
            ["channel"], registry=r)
        self.held = Counter(
            "afissue_notifier_held", "Alerts held for the next rate-limit window.",
            ["channel"], registry=r)
        self.passes = Counter(
            "afissue_notifier_passes", "Delivery passes run (a live replica keeps counting).",
            registry=r)
        self.last_pass = Gauge(
            "afissue_notifier_last_pass_timestamp", "Unix time the last pass finished.",
            registry=r)

    def value(self, name: str, **labels: str) -> float:
        """The current value of sample *name* (e.g. ``afissue_notifier_dead_total``)."""
        return self.registry.get_sample_value(name, labels or None) or 0.0

    def serve(self, port: int) -> None:
        """Expose ``/metrics`` on *port*."""
        start_http_server(port, registry=self.registry)
