"""Scale-out (SPEC section 1): two ingest servers and three consumers on one topic of
six partitions count exactly what one process would, and each issue document is
written about once a second at most, however hot the issue."""

from __future__ import annotations

import collections
import itertools
import random
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from afissue.services import FirestoreEmulator
from issue_store.client import firestore_client
from tests.consumer.helpers import assert_trends_match_counts
from tests.kafka_helpers import KafkaBed
from tests.pipeline import Pipeline, running_pipeline, wait_for

ISSUES = 24
EVENTS = 3000
RESEND_SHARE = 0.10
BATCH = 100
PACE = 0.15


def _names() -> list[str]:
    letters = "bcdfghjklm"
    return ["-".join(pair) for pair in itertools.product(letters, repeat=2)][:ISSUES]


@pytest.fixture
def scaled(
    kafka: KafkaBed, redis_url: str, firestore_emulator: FirestoreEmulator, firestore_project: str
) -> Iterator[Pipeline]:
    """Two ingest servers and three consumers over a six-partition topic."""
    topic = kafka.new_topic(partitions=6)
    kafka.create_topic(f"{topic}.dlq", 6)
    with running_pipeline(
        kafka_bootstrap=kafka.bootstrap,
        topic=topic,
        redis_url=redis_url,
        firestore_host=firestore_emulator.host_port,
        project=firestore_project,
        ingests=2,
        consumers=3,
    ) as pipeline:
        yield pipeline


class TestScaleOut:
    @pytest.mark.slow
    def test_counts_are_exact_and_documents_written_about_once_a_second(
        self, scaled: Pipeline
    ) -> None:
        """Counts equal the distinct events sent, hourly and daily trend buckets sum to
        them, and no document changes twice within a second."""
        pipeline = scaled
        urls = pipeline.urls
        rng = random.Random(7)
        names = _names()
        events = [
            {
                "event_id": uuid.uuid4().hex,
                "title": f"scale failure {rng.choice(names)}",
                "service": "scale",
                "level": "error",
            }
            for _ in range(EVENTS)
        ]
        expected = collections.Counter(str(e["title"]) for e in events)
        resent = rng.sample(events, int(EVENTS * RESEND_SHARE))
        stream = events + resent
        rng.shuffle(stream)

        db = firestore_client(pipeline.project, pipeline.env["FIRESTORE_EMULATOR_HOST"])
        writes: dict[str, list[float]] = collections.defaultdict(list)
        lock = threading.Lock()

        def on_change(_docs: Any, changes: Any, _read_time: Any) -> None:
            with lock:
                for change in changes:
                    document = change.document
                    writes[document.id].append(document.update_time.timestamp())

        watch = db.collection("issues").on_snapshot(on_change)
        try:
            for index in range(0, len(stream), BATCH):
                base = urls[(index // BATCH) % len(urls)]
                status, body = pipeline.post(
                    "/api/v1/issues", {"events": stream[index : index + BATCH]}, base=base
                )
                assert status == 202, body
                assert all(r["status"] == "accepted" for r in body["results"]), body
                time.sleep(PACE)  # a stream over several seconds, so hot issues span flush windows

            def counts() -> dict[str, int] | None:
                docs = {
                    str(s.get("title")): int(s.get("count", 0))
                    for s in (d.to_dict() or {} for d in db.collection("issues").stream())
                }
                return docs if sum(docs.values()) >= EVENTS else None

            assert wait_for(counts, timeout=180) is not None, pipeline.logs()
            final = counts()
        finally:
            watch.unsubscribe()
        assert final == dict(expected)
        assert assert_trends_match_counts(db.collection("issues")) == len(expected)
        with lock:
            busiest = max(
                max(sum(1 for u in times if t <= u < t + 1.0) for t in times)
                for times in writes.values()
            )
            observed = sum(len(times) for times in writes.values())
        assert observed >= ISSUES, writes
        assert busiest <= 2, (busiest, observed)
