"""Prometheus /metrics."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.ingest_service.conftest import SEED_BODY


def _value(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in metrics")


class TestMetrics:
    """What /metrics counts."""

    def test_accepted_events_requests_and_latency_are_counted(self, client: FlaskClient) -> None:
        """Accepted events, requests by status and publish latency show up."""
        client.post("/api/v1/issues", json={"events": [SEED_BODY, SEED_BODY]})
        client.post("/api/v1/issues", json={"nope": 1})

        text = client.get("/metrics").get_data(as_text=True)

        assert _value(text, "afissue_ingest_events_accepted_total") == 2
        assert _value(text, "afissue_ingest_publish_seconds_count") == 1
        assert (
            'afissue_ingest_requests_total{endpoint="/api/v1/issues",method="POST",status="422"} 1.0'
            in text
        )
        assert (
            'afissue_ingest_requests_total{endpoint="/api/v1/issues",method="POST",status="202"} 1.0'
            in text
        )
