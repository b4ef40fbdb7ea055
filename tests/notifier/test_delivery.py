"""A delivery attempt's effect on a channel entry: delivered, retried with backoff, dead."""

from __future__ import annotations

import datetime
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.delivery import (
    RetryPolicy,
    deferred,
    delivered,
    document_state,
    due_channels,
    failed,
)
from tests.notifier.conftest import outbox_document

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


class TestRetryPolicy:
    @given(st.integers(1, 10_000), st.integers(0, 2**32))
    def test_full_jitter_within_the_exponential_bound(self, attempts: int, seed: int) -> None:
        """The delay lies in [0, min(maximum, initial * 2**(attempts-1))]."""
        policy = RetryPolicy(max_attempts=8, initial=2.0, maximum=300.0)
        delay = policy.delay(attempts, random.Random(seed))
        assert 0 <= delay <= min(300.0, 2.0 * 2 ** min(attempts - 1, 60))

    def test_delays_spread(self) -> None:
        """Jitter: many replicas retrying the same attempt do not wait the same time."""
        policy = RetryPolicy()
        rng = random.Random(1)
        assert len({round(policy.delay(4, rng), 3) for _ in range(50)}) > 40

    @pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"initial": 0}, {"initial": 9, "maximum": 1}])
    def test_unusable_values_are_refused(self, kwargs: dict[str, float]) -> None:
        """Zero attempts, a zero first delay or a first delay above the maximum raise."""
        with pytest.raises(ValueError, match="expected"):
            RetryPolicy(**kwargs)  # type: ignore[arg-type]


class TestFailed:
    def test_dead_after_max_attempts(self) -> None:
        """The max_attempts-th failure makes the channel dead, keeping the last error."""
        policy = RetryPolicy(max_attempts=3, initial=1, maximum=10)
        entry = outbox_document()["channels"]["ops"]
        for attempt in range(1, 4):
            entry = failed(entry, f"HTTP 500 #{attempt}", NOW, policy)
            assert entry["attempts"] == attempt
        assert entry["state"] == "dead"
        assert entry["last_error"] == "HTTP 500 #3"

    def test_retry_after_is_honoured(self) -> None:
        """A receiver's Retry-After delays the next attempt at least that long (up to the max)."""
        policy = RetryPolicy(max_attempts=5, initial=1, maximum=600)
        entry = failed(outbox_document()["channels"]["ops"], "429", NOW, policy, retry_after=120)
        assert entry["state"] == "pending"
        assert entry["next_attempt_at"] >= NOW + datetime.timedelta(seconds=120)


class TestStates:
    def test_due_channels(self) -> None:
        """Only pending channels whose next attempt has come are due."""
        document = outbox_document(channels=("a", "b", "c", "d"), created_at=NOW)
        later = NOW + datetime.timedelta(minutes=1)
        document["channels"]["b"] = delivered(document["channels"]["b"], NOW)
        document["channels"]["c"] = deferred(document["channels"]["c"], later)
        assert due_channels(document, NOW) == ["a", "d"]
        assert due_channels(document, later) == ["a", "c", "d"]

    def test_done_when_every_channel_is_delivered_or_dead(self) -> None:
        """The document is done only once no channel is pending."""
        channels = outbox_document(channels=("a", "b"))["channels"]
        policy = RetryPolicy(max_attempts=1)
        channels["a"] = delivered(channels["a"], NOW)
        assert document_state(channels) == "pending"
        channels["b"] = failed(channels["b"], "down", NOW, policy)
        assert document_state(channels) == "done"
