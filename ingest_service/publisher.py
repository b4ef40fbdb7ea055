"""Publishing events to Kafka and waiting for the broker's confirmation.

One idempotent ``confluent_kafka.Producer`` per process, created on first use (so a
gunicorn worker creates its own after the fork). Requests produce asynchronously and
wait on their own delivery reports, which a background thread serves with ``poll()``;
librdkafka batches the writes of concurrent requests (``linger.ms``). A request gets
its answer within ``publish_timeout_s``: librdkafka's ``message.timeout.ms`` fails the
messages it could not write, and the wait itself is bounded too.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException, Producer

from ingest_service.errors import PublishError
from ingest_service.settings import IngestSettings

__all__ = ["EventPublisher", "KafkaPublisher"]

log = logging.getLogger(__name__)


class EventPublisher(Protocol):
    """Where accepted events go."""

    def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Write (key, value) *messages*; return once all are confirmed or raise PublishError."""

    def check(self, timeout: float) -> dict[str, Any]:
        """Health details; raises PublishError when the cluster cannot be reached."""

    def warm(self, timeout: float = 5.0) -> bool:
        """Connect ahead of the first request; False when Kafka is not reachable yet."""

    def close(self, timeout: float = 5.0) -> None:
        """Flush what is in flight and stop."""


class KafkaPublisher:
    """The real :class:`EventPublisher`: confluent-kafka, idempotent, acks=all."""

    def __init__(self, settings: IngestSettings) -> None:
        self.settings = settings
        self.topic = settings.kafka_topic
        self._lock = threading.Lock()
        self._producer: Any = None
        self._pid = 0
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    def _config(self) -> dict[str, Any]:
        timeout_ms = max(1, int(self.settings.publish_timeout_s * 1000))
        return {
            "bootstrap.servers": self.settings.kafka_bootstrap,
            "client.id": f"afissue-ingest-{os.getpid()}",
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": self.settings.kafka_compression,
            "linger.ms": self.settings.kafka_linger_ms,
            "socket.nagle.disable": True,  # requests wait on each round trip
            "message.timeout.ms": timeout_ms,
            "socket.connection.setup.timeout.ms": max(1000, timeout_ms),
            # Come back quickly after an outage: clients are retrying meanwhile.
            "reconnect.backoff.max.ms": 1000,
            "error_cb": self._on_error,
            "logger": logging.getLogger("ingest_service.librdkafka"),
        }

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            log.error("kafka producer fatal error, recreating it", extra={"error": err.str()})
            with self._lock:
                self._producer = None
        elif err.code() == KafkaError._ALL_BROKERS_DOWN:
            log.warning("kafka: all brokers down", extra={"error": err.str()})
        else:
            log.debug("kafka producer error", extra={"error": err.str()})

    def _get(self) -> Any:
        """This process's producer (a forked child never reuses its parent's)."""
        producer = self._producer
        if producer is not None and self._pid == os.getpid():
            return producer
        with self._lock:
            if self._producer is None or self._pid != os.getpid():
                try:
                    self._producer = Producer(self._config())
                except KafkaException as exc:
                    raise PublishError(f"cannot create Kafka producer: {exc}") from None
                self._pid = os.getpid()
                self._stop = threading.Event()
                self._poller = threading.Thread(
                    target=self._poll_loop,
                    args=(self._producer, self._stop),
                    name="afissue-kafka-poll",
                    daemon=True,
                )
                self._poller.start()
            return self._producer

    @staticmethod
    def _poll_loop(producer: Any, stop: threading.Event) -> None:
        while not stop.is_set():
            producer.poll(0.05)

    def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        if not messages:
            return
        producer = self._get()
        # Delivery reports land in a queue of this request's own: the poll thread calls
        # its put(err, msg) (C code, no Python frame; ``msg`` fills put's unused "block"
        # argument) and this thread waits in get(). The hot path runs no Python callback.
        reports: queue.SimpleQueue[KafkaError | None] = queue.SimpleQueue()
        report = reports.put
        topic = self.topic
        try:
            for key, value in messages:
                producer.produce(topic, value=value, key=key, on_delivery=report)
        except BufferError:
            raise PublishError("the Kafka producer queue is full") from None
        except KafkaException as exc:
            raise PublishError(f"Kafka refused the event: {exc}") from None
        # librdkafka fails undeliverable messages after message.timeout.ms; the extra
        # second only covers the report's trip back through the poll thread.
        deadline = time.monotonic() + self.settings.publish_timeout_s + 1.0
        for _ in range(len(messages)):
            try:
                err = reports.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise PublishError(
                    f"Kafka did not confirm within {self.settings.publish_timeout_s} s"
                ) from None
            if err is not None:
                raise PublishError(f"Kafka did not write the event: {err.str()}")

    def check(self, timeout: float) -> dict[str, Any]:
        producer = self._get()
        started = time.monotonic()
        try:
            metadata = producer.list_topics(topic=self.topic, timeout=timeout)
        except KafkaException as exc:
            raise PublishError(f"Kafka metadata request failed: {exc}") from None
        topic = metadata.topics.get(self.topic)
        if topic is None or topic.error is not None:
            reason = "missing" if topic is None else str(topic.error)
            raise PublishError(f"topic {self.topic!r} is not available: {reason}")
        if not metadata.brokers:
            raise PublishError("no Kafka broker is reachable")
        return {
            "topic": self.topic,
            "partitions": len(topic.partitions),
            "brokers": len(metadata.brokers),
            "latency_ms": round((time.monotonic() - started) * 1000, 1),
        }

    def warm(self, timeout: float = 5.0) -> bool:
        """Connect and fetch the topic's metadata now, so the first request is not slow."""
        try:
            self.check(timeout)
        except PublishError as exc:
            log.warning("kafka not reachable at startup", extra={"error": str(exc)})
            return False
        return True

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
            self._stop.set()
        if producer is not None and self._pid == os.getpid():
            producer.flush(timeout)
