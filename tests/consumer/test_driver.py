"""The Kafka driver's consumer configuration, on the Kafka mock cluster."""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import Consumer, Producer

from consumer.driver import FETCH_QUEUE_BACKOFF_MS, kafka_config
from consumer.settings import ConsumerSettings
from tests.kafka_helpers import KafkaBed


def _longest_wait_reading(config: dict[str, Any], topic: str, count: int) -> float:
    """Read *count* messages as the worker does; the longest wait for a next message."""
    consumer = Consumer(config)
    consumer.subscribe([topic])
    seen, longest = 0, 0.0
    try:
        while seen < count and longest < 0.5:
            started = time.perf_counter()
            messages = consumer.consume(500, 0) or [m for m in [consumer.poll(5)] if m]
            if seen:
                longest = max(longest, time.perf_counter() - started)
            seen += sum(1 for m in messages if m.error() is None)
    finally:
        consumer.close()
    return longest


class TestKafkaConfig:
    """kafka_config()"""

    def test_backlog_is_read_without_fetch_backoff_stalls(
        self, kafka: KafkaBed, kafka_topic: str
    ) -> None:
        """A backlog bigger than the pre-fetch queue is read without idling (librdkafka's
        default fetch backoff can leave the read a second on an empty queue)."""
        producer = Producer({"bootstrap.servers": kafka.bootstrap, "batch.num.messages": 50,
                             "linger.ms": 100})
        for _ in range(1000):
            producer.produce(kafka_topic, b"x" * 200, partition=0)
        producer.flush(30)
        # A 16 KB queue makes 1,000 small messages a backlog, as ~64 MB is for real ones;
        # small fetches keep a real broker from returning the whole topic at once.
        config = kafka_config(ConsumerSettings(
            kafka_bootstrap=kafka.bootstrap, kafka_topic=kafka_topic,
            kafka_extra="queued.max.messages.kbytes=16,max.partition.fetch.bytes=16384",
        ))
        # Whether librdkafka's default backoff stalls this read depends on when the mock
        # broker's fetch responses land (CI saw no stall once), so the default is not a
        # baseline here; what we pin is that our setting is in the config and reads fast.
        assert config["fetch.queue.backoff.ms"] == FETCH_QUEUE_BACKOFF_MS
        ours = {**config, "group.id": f"{kafka_topic}.ours"}
        assert _longest_wait_reading(ours, kafka_topic, 1000) < 0.3
