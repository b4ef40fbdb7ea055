"""Prometheus metrics of the ingest service, served at ``/metrics``.

Each app has its own registry (so tests can build many apps). Under gunicorn with
several workers, ``serve()`` points prometheus-client's multiprocess mode at a shared
directory so that ``/metrics`` sums every worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

from afissue_logging import wire

__all__ = ["IngestMetrics", "init_app"]

bp = Blueprint("metrics", __name__)


class IngestMetrics:
    """The service's counters and histograms, in one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "afissue_ingest_requests",
            "HTTP requests by endpoint and status.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.events_accepted = Counter(
            "afissue_ingest_events_accepted", "Events confirmed by Kafka.", registry=self.registry
        )
        self.events_rejected = Counter(
            "afissue_ingest_events_rejected",
            "Events refused, by HTTP status of the refusal.",
            ["status"],
            registry=self.registry,
        )
        self.publish_latency = Histogram(
            "afissue_ingest_publish_seconds",
            "Time from produce to Kafka's delivery report, per request.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.publish_failures = Counter(
            "afissue_ingest_publish_failures",
            "Requests answered 503 because Kafka did not confirm.",
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "afissue_ingest_rate_limited", "Requests refused with 429.", registry=self.registry
        )
        self.client_dropped = Counter(
            "afissue_ingest_client_dropped",
            "Occurrences clients report they dropped, by service and reason "
            "(reasons this version does not know are counted as 'other').",
            ["service", "reason"],
            registry=self.registry,
        )
        self._request_children: dict[tuple[str, str, int], Any] = {}
        self.redis_errors = Counter(
            "afissue_ingest_redis_errors",
            "Redis failures tolerated (rate limit skipped, recent list not updated).",
            ["operation"],
            registry=self.registry,
        )

    def count_request(self, endpoint: str, method: str, status: int) -> None:
        """One request answered; label children are cached (labels() is not free)."""
        key = (endpoint, method, status)
        child = self._request_children.get(key)
        if child is None:
            child = self.requests.labels(endpoint, method, str(status))
            self._request_children[key] = child
        child.inc()


    def count_client_drops(self, service: str, dropped: Mapping[str, int]) -> None:
        """Count a batch's drop report. Unknown reasons become "other", so a client cannot
        grow the label set without bound."""
        for reason, count in dropped.items():
            if count > 0:
                label = reason if reason in _KNOWN_DROP_REASONS else "other"
                self.client_dropped.labels(service, label).inc(count)


_KNOWN_DROP_REASONS = frozenset(wire.DROP_REASONS)


def _exposition_registry(metrics: IngestMetrics) -> CollectorRegistry:
    shared_dir = current_app.config.get("PROMETHEUS_MULTIPROC_DIR")
    if shared_dir:
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry, path=shared_dir)  # type: ignore[no-untyped-call]
        return registry
    return metrics.registry


@bp.get("/metrics")
def metrics_view() -> Response:
    """Prometheus text exposition."""
    metrics: IngestMetrics = current_app.extensions["afissue_metrics"]
    return Response(generate_latest(_exposition_registry(metrics)), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask, metrics: IngestMetrics) -> None:
    """Register ``/metrics`` and the per-request counter."""
    app.extensions["afissue_metrics"] = metrics

    @app.after_request
    def _count_request(response: Response) -> Response:
        # Runs on every request: *metrics* from the closure, not from current_app.
        rule = request.url_rule
        endpoint = rule.rule if rule is not None else "unmatched"
        metrics.count_request(endpoint, request.method, response.status_code)
        return response

    app.register_blueprint(bp)
