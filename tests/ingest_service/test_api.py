"""POST /api/v1/issues: accepted events reach Kafka as plain JSON keyed by issue id."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from afissue_logging.fingerprint import compute_fingerprint, issue_id_for
from tests.ingest_service.conftest import SEED_BODY
from tests.kafka_helpers import KafkaBed


class TestSingleEvent:
    """One event per request."""

    def test_seed_body_is_published_as_plain_json_keyed_by_issue_id(
        self, client: FlaskClient, kafka: KafkaBed, kafka_topic: str
    ) -> None:
        """The seed's curl body is answered 202 and lands on the topic as readable JSON."""
        response = client.post("/api/v1/issues", json=SEED_BODY)

        assert response.status_code == 202
        body = response.get_json()
        assert body["status"] == "accepted"
        [message] = kafka.read_all(kafka_topic, 1)
        event = json.loads(message.value().decode("utf-8"))
        assert message.key().decode() == body["issue_id"] == event["issue_id"]
        assert event["event_id"] == body["id"]
        assert {k: event[k] for k in SEED_BODY} == SEED_BODY

    def test_server_fills_defaults_and_computes_the_issue_id(
        self, client: FlaskClient, kafka: KafkaBed, kafka_topic: str
    ) -> None:
        """Missing event id, timestamp, count, service and fingerprint are filled in."""
        client.post("/api/v1/issues", json=SEED_BODY)

        [message] = kafka.read_all(kafka_topic, 1)
        event = json.loads(message.value())
        assert len(event["event_id"]) == 32
        assert event["timestamp"] == event["received_at"]
        assert event["count"] == 1
        assert event["service"] == "default"
        assert event["wire_version"] == 1
        expected = compute_fingerprint({k: v for k, v in event.items() if k != "fingerprint"})
        assert event["fingerprint"] == expected
        assert event["issue_id"] == issue_id_for("default", expected)

    def test_client_event_id_and_fingerprint_are_kept(
        self, client: FlaskClient, kafka: KafkaBed, kafka_topic: str
    ) -> None:
        """A client's event id (retries depend on it) and fingerprint are not replaced."""
        body = {**SEED_BODY, "event_id": "abc123", "fingerprint": "fp-1", "service": "billing"}

        response = client.post("/api/v1/issues", json=body)

        assert response.get_json()["id"] == "abc123"
        assert response.get_json()["issue_id"] == issue_id_for("billing", "fp-1")
        [message] = kafka.read_all(kafka_topic, 1)
        assert json.loads(message.value())["event_id"] == "abc123"

    def test_answer_is_compact_json_with_the_ids(self, client: FlaskClient) -> None:
        """The 202 body (formatted by hand on this path) is what json.dumps writes."""
        body = {**SEED_BODY, "event_id": "evt:1.2-3", "fingerprint": "fp-2", "service": "billing"}

        response = client.post("/api/v1/issues", json=body)

        assert response.status_code == 202
        assert response.content_type == "application/json"
        expected = {"id": "evt:1.2-3", "issue_id": issue_id_for("billing", "fp-2"),
                    "status": "accepted"}
        assert response.data == json.dumps(expected, separators=(",", ":")).encode()

    def test_gzip_body_is_accepted(
        self, client: FlaskClient, kafka: KafkaBed, kafka_topic: str
    ) -> None:
        """``Content-Encoding: gzip`` bodies are decoded."""
        response = client.post(
            "/api/v1/issues",
            data=gzip.compress(json.dumps(SEED_BODY).encode()),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )

        assert response.status_code == 202
        assert len(kafka.read_all(kafka_topic, 1)) == 1


class TestBatch:
    """``{"events": [...]}`` requests."""

    def test_each_item_gets_a_result_and_bad_items_do_not_sink_good_ones(
        self, client: FlaskClient, kafka: KafkaBed, kafka_topic: str
    ) -> None:
        """A batch with one invalid item publishes the others and names the bad field."""
        events = [SEED_BODY, {"description": "no title"}, {**SEED_BODY, "title": "Other"}]

        response = client.post("/api/v1/issues", json={"events": events})

        assert response.status_code == 202
        results = response.get_json()["results"]
        assert [r["status"] for r in results] == ["accepted", "rejected", "accepted"]
        assert results[1]["index"] == 1
        assert results[1]["error"]["field"] == "events[1].title"
        messages = kafka.read_all(kafka_topic, 2)
        assert sorted(json.loads(m.value())["title"] for m in messages) == [
            "Other",
            "Payment failed",
        ]


class TestClientVocabulary:
    """Every type and priority the client sends by itself is in the API's vocabularies."""

    def test_log_issue_defaults_and_the_demo_are_accepted(
        self, client: FlaskClient, tmp_path: Path
    ) -> None:
        """log_issue()'s defaults (bug, medium) and the demo's high priority get 202."""
        from afissue_logging import IssueTrackerClient
        from afissue_logging.testing import CapturingTransport, reset

        transport = CapturingTransport()
        reporter = IssueTrackerClient(
            url="http://ingest.invalid", service="svc", spool_dir=str(tmp_path),
            transport=transport,
        )
        try:
            reporter.log_issue("Defaults", "d")
            reporter.log_issue("Demo", "d", type="bug", priority="high")
            assert reporter.flush(10)
        finally:
            reset()
        events = transport.events
        assert {(e["type"], e["priority"]) for e in events} == {("bug", "medium"), ("bug", "high")}
        for event in events:
            response = client.post("/api/v1/issues", json=event)
            assert response.status_code == 202, response.get_json()


def _client_dropped(client: FlaskClient) -> dict[tuple[str, str], float]:
    """``afissue_ingest_client_dropped_total`` by (service, reason), from /metrics."""
    pattern = re.compile(
        r'^afissue_ingest_client_dropped_total\{reason="([^"]*)",service="([^"]*)"\} (\S+)$'
    )
    found: dict[tuple[str, str], float] = {}
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if (match := pattern.match(line)) is not None:
            found[(match.group(2), match.group(1))] = float(match.group(3))
    return found


class TestDropReports:
    """A batch's ``dropped`` field: the client's drop counts by reason."""

    def test_counts_ride_with_events_and_are_counted_by_service_and_reason(
        self, client: FlaskClient, kafka: KafkaBed, kafka_topic: str
    ) -> None:
        """The events are published as usual; the counts go to the Prometheus counter."""
        body = {
            "events": [{**SEED_BODY, "service": "billing"}],
            "dropped": {"queue_full": 12, "rejected": 0},
        }

        response = client.post("/api/v1/issues", json=body)

        assert response.status_code == 202
        assert [r["status"] for r in response.get_json()["results"]] == ["accepted"]
        assert len(kafka.read_all(kafka_topic, 1)) == 1
        assert _client_dropped(client) == {("billing", "queue_full"): 12.0}

    def test_a_batch_of_drop_counts_alone_is_accepted(self, client: FlaskClient) -> None:
        """No events, only counts: 202 with no results; unknown reasons count as other."""
        body = {"events": [], "dropped": {"auth": 3, "a_future_reason": 2}}

        response = client.post("/api/v1/issues", json=body)

        assert response.status_code == 202
        assert response.get_json() == {"results": []}
        assert _client_dropped(client) == {("default", "auth"): 3.0, ("default", "other"): 2.0}

    @pytest.mark.parametrize(
        ("dropped", "message"),
        [
            ([1], "dropped must be an object of counts by reason, got list"),
            ({"queue full": 1}, "drop reason 'queue full' is not 1 to 128 printable ASCII"),
            ({"queue_full": -1}, "dropped['queue_full'] is -1; expected 0 to 1000000000"),
            ({"queue_full": 2**63}, "dropped['queue_full'] is 9223372036854775808; expected 0"),
            ({"queue_full": "12"}, "dropped['queue_full'] must be an integer, got str"),
            ({"queue_full": 1.5}, "dropped['queue_full'] must be an integer, got float"),
            ({"queue_full": True}, "dropped['queue_full'] must be an integer, got bool"),
            ({f"r{i}": 1 for i in range(33)}, "dropped names 33 reasons; at most 32 are allowed"),
        ],
    )
    def test_a_bad_report_is_refused_whole(
        self, client: FlaskClient, dropped: Any, message: str
    ) -> None:
        """A malformed ``dropped`` is a 422 naming the field and the rule; nothing counted."""
        response = client.post("/api/v1/issues", json={"events": [SEED_BODY], "dropped": dropped})

        assert response.status_code == 422
        error = response.get_json()["error"]
        assert error["field"] == "dropped"
        assert message in error["message"]
        assert _client_dropped(client) == {}

    def test_no_events_and_no_counts_is_an_empty_batch(self, client: FlaskClient) -> None:
        """``{"events": [], "dropped": {}}`` reports nothing: 422 on events."""
        response = client.post("/api/v1/issues", json={"events": [], "dropped": {}})

        assert response.status_code == 422
        assert response.get_json()["error"]["field"] == "events"
