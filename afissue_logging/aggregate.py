"""Storm aggregation: identical fingerprints inside one flush window become one event.

The first occurrence in the window is kept in full; later ones only add to its ``count``,
so a storm of N identical errors costs one event with ``count: N`` and counts stay exact.
"""

from __future__ import annotations

from typing import Any

from afissue_logging.wire import EventDict

__all__ = ["Aggregator"]


class Aggregator:
    """One flush window: events by fingerprint, plus the raw keys already seen in it."""

    def __init__(self) -> None:
        self._events: dict[str, EventDict] = {}
        self._raw: dict[tuple[Any, ...], str] = {}

    def __len__(self) -> int:
        """Distinct events in the window."""
        return len(self._events)

    def bump_raw(self, raw_key: tuple[Any, ...] | None, count: int = 1) -> bool:
        """Count *count* more occurrences of an already-built raw key; False if not seen."""
        if raw_key is None:
            return False
        fingerprint = self._raw.get(raw_key)
        if fingerprint is None:
            return False
        self._events[fingerprint]["count"] += count
        return True

    def add(
        self, event: EventDict, raw_key: tuple[Any, ...] | None = None, aggregate: bool = True
    ) -> bool:
        """Add *event*; True if it merged into an existing one (an aggregated occurrence).

        With *aggregate* False the event is kept apart (its event id matters to a caller).
        """
        fingerprint = event["fingerprint"] if aggregate else "id:" + event["event_id"]
        count = event.get("count", 1)
        if raw_key is not None and len(self._raw) < 10_000:
            self._raw[raw_key] = fingerprint
        existing = self._events.get(fingerprint)
        if existing is None:
            self._events[fingerprint] = event
            return False
        existing["count"] = existing.get("count", 1) + count
        return True

    def snapshot(self) -> list[EventDict]:
        """The window's events so far, without emptying it."""
        return list(self._events.values())

    def drain(self) -> list[EventDict]:
        """The window's events, oldest first; the window starts empty again."""
        events = list(self._events.values())
        self._events = {}
        self._raw = {}
        return events
