"""Claiming outbox documents on the real Firestore emulator: one replica at a time."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from notifier.delivery import RetryPolicy, delivered, failed
from notifier.lease import Leases

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _leases(db: Any, owner: str, clock: list[datetime.datetime]) -> Leases:
    return Leases(db, "alerts", owner, lease_seconds=60, clock=lambda: clock[0])


class TestClaim:
    def test_one_owner_at_a_time(self, db: Any, write_alert: Callable[..., str]) -> None:
        """A leased document cannot be claimed by another replica until the lease expires."""
        alert = write_alert()
        clock = [T0]
        a, b = _leases(db, "a", clock), _leases(db, "b", clock)
        claimed = a.claim(alert)
        assert claimed is not None and claimed["lease"]["owner"] == "a"
        assert b.claim(alert) is None
        clock[0] = T0 + datetime.timedelta(seconds=61)
        taken = b.claim(alert)
        assert taken is not None and taken["lease"]["owner"] == "b"
        stored = db.collection("alerts").document(alert).get().to_dict()
        assert stored["lease"]["owner"] == "b"

    def test_done_or_missing_documents_are_not_claimed(
        self, db: Any, write_alert: Callable[..., str]
    ) -> None:
        """Only pending documents can be claimed."""
        alert = write_alert()
        db.collection("alerts").document(alert).update({"state": "done"})
        clock = [T0]
        assert _leases(db, "a", clock).claim(alert) is None
        assert _leases(db, "a", clock).claim("no-such-alert") is None


class TestFinish:
    def test_records_results_and_releases(self, db: Any, write_alert: Callable[..., str]) -> None:
        """finish() writes the channel entries, the document state and clears the lease."""
        alert = write_alert(channels=("ops", "team"))
        clock = [T0]
        leases = _leases(db, "a", clock)
        document = leases.claim(alert)
        assert document is not None
        results = {
            "ops": delivered(document["channels"]["ops"], T0),
            "team": failed(document["channels"]["team"], "down", T0, RetryPolicy(max_attempts=1)),
        }
        assert leases.finish(alert, results) == "done"
        stored = db.collection("alerts").document(alert).get().to_dict()
        assert stored["lease"] is None
        assert stored["channels"]["ops"]["state"] == "delivered"
        assert stored["channels"]["team"]["state"] == "dead"

    def test_a_slow_replica_keeps_only_its_deliveries(
        self, db: Any, write_alert: Callable[..., str]
    ) -> None:
        """After its lease was taken over, a replica's 'delivered' is kept but its failures
        do not overwrite the new owner's progress, and the new lease stays."""
        alert = write_alert(channels=("ops", "team"))
        clock = [T0]
        slow, fast = _leases(db, "slow", clock), _leases(db, "fast", clock)
        document = slow.claim(alert)
        assert document is not None
        clock[0] = T0 + datetime.timedelta(seconds=61)
        assert fast.claim(alert) is not None
        slow.finish(alert, {
            "ops": delivered(document["channels"]["ops"], T0),
            "team": failed(document["channels"]["team"], "slow failure", T0, RetryPolicy()),
        })
        stored = db.collection("alerts").document(alert).get().to_dict()
        assert stored["channels"]["ops"]["state"] == "delivered"
        assert stored["channels"]["team"]["attempts"] == 0
        assert stored["lease"]["owner"] == "fast"
        assert stored["state"] == "pending"
