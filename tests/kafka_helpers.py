"""Kafka test bed used by the fixtures: topic creation and reading a topic back with a
generic consumer, on the mock cluster or on a real broker alike."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from afissue.services.kafka_mock import MockCluster


class KafkaBed:
    """Where the tests' Kafka lives, and what it can do."""

    def __init__(self, bootstrap: str, mock: MockCluster | None) -> None:
        self.bootstrap = bootstrap
        self.mock = mock

    @classmethod
    def from_environment(cls, real_bootstrap: str | None) -> KafkaBed:
        if real_bootstrap:
            return cls(real_bootstrap, None)
        mock = MockCluster(num_brokers=1)
        return cls(mock.bootstrap_servers, mock)

    def require_mock(self) -> MockCluster:
        """The mock cluster, for fault injection; skips on a real broker."""
        if self.mock is None:
            pytest.skip("fault injection needs librdkafka's mock cluster")
        return self.mock

    def new_topic(self, partitions: int = 3, prefix: str = "alphafusion.issues.test") -> str:
        name = f"{prefix}.{uuid.uuid4().hex[:10]}"
        self.create_topic(name, partitions)
        return name

    def create_topic(self, name: str, partitions: int) -> None:
        if self.mock is not None:
            self.mock.create_topic(name, partitions)
            return
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        for future in admin.create_topics([NewTopic(name, partitions, 1)]).values():
            future.result(30)

    def read_all(self, topic: str, expected: int, timeout: float = 30.0) -> list[Any]:
        """Read at least *expected* messages of *topic* from the beginning, as a plain
        consumer would (no afissue code involved)."""
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"reader-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        consumer.subscribe([topic])
        messages: list[Any] = []
        deadline = time.monotonic() + timeout
        try:
            while len(messages) < expected and time.monotonic() < deadline:
                msg = consumer.poll(0.5)
                if msg is None or msg.error():
                    continue
                messages.append(msg)
        finally:
            consumer.close()
        return messages

    def end_offsets(self, topic: str, partitions: int) -> list[int]:
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "offsets-probe"})
        try:
            return [
                consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in range(partitions)
            ]
        finally:
            consumer.close()

    def close(self) -> None:
        if self.mock is not None:
            self.mock.close()
            self.mock = None
