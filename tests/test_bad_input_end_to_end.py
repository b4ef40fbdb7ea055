"""SPEC §5 invariant 7 and §7 end to end: whatever the OpenAPI document allows, posted to
the real ingest server, is counted in Firestore or dead-lettered, and the consumer
process keeps running (real gunicorn ingest, Kafka, ``afissue consumer``, emulator)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from afissue.services import FirestoreEmulator
from issue_store.client import firestore_client
from tests.kafka_helpers import KafkaBed
from tests.pipeline import Pipeline, wait_for


@pytest.fixture
def pipeline(
    kafka: KafkaBed, kafka_topic: str, redis_url: str, firestore_emulator: FirestoreEmulator,
    firestore_project: str,
) -> Iterator[Pipeline]:
    """Ingest (open, no rate limit) and one consumer process, as deployed."""
    kafka.create_topic(f"{kafka_topic}.dlq", 1)
    running = Pipeline(kafka_bootstrap=kafka.bootstrap, topic=kafka_topic, redis_url=redis_url,
                       firestore_host=firestore_emulator.host_port, project=firestore_project)
    running.env["AFISSUE_RATE_LIMIT"] = "0"
    try:
        running.start_ingest()
        running.start_consumer()
        yield running
    except BaseException:
        print(running.logs())
        raise
    finally:
        running.stop()


# The schema lets ``extra`` hold any JSON; the generator rarely reaches what Firestore
# refuses as it is, so half the events get such a map drawn here.
_keys = st.one_of(st.text(max_size=6), st.sampled_from(["", "__x__", "__name__"]))
_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
              st.integers(min_value=-(2**70), max_value=2**70)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=20,
)
_extras = st.one_of(st.none(), st.dictionaries(_keys, _values, min_size=1, max_size=4))


def _events(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict) and isinstance(body.get("events"), list):
        return [e for e in body["events"] if isinstance(e, dict)]
    return [body] if isinstance(body, dict) else []


class TestGeneratedEvents:
    """Events generated from ``/api/v1/openapi.json``."""

    def test_every_accepted_event_is_counted_or_dead_lettered(
        self, pipeline: Pipeline, kafka: KafkaBed, kafka_topic: str
    ) -> None:
        """Each 202 item ends in its issue's count or in the dead-letter topic; no answer
        is a 5xx; the consumer process is alive at the end. Event ids are left to ingest:
        the same generated id in two bodies would rightly count once (tested elsewhere)."""
        status, document = pipeline.get("/api/v1/openapi.json")
        assert status == 200
        operation = schemathesis.openapi.from_dict(document)["/api/v1/issues"]["POST"]
        accepted: Counter[str] = Counter()

        @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)
        @given(case=operation.as_strategy(), extra=_extras)
        def post(case: Any, extra: dict[str, Any] | None) -> None:
            for event in _events(case.body):
                event.pop("event_id", None)
                if extra is not None:
                    event["extra"] = extra
            response = case.call(base_url=pipeline.url)
            assert response.status_code < 500, response.text
            if response.status_code != 202:
                return
            answer = response.json()
            results = answer.get("results", [answer])
            events = _events(case.body)
            for index, result in enumerate(results):
                if result.get("status") == "accepted":
                    accepted[result["issue_id"]] += int(events[index].get("count", 1))

        post()
        assert sum(accepted.values()) >= 50, f"too few generated events accepted: {accepted}"
        db = firestore_client(pipeline.project, pipeline.env["FIRESTORE_EMULATOR_HOST"])
        settled: dict[str, Any] = {}

        def accounted() -> bool:
            counted = {s.id: s.get("count") for s in db.collection("issues").stream()}
            letters: Counter[str] = Counter()
            for message in kafka.read_all(f"{kafka_topic}.dlq", 1_000_000, timeout=2):
                event = json.loads(message.value())
                letters[event["issue_id"]] += int(event.get("count", 1))
            settled.update(counted=counted, letters=dict(letters))
            return all(counted.get(i, 0) + letters[i] == n for i, n in accepted.items())

        assert wait_for(accounted, timeout=120, interval=1.0), (
            f"accepted {dict(accepted)}; stored and dead-lettered {settled}\n{pipeline.logs()}")
        assert all(proc.poll() is None for proc in pipeline._procs), pipeline.logs()
