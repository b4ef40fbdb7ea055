"""The last hour's issues in Redis, for ``/issues/recent``.

Keys (prefix ``afissue:`` by default), each expiring an hour after its last write:

- ``recent`` — sorted set: issue_id scored by the last time it was seen (epoch s);
- ``recent:{issue_id}`` — hash: title, service, level, last_seen (RFC 3339);
- ``recent:{issue_id}:n`` — hash: minute (epoch // 60) -> events in that minute, so the
  count shown is the number of events in the last hour, to the minute.

Recording is one pipelined round trip per request, whatever the batch size.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis

__all__ = ["RecentIssue", "RecentIssues"]


@dataclass(frozen=True)
class RecentIssue:
    """One row of the recent list."""

    issue_id: str
    title: str
    service: str
    level: str
    last_seen: str
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "issue_id": self.issue_id,
            "title": self.title,
            "service": self.service,
            "level": self.level,
            "last_seen": self.last_seen,
            "count": self.count,
        }


class RecentIssues:
    """Records accepted events and lists the issues seen within ``ttl`` seconds."""

    def __init__(
        self, client: redis.Redis[bytes], prefix: str = "afissue:", ttl: int = 3600
    ) -> None:
        self.client = client
        self.ttl = ttl
        self._index = f"{prefix}recent"

    def record(self, events: Sequence[Mapping[str, Any]], now: float | None = None) -> None:
        """Note *events* (wire dicts with issue_id) as seen at *now*."""
        if not events:
            return
        now = time.time() if now is None else now
        minute = int(now // 60)
        pipe = self.client.pipeline(transaction=False)
        for event in events:
            issue_id = str(event["issue_id"])
            meta = f"{self._index}:{issue_id}"
            pipe.zadd(self._index, {issue_id: now})
            pipe.hset(
                meta,
                mapping={
                    "title": str(event.get("title", ""))[:500],
                    "service": str(event.get("service", "")),
                    "level": str(event.get("level") or ""),
                    "last_seen": str(event.get("received_at", "")),
                },
            )
            pipe.expire(meta, self.ttl)
            pipe.hincrby(f"{meta}:n", str(minute), int(event.get("count", 1)))
            pipe.expire(f"{meta}:n", self.ttl + 60)
        pipe.zremrangebyscore(self._index, "-inf", now - self.ttl)
        pipe.expire(self._index, self.ttl)
        pipe.execute()

    def list(self, limit: int = 100, now: float | None = None) -> list[RecentIssue]:
        """The issues seen in the last ``ttl`` seconds, most recent first."""
        now = time.time() if now is None else now
        ids = [
            raw.decode() if isinstance(raw, bytes) else str(raw)
            for raw in self.client.zrevrangebyscore(
                self._index, "+inf", now - self.ttl, start=0, num=limit
            )
        ]
        if not ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for issue_id in ids:
            pipe.hgetall(f"{self._index}:{issue_id}")
            pipe.hgetall(f"{self._index}:{issue_id}:n")
        replies = pipe.execute()
        first_minute = int((now - self.ttl) // 60)
        rows = []
        for position, issue_id in enumerate(ids):
            meta = _text_map(replies[2 * position])
            if not meta:
                continue
            counts = _text_map(replies[2 * position + 1])
            count = sum(int(n) for m, n in counts.items() if int(m) > first_minute)
            rows.append(
                RecentIssue(
                    issue_id=issue_id,
                    title=meta.get("title", ""),
                    service=meta.get("service", ""),
                    level=meta.get("level", ""),
                    last_seen=meta.get("last_seen", ""),
                    count=count,
                )
            )
        return rows


def _text_map(raw: Mapping[Any, Any]) -> dict[str, str]:
    return {
        (k.decode() if isinstance(k, bytes) else str(k)): (
            v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        )
        for k, v in raw.items()
    }
