"""``afissue dlq list`` shows what the consumer parked and why; ``afissue dlq replay``
sends dead letters back once, and counts stay exact when copies are replayed."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Producer

from afissue.services import FirestoreEmulator
from afissue_logging.fingerprint import issue_id_for
from afissue_logging.wire import encode_event, format_timestamp
from issue_store.client import firestore_client
from tests.kafka_helpers import KafkaBed
from tests.pipeline import Pipeline, running_pipeline, wait_for


@pytest.fixture
def consumer_pipeline(
    kafka: KafkaBed,
    kafka_topic: str,
    redis_url: str,
    firestore_emulator: FirestoreEmulator,
    firestore_project: str,
) -> Iterator[Pipeline]:
    """One consumer process on a fresh topic and its dead-letter topic."""
    kafka.create_topic(f"{kafka_topic}.dlq", 3)
    with running_pipeline(
        kafka_bootstrap=kafka.bootstrap,
        topic=kafka_topic,
        redis_url=redis_url,
        firestore_host=firestore_emulator.host_port,
        project=firestore_project,
        ingests=0,
    ) as pipeline:
        yield pipeline


def _afissue(pipeline: Pipeline, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "afissue", *args],
        env=pipeline.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _event(title: str) -> dict[str, object]:
    fingerprint = uuid.uuid4().hex
    return {
        "event_id": uuid.uuid4().hex,
        "issue_id": issue_id_for("svc", fingerprint),
        "service": "svc",
        "fingerprint": fingerprint,
        "title": title,
        "count": 1,
        "timestamp": format_timestamp(1_795_000_000.0),
        "received_at": format_timestamp(1_795_000_000.0),
        "wire_version": 1,
    }


class TestDlqList:
    def test_lists_what_the_consumer_parked_with_its_reason(
        self, consumer_pipeline: Pipeline, kafka: KafkaBed, kafka_topic: str
    ) -> None:
        """An undecodable message ends on the DLQ and `dlq list` names the reason."""
        producer = Producer({"bootstrap.servers": kafka.bootstrap})
        producer.produce(kafka_topic, b"\xff not json", key=b"k")
        assert producer.flush(10) == 0

        def listed() -> list[dict[str, object]]:
            return list(json.loads(_afissue(consumer_pipeline, "dlq", "list", "--json")))

        rows = wait_for(listed, timeout=60)
        assert rows, consumer_pipeline.logs()
        assert rows[0]["reason"] == "undecodable"
        assert str(rows[0]["source"]).startswith(f"{kafka_topic}:")


class TestDlqReplay:
    def test_replays_once_and_counts_duplicate_copies_once(
        self, consumer_pipeline: Pipeline, kafka: KafkaBed, kafka_topic: str
    ) -> None:
        """Two copies of one parked event are replayed and counted once (plus a later event of
        the same issue); a second replay finds nothing left."""
        event = _event("parked by an older consumer")
        producer = Producer({"bootstrap.servers": kafka.bootstrap})
        for _ in range(2):
            producer.produce(
                f"{kafka_topic}.dlq",
                encode_event(event),
                key=str(event["issue_id"]).encode(),
                headers=[("afissue-dlq-reason", b"store_rejected")],
            )
        assert producer.flush(10) == 0

        assert "would replay 2 dead letters" in _afissue(
            consumer_pipeline, "dlq", "replay", "--dry-run"
        )
        assert "replayed 2 dead letters" in _afissue(consumer_pipeline, "dlq", "replay")
        assert "replayed 0 dead letters" in _afissue(consumer_pipeline, "dlq", "replay")

        sentinel = {
            **event,
            "event_id": uuid.uuid4().hex,
            "timestamp": format_timestamp(1_795_000_100.0),
        }
        producer.produce(kafka_topic, encode_event(sentinel), key=str(event["issue_id"]).encode())
        assert producer.flush(10) == 0

        db = firestore_client(
            consumer_pipeline.project, consumer_pipeline.env["FIRESTORE_EMULATOR_HOST"]
        )
        document = db.collection("issues").document(str(event["issue_id"]))

        def after_sentinel() -> dict[str, object] | None:
            doc = document.get().to_dict() or {}
            latest = doc.get("latest") or {}
            return (
                doc
                if isinstance(latest, dict) and latest.get("event_id") == sentinel["event_id"]
                else None
            )

        doc = wait_for(after_sentinel, timeout=60)
        assert doc is not None, consumer_pipeline.logs()
        assert doc["count"] == 2
