"""Faults that arrive in the data, on the running consumer (real Kafka, Redis, emulator):
each costs at most its own dead letters, never the consumer or its partition."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import time
from typing import Any

import pytest

from afissue_logging import wire
from consumer.settings import ConsumerSettings
from tests.consumer.helpers import (
    BASE_TIME,
    make_event,
    produce,
    running,
    wait_counts,
    wait_for,
)
from tests.kafka_helpers import KafkaBed


def _doc(db: Any, settings: ConsumerSettings, issue_id: str) -> dict[str, Any]:
    snapshot = db.collection(settings.firestore_collection).document(issue_id).get()
    return snapshot.to_dict() if snapshot.exists else {}


class TestValuesFirestoreRefuses:
    """Values Firestore cannot store as they are."""

    def test_list_of_lists_reserved_keys_and_huge_ints_are_stored_safely(
        self, settings: ConsumerSettings, db: Any
    ) -> None:
        """A matrix in ``extra`` (the outside trial's crash), reserved and empty keys and an
        integer past int64 are counted, stored readably, and the consumer keeps going."""
        extra = {"weights": [[0.1, 0.2], [0.3, 0.4]], "": 1, "__meta__": {"__x__": 2},
                 "big": 2**70}
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [make_event("issue-a", extra=extra), make_event("issue-b")])
        with running(settings) as worker:
            wait_counts(db, settings, {"issue-a": 1, "issue-b": 1})
            produce(settings.kafka_bootstrap, settings.kafka_topic, [make_event("issue-b")])
            wait_counts(db, settings, {"issue-a": 1, "issue-b": 2})
            assert worker.metric("afissue_consumer_dead_letters_total",
                                 reason="firestore_rejected") == 0
        stored = _doc(db, settings, "issue-a")["latest"]["context"]["extra"]
        assert stored["weights"] == ["[0.1, 0.2]", "[0.3, 0.4]"]
        assert stored["~"] == 1 and stored["~__meta__"] == {"~__x__": 2}
        assert stored["big"] == str(2**70)


class TestRefusedFlush:
    """A flush Firestore refuses because of one issue's data."""

    def test_refused_issue_is_dead_lettered_and_the_others_are_written(
        self, settings: ConsumerSettings, db: Any, kafka: KafkaBed,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """With the safety rule switched off (a value nobody foresaw), Firestore refuses
        one issue: its events go to the dead-letter topic with the reason, the issues
        flushed with it and after it are counted exactly, and the consumer lives."""
        monkeypatch.setattr(wire, "firestore_safe", lambda value, *_: value)
        poisoned = [make_event("issue-bad", extra={"m": [[1, 2]]}) for _ in range(3)]
        good = [make_event(issue) for issue in ("issue-a", "issue-b", "issue-c") * 4]
        # One key, so all share a partition (and one flush) with the refused issue.
        for event in [*good[:6], *poisoned, *good[6:]]:
            produce(settings.kafka_bootstrap, settings.kafka_topic, [json.dumps(event).encode()],
                    key=b"one-partition")
        with running(settings) as worker:
            wait_counts(db, settings, {"issue-a": 4, "issue-b": 4, "issue-c": 4})
            letters = kafka.read_all(settings.dead_letter_topic, 3)
            wait_for(lambda: worker.metric("afissue_consumer_dead_letters_total",
                                           reason="firestore_rejected") == 3,
                     what="three dead letters")
            produce(settings.kafka_bootstrap, settings.kafka_topic, [make_event("issue-a")])
            wait_counts(db, settings, {"issue-a": 5, "issue-b": 4, "issue-c": 4})
        assert sorted(json.loads(m.value())["event_id"] for m in letters) == sorted(
            e["event_id"] for e in poisoned)
        headers = dict(letters[0].headers())
        assert headers["afissue-dlq-reason"] == b"firestore_rejected"
        assert b"array" in headers["afissue-dlq-detail"]
        assert list(db.collection(f"{settings.firestore_collection}_probes").stream()) == []


class TestRecordsTooLargeForTheDeadLetterTopic:
    """Dead letters the dead-letter producer cannot send whole."""

    def test_a_truncated_copy_is_dead_lettered_and_the_partition_flows(
        self, settings: ConsumerSettings, db: Any, kafka: KafkaBed
    ) -> None:
        """A record over the producer's message.max.bytes is dead-lettered as a truncated
        copy naming its size; the events behind it are counted."""
        small = dataclasses.replace(settings, kafka_extra="message.max.bytes=200000")
        huge = b'{"title": "' + b"x" * 600_000 + b'"}'
        produce(small.kafka_bootstrap, small.kafka_topic, [huge], key=b"issue-a")
        produce(small.kafka_bootstrap, small.kafka_topic, [make_event("issue-a"), make_event("issue-a")])
        with running(small):
            wait_counts(db, small, {"issue-a": 2})
        letters = kafka.read_all(small.dead_letter_topic, 1)
        assert len(letters) == 1
        headers = dict(letters[0].headers())
        assert headers["afissue-dlq-reason"] == b"too_large"
        assert headers["afissue-dlq-truncated"] == str(len(huge)).encode()
        assert letters[0].value() == huge[: 64 * 1024]


class TestEventIdsPerService:
    """Event-id dedup scope."""

    def test_two_services_with_one_event_id_are_both_counted(
        self, settings: ConsumerSettings, db: Any
    ) -> None:
        """Event ids are the clients' choice: the same id from two services is two events,
        while a retry within one service still counts once."""
        shared = "0" * 32
        produce(settings.kafka_bootstrap, settings.kafka_topic, [
            make_event("issue-a", event_id=shared, service="pricing"),
            make_event("issue-b", event_id=shared, service="risk"),
            make_event("issue-b", event_id=shared, service="risk"),  # a client retry
        ])
        with running(settings):
            wait_counts(db, settings, {"issue-a": 1, "issue-b": 1})
            time.sleep(1.5)  # a second flush window: nothing more arrives
        assert _doc(db, settings, "issue-b")["count"] == 1


class TestWrongClocks:
    """One client with a wrong clock."""

    @pytest.mark.parametrize("bad", ["9999-12-31T23:59:59.000000Z", "0001-01-01T00:00:00.000000Z"])
    def test_issue_keeps_moving_after_an_occurrence_from_a_wrong_clock(
        self, settings: ConsumerSettings, db: Any, bad: str
    ) -> None:
        """An occurrence dated far from its receive time is counted at that receive time
        (its own time kept as ``client_timestamp``): first_seen, last_seen, the title and
        the latest occurrence go on following the occurrences after it."""
        now = time.time()
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [make_event("issue-a", at=now - 5, message="before"),
                 make_event("issue-a", timestamp=bad, message="wrong clock")])
        with running(settings):
            wait_counts(db, settings, {"issue-a": 2})
            produce(settings.kafka_bootstrap, settings.kafka_topic,
                    [make_event("issue-a", at=time.time() + 1, message="after",
                                title="ValueError: after")])
            wait_counts(db, settings, {"issue-a": 3})
        doc = _doc(db, settings, "issue-a")
        assert doc["first_seen"].timestamp() == pytest.approx(now - 5, abs=1)
        assert doc["last_seen"].timestamp() == pytest.approx(now + 1, abs=5)
        assert doc["latest"]["message"] == "after"
        assert doc["title"] == "ValueError: after"
        assert abs(doc["last_seen"] - _dt.datetime.now(_dt.UTC)) < _dt.timedelta(minutes=1)
        assert doc["first_seen"].timestamp() > BASE_TIME
