"""Status transitions caused by new occurrences."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from consumer.lifecycle import on_occurrence, status_entry
from consumer.settings import ConsumerSettings
from tests.consumer.helpers import make_event, produce, running, wait_counts

NOW = _dt.datetime(2026, 11, 26, 20, 0, tzinfo=_dt.UTC)


class TestOnOccurrence:
    """on_occurrence()"""

    def test_resolved_issue_regresses(self) -> None:
        """A resolved issue is reopened, with regressed_at and a history entry."""
        change = on_occurrence({"status": "resolved", "status_history": []}, NOW, 20)
        assert change is not None
        assert change.fields["status"] == "open"
        assert change.fields["regressed_at"] == NOW
        assert change.fields["status_history"][-1]["reason"] == "regression"

    def test_regressions_are_numbered(self) -> None:
        """Each reopening stores the issue's regression number, the id of its alert."""
        first = on_occurrence({"status": "resolved"}, NOW, 20)
        assert first is not None and first.fields["regressions"] == 1
        third = on_occurrence({"status": "resolved", "regressions": 2}, NOW, 20)
        assert third is not None and third.fields["regressions"] == 3

    def test_ignored_issue_stays_ignored(self) -> None:
        """An ignored issue keeps its status."""
        assert on_occurrence({"status": "ignored"}, NOW, 20) is None

    def test_open_issue_unchanged(self) -> None:
        """An open issue stays open without a new history entry."""
        assert on_occurrence({"status": "open"}, NOW, 20) is None

    def test_history_is_bounded(self) -> None:
        """The status history keeps only the most recent entries."""
        history = [status_entry("resolved", NOW, "user", str(i)) for i in range(5)]
        change = on_occurrence({"status": "resolved", "status_history": history}, NOW, 3)
        assert change is not None
        assert len(change.fields["status_history"]) == 3


class TestLifecycleInConsumer:
    """Status transitions applied by the running consumer on the real emulator."""

    def test_resolved_regresses_and_ignored_stays_ignored(
        self, settings: ConsumerSettings, db: Any
    ) -> None:
        """A new occurrence reopens a resolved issue and counts an ignored one without reopening."""
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [make_event("resolved-one"), make_event("ignored-one")])
        issues = db.collection(settings.firestore_collection)
        with running(settings) as worker:
            wait_counts(db, settings, {"resolved-one": 1, "ignored-one": 1})
            issues.document("resolved-one").update({"status": "resolved"})
            issues.document("ignored-one").update({"status": "ignored"})
            produce(settings.kafka_bootstrap, settings.kafka_topic,
                    [make_event("resolved-one"), make_event("ignored-one")])
            wait_counts(db, settings, {"resolved-one": 2, "ignored-one": 2})
            assert worker.metric("afissue_consumer_issues_regressed_total") == 1
        regressed = issues.document("resolved-one").get().to_dict()
        assert regressed["status"] == "open"
        assert regressed["regressed_at"] is not None
        assert regressed["status_history"][-1]["reason"] == "regression"
        assert issues.document("ignored-one").get().get("status") == "ignored"
