"""Fixtures of the ingest tests: settings pointing at the real Redis and Kafka test bed,
an app built from them, and its test client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ingest_service import IngestSettings, create_app
from ingest_service.state import IngestState
from tests.kafka_helpers import KafkaBed

SEED_BODY = {
    "title": "Payment failed",
    "description": "Card declined for order 1234",
    "type": "bug",
    "priority": "medium",
    "reporter_id": "user-42",
}


@pytest.fixture
def settings(kafka: KafkaBed, kafka_topic: str, redis_url: str) -> IngestSettings:
    """Open settings (no tokens) on the test bed's Kafka topic and Redis."""
    return IngestSettings.from_env(
        {},
        kafka_bootstrap=kafka.bootstrap,
        kafka_topic=kafka_topic,
        redis_url=redis_url,
        allow_open=True,
        publish_timeout_s=5.0,
    )


@pytest.fixture
def make_app() -> Iterator[Any]:
    """Build apps from settings; their producers are flushed and closed afterwards."""
    apps: list[Flask] = []

    def build(settings: IngestSettings, ui_settings: Any = None, **config: Any) -> Flask:
        app = create_app({"TESTING": True, **config}, settings=settings, ui_settings=ui_settings)
        apps.append(app)
        return app

    yield build
    for app in apps:
        state: IngestState = app.extensions["afissue_ingest"]
        state.close()


@pytest.fixture
def app(make_app: Any, settings: IngestSettings) -> Flask:
    """The ingest app on the test bed, open (no tokens)."""
    built: Flask = make_app(settings)
    return built


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of :func:`app`."""
    return app.test_client()
