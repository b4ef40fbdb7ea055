"""The local service launchers start real servers that answer."""

from __future__ import annotations

import redis
from google.cloud import firestore

from afissue.services import FirestoreEmulator, RedisServer
from tests.kafka_helpers import KafkaBed


class TestRedisServer:
    def test_restart_keeps_the_port(self) -> None:
        """A stopped and restarted server answers on the same URL again."""
        server = RedisServer().start()
        try:
            url = server.url
            assert redis.Redis.from_url(url).ping()
            server.stop()
            server.start()
            assert server.url == url
            assert redis.Redis.from_url(url).ping()
        finally:
            server.stop()


class TestFirestoreEmulator:
    def test_documents_round_trip(
        self, firestore_emulator: FirestoreEmulator, firestore_project: str
    ) -> None:
        """A document written through the emulator reads back."""
        db = firestore.Client(project=firestore_project)
        db.collection("c").document("d").set({"n": 1})
        snapshot = db.collection("c").document("d").get()
        assert snapshot.to_dict() == {"n": 1}


class TestKafkaBed:
    def test_produced_message_reads_back(self, kafka: KafkaBed, kafka_topic: str) -> None:
        """A message produced to a fresh topic is read by a plain consumer."""
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": kafka.bootstrap})
        producer.produce(kafka_topic, b'{"a":1}', key=b"k")
        assert producer.flush(10) == 0
        [message] = kafka.read_all(kafka_topic, expected=1)
        assert message.value() == b'{"a":1}'
