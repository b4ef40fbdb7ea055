"""ConsumerSettings from the environment."""

from __future__ import annotations

import dataclasses

import pytest

from afissue_logging.config import describe
from consumer.settings import ConsumerSettings


class TestConsumerSettings:
    """ConsumerSettings"""

    def test_defaults(self) -> None:
        """Defaults match the documented fixed names."""
        settings = ConsumerSettings.from_env({})
        assert settings.kafka_topic == "alphafusion.issues"
        assert settings.firestore_collection == "issues"
        assert settings.dead_letter_topic == "alphafusion.issues.dlq"
        assert settings.checkpoint_collection == "issues_checkpoints"
        assert settings.flush_interval == 1.0

    def test_environment_and_overrides(self) -> None:
        """Variables are parsed by type and explicit overrides win."""
        settings = ConsumerSettings.from_env(
            {"AFISSUE_KAFKA_TOPIC": "t", "AFISSUE_CONSUMER_FLUSH_INTERVAL": "0.25",
             "FIRESTORE_EMULATOR_HOST": "127.0.0.1:8080"},
            group_id="g",
        )
        assert (settings.kafka_topic, settings.flush_interval, settings.group_id) == ("t", 0.25, "g")
        assert settings.firestore_emulator_host == "127.0.0.1:8080"

    def test_every_field_documented(self) -> None:
        """Every field has an environment variable and a description."""
        rows = describe(ConsumerSettings)
        assert len(rows) == len(dataclasses.fields(ConsumerSettings))
        assert all(row.doc and row.env for row in rows)

    def test_batch_bound_keeps_writes_within_firestore_limit(self) -> None:
        """A batch bound that could exceed 500 writes is refused, naming the value."""
        with pytest.raises(ValueError, match="max_batch_issues=300"):
            ConsumerSettings(max_batch_issues=300)

    def test_negative_gc_threshold_refused(self) -> None:
        """A negative garbage-collection threshold is refused, naming the value."""
        with pytest.raises(ValueError, match="gc_threshold=-1"):
            ConsumerSettings(gc_threshold=-1)

    def test_extra_kafka_config(self) -> None:
        """Extra librdkafka properties are parsed from key=value pairs."""
        settings = ConsumerSettings(kafka_extra="fetch.wait.max.ms=10, client.id=x")
        assert settings.kafka_overrides() == {"fetch.wait.max.ms": "10", "client.id": "x"}
