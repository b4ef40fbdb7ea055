"""Redis and Firestore outages: back off, commit nothing, lose nothing, resume."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from afissue.services import FirestoreEmulator, RedisServer
from consumer.settings import ConsumerSettings
from consumer.store import FirestoreStore
from tests.consumer.helpers import (
    firestore,
    issue_counts,
    make_event,
    produce,
    running,
    wait_counts,
    wait_for,
)


@pytest.fixture
def private_emulator() -> Iterator[FirestoreEmulator]:
    """An emulator of this test's own, to stop and start (a restart empties it)."""
    with FirestoreEmulator() as emulator:
        yield emulator


class TestRedisOutage:
    """Redis stopped and restarted under a running consumer."""

    def test_counts_exact_across_redis_restart(
        self, settings: ConsumerSettings, db: Any, redis_server: RedisServer
    ) -> None:
        """Events arriving while Redis is down are counted once Redis is back, none twice."""
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [make_event("issue-a") for _ in range(10)])
        with running(settings) as worker:
            wait_counts(db, settings, {"issue-a": 10})
            redis_server.stop()
            try:
                retried = make_event("issue-b", count=2)
                produce(settings.kafka_bootstrap, settings.kafka_topic,
                        [retried, *[make_event("issue-a") for _ in range(7)], retried])
                wait_for(lambda: worker.metric("afissue_consumer_outage_retries_total",
                                               dependency="redis") >= 2, 60, "a Redis outage")
                assert issue_counts(db, settings) == {"issue-a": 10}
            finally:
                redis_server.start()
            wait_counts(db, settings, {"issue-a": 17, "issue-b": 2})


class TestFirestoreOutage:
    """The Firestore emulator stopped and restarted under a running consumer."""

    def test_counts_exact_across_emulator_restart(
        self, settings: ConsumerSettings, private_emulator: FirestoreEmulator
    ) -> None:
        """Nothing is written or committed while Firestore is down; all of it lands after."""
        settings = dataclasses.replace(
            settings, firestore_emulator_host=private_emulator.host_port, store_timeout=2.0
        )
        with running(settings) as worker:
            wait_for(lambda: len(worker.assigned) == 3, 60, "partition assignment")
            private_emulator.stop()  # before any flush: the restart starts empty anyway
            try:
                events = [make_event(f"issue-{i % 4}", count=1 + i % 2) for i in range(40)]
                produce(settings.kafka_bootstrap, settings.kafka_topic, events)
                wait_for(lambda: worker.metric("afissue_consumer_outage_retries_total",
                                               dependency="firestore") >= 2, 60,
                         "a Firestore outage")
                assert worker.metric("afissue_consumer_flushes_total") == 0
            finally:
                private_emulator.start()
            client = firestore(settings)
            expected: dict[str, int] = {}
            for event in events:
                expected[event["issue_id"]] = expected.get(event["issue_id"], 0) + event["count"]
            wait_counts(client, settings, expected)
            store = FirestoreStore(settings)
            assert sum(c.next_offset or 0 for c in store.read_checkpoints(
                settings.kafka_topic, range(3))) == 40
            store.close()
            client.close()
