"""IssueTrackerClient.log_issue: the seed's manual API, over real local HTTP."""

from __future__ import annotations

from afissue_logging import IssueTrackerClient
from tests.afissue_logging.capture_server import CaptureServer


class TestIssueTrackerClient:
    def test_log_issue_returns_the_event_id(self, capture: CaptureServer, spool_dir: str) -> None:
        """log_issue() returns the id of the event that arrives, with the seed fields."""
        client = IssueTrackerClient(url=capture.url, service="svc", spool_dir=spool_dir)
        event_id = client.log_issue(
            "Checkout broken", "500 on /pay", type="bug", priority="high", reporter_id="u1",
            customer="acme",
        )
        assert client.flush(10)
        (event,) = capture.events
        assert event["event_id"] == event_id
        assert event["title"] == "Checkout broken"
        assert event["description"] == "500 on /pay"
        assert event["type"] == "bug"
        assert event["priority"] == "high"
        assert event["reporter_id"] == "u1"
        assert event["extra"] == {"customer": "acme"}
        assert event["service"] == "svc"

    def test_manual_issues_are_not_aggregated(self, capture: CaptureServer, spool_dir: str) -> None:
        """Identical manual issues stay separate events, so every returned id is real."""
        client = IssueTrackerClient(url=capture.url, service="svc", spool_dir=spool_dir)
        ids = {client.log_issue("same", "same") for _ in range(3)}
        assert client.flush(10)
        assert {e["event_id"] for e in capture.events} == ids
        assert len({e["fingerprint"] for e in capture.events}) == 1
