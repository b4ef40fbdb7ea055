"""The consumer end to end on real Kafka (mock cluster), Redis and the Firestore emulator."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from consumer.settings import ConsumerSettings
from tests.consumer.helpers import (
    BASE_TIME,
    make_event,
    produce,
    running,
    wait_counts,
    wait_for,
)


class TestCounting:
    """Occurrences become one document per issue with exact counts."""

    def test_same_issue_becomes_one_document_with_summed_counts(
        self, settings: ConsumerSettings, db: Any
    ) -> None:
        """N events of one issue, some aggregated by the client, make one document counting all."""
        events = [make_event("issue-a", count=1 + i % 3) for i in range(30)]
        produce(settings.kafka_bootstrap, settings.kafka_topic, events)
        with running(settings):
            wait_counts(db, settings, {"issue-a": sum(e["count"] for e in events)})

    def test_two_issues_make_two_documents(self, settings: ConsumerSettings, db: Any) -> None:
        """Events of two issues land in two documents."""
        events = [make_event("issue-a"), make_event("issue-b"), make_event("issue-a")]
        produce(settings.kafka_bootstrap, settings.kafka_topic, events)
        with running(settings):
            wait_counts(db, settings, {"issue-a": 2, "issue-b": 1})

    def test_same_event_id_twice_is_counted_once(
        self, settings: ConsumerSettings, db: Any
    ) -> None:
        """A client retry (same event id, new record) is not counted again."""
        retried = make_event("issue-a", count=4)
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [retried, make_event("issue-a"), retried])
        with running(settings) as worker:
            wait_counts(db, settings, {"issue-a": 5})
            wait_for(lambda: worker.metric("afissue_consumer_duplicates_total") == 1)

    def test_first_and_last_seen_are_min_and_max_out_of_order(
        self, settings: ConsumerSettings, db: Any
    ) -> None:
        """Occurrence times arriving out of order still give min/max first/last seen."""
        times = [BASE_TIME + 50, BASE_TIME + 10, BASE_TIME + 90, BASE_TIME + 30]
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [make_event("issue-a", at=t, message=f"at {t}") for t in times[:2]])
        with running(settings):
            wait_counts(db, settings, {"issue-a": 2})
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [make_event("issue-a", at=t, message=f"at {t}") for t in times[2:]])
        with running(settings):
            wait_counts(db, settings, {"issue-a": 4})
        doc = db.collection(settings.firestore_collection).document("issue-a").get().to_dict()
        assert doc["first_seen"].timestamp() == pytest.approx(min(times))
        assert doc["last_seen"].timestamp() == pytest.approx(max(times))
        assert doc["latest"]["message"] == f"at {max(times)}"

    def test_created_issue_is_logged_once(
        self, settings: ConsumerSettings, db: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        """``Created issue {id} from Kafka`` is logged once per new issue, not per flush."""
        caplog.set_level(logging.INFO, logger="consumer")
        produce(settings.kafka_bootstrap, settings.kafka_topic, [make_event("issue-a")])
        with running(settings):
            wait_counts(db, settings, {"issue-a": 1})
            produce(settings.kafka_bootstrap, settings.kafka_topic, [make_event("issue-a")])
            wait_counts(db, settings, {"issue-a": 2})
        created = [r for r in caplog.records if r.getMessage() == "Created issue issue-a from Kafka"]
        assert len(created) == 1
