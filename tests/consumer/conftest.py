"""Fixtures for the consumer tests: settings on the real Redis, emulator and Kafka."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from afissue.services import FirestoreEmulator
from consumer.settings import ConsumerSettings
from tests.consumer.helpers import consumer_settings, firestore
from tests.kafka_helpers import KafkaBed


@pytest.fixture
def settings(
    kafka: KafkaBed, kafka_topic: str, redis_url: str, firestore_project: str,
    firestore_emulator: FirestoreEmulator,
) -> ConsumerSettings:
    """Consumer settings for this test's topic, Redis database and Firestore project."""
    kafka.create_topic(f"{kafka_topic}.dlq", 1)
    return consumer_settings(
        kafka.bootstrap, kafka_topic, redis_url, firestore_project, firestore_emulator.host_port
    )


@pytest.fixture
def db(settings: ConsumerSettings) -> Iterator[Any]:
    """A Firestore client on the test's project."""
    client = firestore(settings)
    yield client
    client.close()
