"""Status transitions caused by new occurrences."""

from __future__ import annotations

import datetime as _dt

from consumer.lifecycle import on_occurrence, status_entry

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
