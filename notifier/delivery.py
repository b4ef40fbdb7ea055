"""What one delivery attempt does to a channel's entry of an outbox document (pure).

The outbox document (``alerting.outbox``) keeps, per channel, ``state`` ("pending" →
"delivered" | "dead"), ``attempts``, ``next_attempt_at``, ``last_error`` and
``delivered_at``. These functions compute the new entry; ``notifier.loop`` writes it.

Retries back off exponentially with full jitter (a random delay between 0 and
``initial * 2**(attempts-1)``, at most ``maximum``), never sooner than the receiver's
``Retry-After``; after ``max_attempts`` failed attempts the channel is "dead".
"""

from __future__ import annotations

import dataclasses
import datetime
import random
from collections.abc import Mapping
from typing import Any

from alerting.outbox import (
    CHANNEL_DEAD,
    CHANNEL_DELIVERED,
    CHANNEL_PENDING,
    STATE_DONE,
    STATE_PENDING,
)

__all__ = [
    "RetryPolicy",
    "deferred",
    "delivered",
    "document_state",
    "due_channels",
    "failed",
]

_ERROR_LIMIT = 500


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded, and a bounded number of attempts."""

    max_attempts: int = 15
    initial: float = 5.0
    maximum: float = 1800.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts={self.max_attempts}: expected >= 1")
        if not 0 < self.initial <= self.maximum:
            raise ValueError(
                f"initial={self.initial}, maximum={self.maximum}: expected 0 < initial <= maximum"
            )

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the *attempts*-th failed attempt (1 = the first)."""
        ceiling = min(self.maximum, self.initial * 2 ** min(max(attempts - 1, 0), 60))
        return (rng or random).uniform(0, ceiling)


def _attempts(entry: Mapping[str, Any]) -> int:
    try:
        return max(0, int(entry.get("attempts") or 0))
    except (TypeError, ValueError, OverflowError):
        return 0


def delivered(
    entry: Mapping[str, Any], now: datetime.datetime, via: str | None = None
) -> dict[str, Any]:
    """*entry* after a successful attempt; *via* names the digest that carried it."""
    result = {
        **entry,
        "state": CHANNEL_DELIVERED,
        "attempts": _attempts(entry) + 1,
        "delivered_at": now,
        "last_error": "",
    }
    if via is not None:
        result["via"] = via
    return result


def failed(
    entry: Mapping[str, Any],
    error: str,
    now: datetime.datetime,
    policy: RetryPolicy,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """*entry* after a failed attempt: due again after the backoff, or dead."""
    attempts = _attempts(entry) + 1
    result = {**entry, "attempts": attempts, "last_error": error[:_ERROR_LIMIT]}
    if attempts >= policy.max_attempts:
        result["state"] = CHANNEL_DEAD
        return result
    wait = max(policy.delay(attempts, rng), retry_after or 0.0)
    result["state"] = CHANNEL_PENDING
    result["next_attempt_at"] = now + datetime.timedelta(seconds=min(wait, policy.maximum))
    return result


def deferred(entry: Mapping[str, Any], until: datetime.datetime) -> dict[str, Any]:
    """*entry* held back by the rate limit until *until* (not an attempt)."""
    return {**entry, "state": CHANNEL_PENDING, "next_attempt_at": until, "held": True}


def _as_datetime(value: Any) -> datetime.datetime | None:
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    return None


def due_channels(document: Mapping[str, Any], now: datetime.datetime) -> list[str]:
    """The channels of *document* that are pending and due at *now* (sorted)."""
    channels = document.get("channels")
    if not isinstance(channels, Mapping):
        return []
    due = []
    for name, entry in channels.items():
        if not isinstance(entry, Mapping) or entry.get("state") != CHANNEL_PENDING:
            continue
        when = _as_datetime(entry.get("next_attempt_at"))
        if when is None or when <= now:
            due.append(str(name))
    return sorted(due)


def document_state(channels: Mapping[str, Any]) -> str:
    """"done" once every channel is delivered or dead, else "pending"."""
    finished = (CHANNEL_DELIVERED, CHANNEL_DEAD)
    if all(isinstance(e, Mapping) and e.get("state") in finished for e in channels.values()):
        return STATE_DONE
    return STATE_PENDING
