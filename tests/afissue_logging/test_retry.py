"""RetryPolicy and Retry-After parsing."""

from __future__ import annotations

import email.utils

from afissue_logging._retry import RetryPolicy, parse_retry_after


class TestRetryPolicy:
    def test_backoff_grows_within_jitter_bounds(self) -> None:
        """Attempt n waits between half and all of base * 2**(n-1), capped at maximum."""
        policy = RetryPolicy(base=1.0, maximum=5.0, max_retries=3)
        for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (6, 5.0)):
            for _ in range(50):
                assert ceiling / 2 <= policy.delay(attempt) <= ceiling

    def test_retry_after_is_a_floor(self) -> None:
        """A server's Retry-After is never undercut by the jittered delay."""
        assert RetryPolicy(base=0.1).delay(1, retry_after=7.0) == 7.0

    def test_exhausted_after_max_retries(self) -> None:
        """A request is exhausted once it failed more than max_retries times."""
        policy = RetryPolicy(max_retries=2)
        assert not policy.exhausted(2)
        assert policy.exhausted(3)


class TestParseRetryAfter:
    def test_seconds_and_http_date(self) -> None:
        """Both delta-seconds and HTTP dates are understood; garbage is None."""
        assert parse_retry_after("12") == 12.0
        date = email.utils.formatdate(1_000_030.0, usegmt=True)
        assert parse_retry_after(date, now=1_000_000.0) == 30.0
        assert parse_retry_after("soon") is None
        assert parse_retry_after(None) is None

    def test_capped_and_not_negative(self) -> None:
        """Absurd values are capped at 300 s; past dates mean now."""
        assert parse_retry_after("100000") == 300.0
        assert parse_retry_after("-5") == 0.0
