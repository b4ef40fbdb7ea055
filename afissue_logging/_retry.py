"""Retry policy as an immutable value: exponential backoff with full jitter, ``Retry-After``."""

from __future__ import annotations

import dataclasses
import math
import random
import time

__all__ = ["Backoff", "RetryPolicy", "parse_retry_after"]

_MAX_RETRY_AFTER = 300.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        import email.utils  # deferred: only HTTP-date Retry-After values need it

        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How long to wait before attempt number *attempt* (1-based) of a failed request."""

    base: float = 0.5
    maximum: float = 60.0
    max_retries: int = 3

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Full-jitter exponential backoff, but never sooner than *retry_after*."""
        ceiling = min(self.maximum, self.base * (2 ** max(attempt - 1, 0)))
        delay = random.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def exhausted(self, attempt: int) -> bool:
        """Whether a request that failed *attempt* times should go to the spool."""
        return attempt > self.max_retries


class Backoff:
    """When the next request may go out: each failure in a row pushes it further away."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.failures = 0
        self.until = 0.0

    def fail(self, retry_after: float | None = None) -> None:
        """An exchange failed: wait the policy's delay (at least *retry_after*)."""
        self.failures += 1
        self.until = time.monotonic() + self.policy.delay(self.failures, retry_after)

    def reset(self) -> None:
        """An exchange succeeded: the next one may go out at once."""
        self.failures = 0
        self.until = 0.0

    def active(self) -> bool:
        """Whether requests must wait."""
        return time.monotonic() < self.until
