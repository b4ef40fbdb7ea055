"""Aggregator: identical fingerprints in one window become one event with an exact count."""

from __future__ import annotations

from afissue_logging.aggregate import Aggregator
from afissue_logging.wire import EventDict


def _event(fingerprint: str, event_id: str, count: int = 1) -> EventDict:
    return {"fingerprint": fingerprint, "event_id": event_id, "count": count}


class TestAggregator:
    def test_same_fingerprint_merges_counts(self) -> None:
        """The first event is kept and later ones add their counts to it."""
        agg = Aggregator()
        assert agg.add(_event("a", "1")) is False
        assert agg.add(_event("a", "2", count=4)) is True
        agg.add(_event("b", "3"))
        events = agg.drain()
        assert [(e["event_id"], e["count"]) for e in events] == [("1", 5), ("3", 1)]
        assert agg.drain() == []

    def test_raw_key_bump_counts_without_an_event(self) -> None:
        """A raw key seen in the window is counted by bump_raw; unknown keys are not."""
        agg = Aggregator()
        assert agg.bump_raw(("k",)) is False
        agg.add(_event("a", "1"), raw_key=("k",))
        assert agg.bump_raw(("k",)) is True
        assert agg.bump_raw(None) is False
        assert agg.drain()[0]["count"] == 2
        assert agg.bump_raw(("k",)) is False

    def test_raw_key_bump_by_a_coalesced_count(self) -> None:
        """A snapshot a full queue coalesced adds all its occurrences at once."""
        agg = Aggregator()
        agg.add(_event("a", "1"), raw_key=("k",))
        assert agg.bump_raw(("k",), 41) is True
        assert agg.drain()[0]["count"] == 42

    def test_unaggregated_events_stay_apart(self) -> None:
        """With aggregate=False equal fingerprints keep separate events (manual issues)."""
        agg = Aggregator()
        agg.add(_event("a", "1"), aggregate=False)
        agg.add(_event("a", "2"), aggregate=False)
        assert len(agg.drain()) == 2
