"""The alert outbox as the UI and the CLI read it, on the real Firestore emulator."""

from __future__ import annotations

from typing import Any

from issue_store.alerts import alert_view
from issue_store.reader import IssueReader
from tests.issue_store import seed


class TestAlertView:
    """alert_view()"""

    def test_summaries_and_delivery_states(self) -> None:
        """Each trigger reads as a sentence; each channel's state, tries and error are kept."""
        dead = {"state": "dead", "attempts": 8, "last_error": "HTTP 500"}
        view = alert_view(seed.alert("a", "regression", 2, 1, ops=dead))
        assert (view.summary, view.state, view.rule_names) == ("Regression #2", "pending", ["production"])
        (channel,) = view.channels
        assert (channel.channel, channel.state, channel.attempts, channel.last_error) == (
            "ops", "dead", 8, "HTTP 500")
        assert alert_view(seed.alert("a", "count", 3, 1)).summary == "Count passed 1,000"
        assert alert_view(seed.alert("a", "new", 0, 1)).summary == "New issue"
        velocity = seed.alert("a", "velocity", 1, 1)
        velocity["detail"] = {"events": 153, "minutes": 5}
        assert alert_view(velocity).summary == "Velocity: 153 events in 5 min"

    def test_missing_fields_still_read(self) -> None:
        """A document with missing or odd fields is shown, not an error."""
        view = alert_view({"channels": {"x": "nonsense", "y": {}}, "detail": 3}, "id-1")
        assert view.alert_id == "id-1" and view.summary == "?" and view.created_at is None
        assert [c.channel for c in view.channels] == ["y"]


class TestReaderAlerts:
    """IssueReader.alerts() and recent_alerts()"""

    def test_an_issues_alerts_newest_first(self, db: Any, reader: IssueReader) -> None:
        """Only the issue's alerts, newest first, at most *limit*."""
        seed.put_alert(db, seed.alert("a", "new", 0, 30))
        seed.put_alert(db, seed.alert("a", "count", 1, 20))
        seed.put_alert(db, seed.alert("a", "regression", 1, 10))
        seed.put_alert(db, seed.alert("b", "new", 0, 5))
        assert [v.alert_id for v in reader.alerts("a")] == [
            "a:regression:1", "a:count:1", "a:new:0"]
        assert [v.alert_id for v in reader.alerts("a", limit=1)] == ["a:regression:1"]
        assert reader.alerts("no/such") == []

    def test_recent_alerts_of_every_issue(self, db: Any, reader: IssueReader) -> None:
        """The recent alerts across issues, newest first."""
        seed.put_alert(db, seed.alert("a", "new", 0, 30))
        seed.put_alert(db, seed.alert("b", "new", 0, 5))
        assert [v.alert_id for v in reader.recent_alerts(10)] == ["b:new:0", "a:new:0"]

    def test_collection_is_configurable(self, db: Any) -> None:
        """The reader reads the outbox collection it is given (AFISSUE_ALERTS_COLLECTION)."""
        seed.put_alert(db, seed.alert("a", "new", 0, 3), collection="outbox")
        assert [v.alert_id for v in IssueReader(db, alerts_collection="outbox").alerts("a")] == ["a:new:0"]
