"""The grouping corpus through the real client: which occurrences share an issue.

Each scenario of :mod:`tests.afissue_logging.grouping_corpus` runs twice on a fresh
``IssueHandler`` / ``IssueProcessor`` pair capturing with ``CapturingTransport``: once
flushing after every step (one event per occurrence, so each step's fingerprint is
known) and once with all steps inside one aggregation window, where the storm fast
path must merge exactly the occurrences that the fingerprints merge.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import CapturingLogger

from afissue_logging import IssueHandler, IssueProcessor
from afissue_logging.testing import CapturingTransport, reset
from afissue_logging.wire import EventDict
from tests.afissue_logging.grouping_corpus import SCENARIOS, Env, Releases, Scenario


class _Client:
    """A handler on the ``shop`` loggers and a structlog logger, capturing what they send."""

    def __init__(self, spool_dir: str) -> None:
        reset()
        self.transport = CapturingTransport()
        options: dict[str, Any] = {
            "service": "corpus", "spool_dir": spool_dir, "transport": self.transport,
            "flush_interval": 30,
        }
        self.handler = IssueHandler(**options)
        self.processor = IssueProcessor(**options)
        self.shop = logging.getLogger("shop")
        self.shop.addHandler(self.handler)
        self.shop.setLevel(logging.ERROR)
        self.shop.propagate = False

    def env(self, releases: Releases) -> Env:
        slog = structlog.wrap_logger(
            CapturingLogger(), processors=[self.processor],
            wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        )
        return Env(logging.getLogger("shop.orders"), logging.getLogger("shop.billing"), slog,
                   releases)

    def flush(self) -> None:
        assert self.handler.flush(10)

    def close(self) -> None:
        self.shop.removeHandler(self.handler)
        self.shop.propagate = True
        reset()


@pytest.fixture
def client(spool_dir: str) -> Iterator[_Client]:
    made = _Client(spool_dir)
    yield made
    made.close()


def _one_event_per_step(
    scenario: Scenario, client: _Client, releases: Releases
) -> dict[str, EventDict]:
    env = client.env(releases)
    by_label: dict[str, EventDict] = {}
    for label, step in scenario.steps.items():
        step(env)
        client.flush()
        events = client.transport.events
        assert len(events) == len(by_label) + 1, f"step {label!r} sent {events[len(by_label):]}"
        by_label[label] = events[-1]
        assert by_label[label]["count"] == 1
    return by_label


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
class TestGroupingCorpus:
    def test_shares_and_splits_as_stated(
        self, scenario: Scenario, client: _Client, tmp_path: Path
    ) -> None:
        """Steps the scenario puts together share a fingerprint; steps it keeps apart
        do not (each occurrence sent in its own window)."""
        events = _one_event_per_step(scenario, client, Releases(tmp_path))
        titles = {label: event["title"] for label, event in events.items()}
        for labels in scenario.same:
            prints = {events[label]["fingerprint"] for label in labels}
            assert len(prints) == 1, f"{scenario.rule} {labels} must share an issue: {titles}"
        for first, second in scenario.apart:
            assert events[first]["fingerprint"] != events[second]["fingerprint"], (
                f"{scenario.rule} {first!r} and {second!r} must be two issues: {titles}"
            )

    def test_one_window_merges_exactly_what_the_fingerprints_merge(
        self, scenario: Scenario, client: _Client, spool_dir: str, tmp_path: Path
    ) -> None:
        """Logged back to back inside one window, the steps arrive as one event per
        fingerprint with the right counts: the storm key never merges more."""
        releases = Releases(tmp_path)
        expected = collections.Counter(
            event["fingerprint"]
            for event in _one_event_per_step(scenario, client, releases).values()
        )
        client.close()
        window = _Client(spool_dir)
        try:
            env = window.env(releases)
            for step in scenario.steps.values():
                step(env)
            window.flush()
            sent = collections.Counter[str]()
            for event in window.transport.events:
                sent[event["fingerprint"]] += event["count"]
            assert sent == expected
            assert len(window.transport.events) == len(expected)
        finally:
            window.close()


class TestCorpus:
    def test_at_least_thirty_scenarios_each_stating_an_expectation(self) -> None:
        """The corpus is large enough to matter and no scenario states nothing."""
        assert len(SCENARIOS) >= 30
        assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)
        for scenario in SCENARIOS:
            assert scenario.same or scenario.apart, scenario.name
            named = {label for group in scenario.same for label in group}
            named |= {label for pair in scenario.apart for label in pair}
            assert named <= set(scenario.steps), scenario.name
