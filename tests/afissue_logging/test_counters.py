"""Counters: totals by reason, and the ledger of drops the API has not acknowledged."""

from __future__ import annotations

from afissue_logging._counters import Counters
from afissue_logging.wire import MAX_COUNT


class TestCounters:
    def test_drops_are_counted_by_reason_with_a_total(self) -> None:
        """stats' dropped map, its total, failures and internal errors."""
        counters = Counters()
        counters.drop("queue_full", 3)
        counters.drop("auth", 2)
        counters.drop("auth", 0)
        counters.fail("timeout")
        counters.internal()
        snapshot = counters.snapshot()
        assert snapshot["dropped"]["queue_full"] == 3
        assert snapshot["dropped"]["auth"] == 2
        assert snapshot["dropped_total"] == 5
        assert snapshot["failures"]["timeout"] == 1
        assert snapshot["internal_errors"] == 1

    def test_acknowledging_clears_only_what_was_carried(self) -> None:
        """Drops counted while a report was on the wire stay owed after its 2xx."""
        counters = Counters()
        counters.drop("queue_full", 5)
        carried = counters.unreported()
        counters.drop("queue_full", 2)
        counters.drop("rejected", 1)
        counters.acknowledge(carried)
        assert counters.unreported() == {"queue_full": 2, "rejected": 1}
        counters.acknowledge(counters.unreported())
        assert counters.unreported() == {}
        assert counters.snapshot()["dropped_total"] == 8

    def test_a_report_never_exceeds_the_wire_bound(self) -> None:
        """Each count carried is at most MAX_COUNT; the rest goes with a later request."""
        counters = Counters()
        counters.drop("queue_full", MAX_COUNT + 7)
        carried = counters.unreported()
        assert carried == {"queue_full": MAX_COUNT}
        counters.acknowledge(carried)
        assert counters.unreported() == {"queue_full": 7}
