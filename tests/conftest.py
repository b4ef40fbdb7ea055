"""Fixtures that start the real components: redis-server, the Firestore emulator, and a
Kafka-protocol broker (librdkafka's mock cluster, or a real broker named by
``AFISSUE_TEST_KAFKA_BOOTSTRAP``). Session-scoped processes, per-test isolation:
Redis is flushed, every test gets its own Firestore project id and its own topic."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from afissue.services import FirestoreEmulator, RedisServer
from tests.kafka_helpers import KafkaBed
from tests.pipeline import Pipeline, running_pipeline


@pytest.fixture(scope="session", autouse=True)
def _private_spool_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Clients created by tests spool under a temporary directory, never the user's cache."""
    previous = os.environ.get("AFISSUE_SPOOL_DIR")
    os.environ["AFISSUE_SPOOL_DIR"] = str(tmp_path_factory.mktemp("spool"))
    yield
    if previous is None:
        os.environ.pop("AFISSUE_SPOOL_DIR", None)
    else:
        os.environ["AFISSUE_SPOOL_DIR"] = previous


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for the whole run (stop()/start() it to simulate an outage)."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of an empty Redis database."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture(scope="session")
def firestore_emulator() -> Iterator[FirestoreEmulator]:
    """One Firestore emulator for the run; google-cloud-firestore finds it by env var."""
    with FirestoreEmulator() as emulator:
        previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
        os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host_port
        yield emulator
        if previous is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous


@pytest.fixture
def firestore_project(firestore_emulator: FirestoreEmulator) -> str:
    """A fresh, empty Firestore project id on the emulator."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def kafka() -> Iterator[KafkaBed]:
    """The Kafka test bed: the mock cluster, or a real broker when
    ``AFISSUE_TEST_KAFKA_BOOTSTRAP`` is set (fault injection then skips)."""
    bed = KafkaBed.from_environment(os.environ.get("AFISSUE_TEST_KAFKA_BOOTSTRAP"))
    yield bed
    bed.close()


@pytest.fixture
def kafka_topic(kafka: KafkaBed) -> str:
    """A fresh topic with 3 partitions."""
    return kafka.new_topic(partitions=3)


@pytest.fixture
def pipeline(
    monkeypatch: pytest.MonkeyPatch,
    kafka: KafkaBed,
    kafka_topic: str,
    redis_url: str,
    firestore_emulator: FirestoreEmulator,
    firestore_project: str,
) -> Iterator[Pipeline]:
    """Ingest (its web UI open, as under ``afissue dev``) and one consumer (a test module may
    define its own ``pipeline``)."""
    monkeypatch.setenv("AFISSUE_UI_OPEN", "1")
    with running_pipeline(
        kafka_bootstrap=kafka.bootstrap,
        topic=kafka_topic,
        redis_url=redis_url,
        firestore_host=firestore_emulator.host_port,
        project=firestore_project,
    ) as running:
        yield running
