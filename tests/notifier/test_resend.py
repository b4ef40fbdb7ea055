"""Re-sending dead alerts on the emulator: dead channels pending again, then delivered."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from notifier.delivery import RetryPolicy, delivered, document_state, failed
from notifier.resend import dead_alert_ids, resend

NOW = datetime.datetime.now(datetime.UTC)


def _kill(db: Any, alert: str, channels: dict[str, str]) -> None:
    """Mark *channels* of *alert* delivered or dead, as the notifier records them."""
    ref = db.collection("alerts").document(alert)
    entries = ref.get().to_dict()["channels"]
    for name, outcome in channels.items():
        entries[name] = (
            delivered(entries[name], NOW) if outcome == "delivered"
            else failed(entries[name], "HTTP 500", NOW, RetryPolicy(max_attempts=1))
        )
    ref.update({"channels": entries, "state": document_state(entries)})


class TestResend:
    def test_dead_channels_become_pending_with_fresh_attempts(
        self, db: Any, write_alert: Callable[..., str]
    ) -> None:
        """Only the dead channel is re-queued; the alert is pending again."""
        alert = write_alert(channels=("ops", "team"))
        _kill(db, alert, {"ops": "delivered", "team": "dead"})
        assert resend(db, "alerts", [alert], NOW) == {alert: ["team"]}
        stored = db.collection("alerts").document(alert).get().to_dict()
        assert stored["state"] == "pending"
        assert stored["channels"]["team"]["state"] == "pending"
        assert stored["channels"]["team"]["attempts"] == 0
        assert stored["channels"]["ops"]["state"] == "delivered"

    def test_finds_the_recent_alerts_with_a_dead_channel(
        self, db: Any, write_alert: Callable[..., str]
    ) -> None:
        """dead_alert_ids lists done alerts with a dead channel, not delivered or old ones."""
        dead = write_alert(issue="dead")
        fine = write_alert(issue="fine")
        old = write_alert(issue="old", created_at=NOW - datetime.timedelta(days=3))
        _kill(db, dead, {"ops": "dead"})
        _kill(db, fine, {"ops": "delivered"})
        _kill(db, old, {"ops": "dead"})
        since = NOW - datetime.timedelta(hours=24)
        assert dead_alert_ids(db, "alerts", since) == [dead]

    def test_an_alert_with_nothing_dead_is_left_alone(
        self, db: Any, write_alert: Callable[..., str]
    ) -> None:
        """A pending or missing alert is not touched."""
        alert = write_alert()
        assert resend(db, "alerts", [alert, "missing"], NOW) == {alert: [], "missing": []}
