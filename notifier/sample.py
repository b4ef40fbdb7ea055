"""The sample alert ``afissue alerts test CHANNEL`` sends: a made-up issue, clearly marked
as a test, with an id of its own each time (a receiver that drops repeated ids still
shows every test)."""

from __future__ import annotations

import datetime
import uuid

from notifier.message import AlertMessage

__all__ = ["sample_message"]


def sample_message(channel: str, base_url: str) -> AlertMessage:
    """A test alert for *channel* linking to the issue list under *base_url*."""
    now = datetime.datetime.now(datetime.UTC)
    issue = {
        "title": "afissue test alert: this is what an alert looks like",
        "culprit": "afissue.alerts_test",
        "service": "afissue",
        "environment": "test",
        "level": "error",
        "release": None,
        "count": 1,
        "first_seen": now,
        "last_seen": now,
        "path": "/issues",
    }
    return AlertMessage(
        alert_id=f"test-{uuid.uuid4().hex[:12]}:test:0",
        channel=channel,
        trigger="test",
        n=0,
        issue=issue,
        detail={},
        rule_names=(),
        created_at=now.isoformat().replace("+00:00", "Z"),
        url=base_url.rstrip("/") + "/issues",
    )
