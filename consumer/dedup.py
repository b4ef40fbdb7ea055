"""Event-id markers in Redis: tell a new event, a redelivery of itself, and a duplicate apart.

The marker ``afissue:evt:{service} {event_id}`` stores the Kafka position (``topic:partition:offset``)
of the first record that carried the event id. A record at *that* position is the same
record delivered again (after a crash or rebalance, before its counts were flushed), so
it is counted; a record at any other position is a second copy — a client retry or a
record duplicated in the log — and is skipped. Event ids are chosen by clients, so the
marker is scoped by service: two services that happen to pick the same id are both
counted. (A service name holds no space, so the key is unambiguous.)
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any, Protocol

import redis

from consumer.errors import DedupUnavailable

__all__ = ["Dedup", "EventClaims", "Verdict", "claim_id", "marker_key"]

# For each event id, in order: SET its marker to the position unless it exists, and
# return the previous value ('' where it was new); atomic, one round trip per batch.
# Ids, positions and previous values travel as one newline-joined string each: packing
# 500 keys and values one by one cost redis-py more than the claims cost Redis. Neither
# contains a newline (event ids are checked for it, Kafka topic names are
# [a-zA-Z0-9._-]). The keys are built here, so the script needs a Redis that is not a
# cluster (as before: 500 keys of one call span many slots). SET ... NX GET needs Redis 7.
_CLAIM = """
local prefix, ttl = ARGV[3], ARGV[4]
local positions = {}
for position in string.gmatch(ARGV[2], '[^\\n]+') do
  positions[#positions + 1] = position
end
local previous = {}
for event_id in string.gmatch(ARGV[1], '[^\\n]+') do
  local i = #previous + 1
  previous[i] = redis.call('SET', prefix .. event_id, positions[i], 'NX', 'EX', ttl, 'GET') or ''
end
return table.concat(previous, '\\n')
"""

#: Redis key of an event id's marker: this prefix and the id.
MARKER_PREFIX = "afissue:evt:"


class Verdict(enum.Enum):
    """What one record is, with respect to its event id."""

    NEW = "new"
    REDELIVERY = "redelivery"
    DUPLICATE = "duplicate"

    @property
    def counts(self) -> bool:
        """Whether the record's occurrences are to be counted."""
        return self is not Verdict.DUPLICATE


def claim_id(service: str, event_id: str) -> str:
    """What is claimed for *service*'s *event_id*: the marker key without its prefix."""
    return f"{service} {event_id}"


def marker_key(service: str, event_id: str) -> str:
    """The Redis key of *service*'s *event_id* marker."""
    return MARKER_PREFIX + claim_id(service, event_id)


class EventClaims(Protocol):
    """What the counting strategy needs of dedup: claim event ids, a batch at a time."""

    def classify(self, claims: Sequence[tuple[str, str]]) -> list[Verdict]:
        """Each ``(claim_id, position)``'s verdict, in order; ``DedupUnavailable`` on outage."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class Dedup:
    """Claims event ids in Redis, a batch at a time (one round trip per batch): :class:`EventClaims`."""

    def __init__(self, url: str, ttl_seconds: int, timeout: float = 5.0) -> None:
        self._redis: redis.Redis[bytes] = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._ttl = ttl_seconds
        self._claim: Any = self._redis.register_script(_CLAIM)

    def classify(self, claims: Sequence[tuple[str, str]]) -> list[Verdict]:
        """Claim each ``(claim_id, position)`` in order (:func:`claim_id`); ``DedupUnavailable`` if Redis is down.

        Claims in one call are applied in order, so a second copy in the same batch is
        already a duplicate of the first.
        """
        if not claims:
            return []
        if any("\n" in event_id for event_id, _ in claims):
            raise ValueError("event ids must not contain a newline (they are claimed packed)")
        try:
            reply: bytes = self._claim(args=[
                "\n".join(event_id for event_id, _ in claims),
                "\n".join(position for _, position in claims),
                MARKER_PREFIX, self._ttl,
            ])
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            raise DedupUnavailable(f"Redis unavailable: {exc}") from exc
        except redis.ResponseError as exc:
            if "NOSCRIPT" in str(exc) or "LOADING" in str(exc):
                raise DedupUnavailable(f"Redis not ready: {exc}") from exc
            raise
        previous = reply.decode().split("\n")
        if len(previous) != len(claims):
            raise DedupUnavailable(f"Redis answered {len(previous)} claims for {len(claims)}")
        verdicts = []
        for (_, position), old in zip(claims, previous, strict=True):
            if not old:
                verdicts.append(Verdict.NEW)
            elif old == position:
                verdicts.append(Verdict.REDELIVERY)
            else:
                verdicts.append(Verdict.DUPLICATE)
        return verdicts

    def close(self) -> None:
        self._redis.close()
