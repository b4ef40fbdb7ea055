"""Kafka faults: 503 with Retry-After in bounded time, and no acknowledgement without a write."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from afissue.services.kafka_mock import ApiKey, KafkaError
from ingest_service import IngestSettings
from ingest_service.publisher import KafkaPublisher
from tests.ingest_service.conftest import SEED_BODY
from tests.kafka_helpers import KafkaBed

URL = "/api/v1/issues"


@pytest.fixture
def quick(make_app: Any, settings: IngestSettings) -> FlaskClient:
    """An app that gives Kafka one second to confirm."""
    app: Flask = make_app(dataclasses.replace(settings, publish_timeout_s=1.0))
    return app.test_client()


def _event(n: int) -> dict[str, Any]:
    return {**SEED_BODY, "event_id": f"evt-{n}", "title": f"event {n}"}


def _post_until_accepted(client: FlaskClient, body: dict[str, Any], attempts: int = 20) -> int:
    """Post like a retrying client: until 202 (a fresh producer's first write can be slow)."""
    status = 0
    for _ in range(attempts):
        status = client.post(URL, json=body).status_code
        if status == 202:
            break
    return status


class TestKafkaDown:
    """Broker outages and request errors (librdkafka's mock cluster)."""

    def test_broker_down_is_503_with_retry_after(
        self, quick: FlaskClient, kafka: KafkaBed
    ) -> None:
        """With the broker down the request is answered 503 + Retry-After, naming Kafka."""
        mock = kafka.require_mock()
        assert _post_until_accepted(quick, _event(0)) == 202  # producer connected
        mock.broker_down(1)
        try:
            response = quick.post(URL, json=_event(1))
        finally:
            mock.broker_up(1)

        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) > 0
        assert response.get_json()["error"]["message"].startswith("Kafka unavailable")

    def test_produce_errors_are_503(self, quick: FlaskClient, kafka: KafkaBed) -> None:
        """Produce requests failing until the timeout make the request 503."""
        mock = kafka.require_mock()
        assert _post_until_accepted(quick, _event(0)) == 202
        mock.push_request_errors(ApiKey.PRODUCE, *([KafkaError.NOT_ENOUGH_REPLICAS] * 500))
        try:
            response = quick.post(URL, json=_event(1))
        finally:
            mock.clear_request_errors(ApiKey.PRODUCE)

        assert response.status_code == 503

    def test_nothing_acknowledged_is_missing_from_the_topic(
        self, quick: FlaskClient, kafka: KafkaBed, kafka_topic: str
    ) -> None:
        """Every event answered 202 across an outage is on the topic afterwards."""
        mock = kafka.require_mock()
        statuses: dict[str, int] = {}
        for n in range(3):
            statuses[f"evt-{n}"] = _post_until_accepted(quick, _event(n))
        mock.broker_down(1)
        try:
            for n in range(3, 5):
                statuses[f"evt-{n}"] = quick.post(URL, json=_event(n)).status_code
        finally:
            mock.broker_up(1)
        for n in range(5, 8):
            statuses[f"evt-{n}"] = _post_until_accepted(quick, _event(n))

        acknowledged = {eid for eid, status in statuses.items() if status == 202}
        assert {statuses["evt-3"], statuses["evt-4"]} == {503}
        on_topic = {
            json.loads(m.value())["event_id"]
            for m in kafka.read_all(kafka_topic, len(acknowledged))
        }
        assert acknowledged == {f"evt-{n}" for n in (0, 1, 2, 5, 6, 7)}
        assert acknowledged <= on_topic

    def test_batch_is_503_as_a_whole_when_kafka_is_down(
        self, quick: FlaskClient, kafka: KafkaBed
    ) -> None:
        """A batch is never partially acknowledged: Kafka down answers 503 for all of it."""
        mock = kafka.require_mock()
        assert _post_until_accepted(quick, _event(0)) == 202
        mock.broker_down(1)
        try:
            response = quick.post(URL, json={"events": [_event(1), _event(2)]})
        finally:
            mock.broker_up(1)

        assert response.status_code == 503

    def test_health_reports_kafka_down(self, quick: FlaskClient, kafka: KafkaBed) -> None:
        """/api/health and readiness turn 503 naming Kafka while the broker is down."""
        mock = kafka.require_mock()
        _post_until_accepted(quick, _event(0))
        mock.broker_down(1)
        try:
            health = quick.get("/api/health")
            ready = quick.get("/api/health/ready")
        finally:
            mock.broker_up(1)

        assert health.status_code == 503
        assert health.get_json()["dependencies"]["kafka"]["ok"] is False
        assert ready.status_code == 503


class TestKafkaPublisher:
    """The producer wrapper on its own."""

    def test_publish_returns_after_the_write(
        self, settings: IngestSettings, kafka: KafkaBed, kafka_topic: str
    ) -> None:
        """publish() returns once the messages are on the topic, keys included."""
        publisher = KafkaPublisher(settings)
        try:
            publisher.publish([("k1", b'{"a":1}'), ("k2", b'{"a":2}')])
        finally:
            publisher.close()

        messages = kafka.read_all(kafka_topic, 2)
        assert sorted((m.key(), m.value()) for m in messages) == [
            (b"k1", b'{"a":1}'),
            (b"k2", b'{"a":2}'),
        ]

    def test_linger_is_the_setting_and_short_by_default(self, settings: IngestSettings) -> None:
        """A single-event request waits out linger.ms for its report: 1 ms unless configured."""
        assert settings.kafka_linger_ms == IngestSettings().kafka_linger_ms == 1
        assert KafkaPublisher(settings)._config()["linger.ms"] == 1
        configured = dataclasses.replace(settings, kafka_linger_ms=20)
        assert KafkaPublisher(configured)._config()["linger.ms"] == 20

    def test_check_names_the_topic(self, settings: IngestSettings) -> None:
        """check() describes the topic and brokers it reached."""
        publisher = KafkaPublisher(settings)
        try:
            details = publisher.check(5.0)
        finally:
            publisher.close()

        assert details["topic"] == settings.kafka_topic
        assert details["partitions"] == 3
