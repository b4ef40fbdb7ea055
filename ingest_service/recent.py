"""The last hour's issues in Redis, for ``/issues/recent``.

Keys (prefix ``afissue:`` by default), each expiring an hour after its last write:

- ``recent`` — sorted set: issue_id scored by the last time it was seen (epoch s);
- ``recent:{issue_id}`` — hash: title, service, level, last_seen (RFC 3339);
- ``recent:{issue_id}:n`` — hash: minute (epoch // 60) -> events in that minute, so the
  count shown is the number of events in the last hour, to the minute. Each write
  refreshes its expiry, so an issue that never goes quiet would keep it for ever: a
  write that finds more than an hour and a minute of fields deletes the older ones
  (the extra minute is slack for readers whose clock is behind), so the hash holds at
  most 61 fields and a trim reads at most about 62.

Writing is one Lua call, whatever the number of events: they are first folded per issue
(metadata of the latest, counts summed). :class:`RecentRecorder` writes a process's
first sighting of an issue at once and folds repeats into one write every 100 ms, so a
hot issue does not cost a Redis round trip per request.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis

__all__ = ["RecentIssue", "RecentIssues", "RecentRecorder", "fold"]

_RECORD = """
local index = KEYS[1]
local now = tonumber(ARGV[1])
local minute = ARGV[2]
local ttl = tonumber(ARGV[3])
local keep = tonumber(ARGV[4])
local oldest = tonumber(minute) - keep
for i = 5, #ARGV, 6 do
  local id = ARGV[i]
  local meta = index .. ':' .. id
  local counts = meta .. ':n'
  redis.call('ZADD', index, now, id)
  redis.call('HSET', meta, 'title', ARGV[i + 1], 'service', ARGV[i + 2],
             'level', ARGV[i + 3], 'last_seen', ARGV[i + 4])
  redis.call('EXPIRE', meta, ttl)
  redis.call('HINCRBY', counts, minute, ARGV[i + 5])
  redis.call('EXPIRE', counts, ttl + 60)
  if redis.call('HLEN', counts) > keep then
    local stale = {}
    for _, field in ipairs(redis.call('HKEYS', counts)) do
      local m = tonumber(field)
      if m == nil or m <= oldest then
        stale[#stale + 1] = field
      end
    end
    for j = 1, #stale, 1000 do
      redis.call('HDEL', counts, unpack(stale, j, math.min(j + 999, #stale)))
    end
  end
end
redis.call('ZREMRANGEBYSCORE', index, '-inf', now - ttl)
redis.call('EXPIRE', index, ttl)
return 0
"""


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
        #: Minute fields kept per issue: the window, plus one of slack for other clocks.
        self.minutes_kept = -(-ttl // 60) + 1
        self._index = f"{prefix}recent"
        self._record = client.register_script(_RECORD)

    def record(self, events: Sequence[Mapping[str, Any]], now: float | None = None) -> None:
        """Note *events* (wire dicts with issue_id) as seen at *now*."""
        self.write(fold(events), now)

    def write(self, folded: Mapping[str, Sequence[Any]], now: float | None = None) -> None:
        """Write events already folded per issue by :func:`fold` (one Lua call)."""
        if not folded:
            return
        now = time.time() if now is None else now
        args: list[Any] = [repr(now), int(now // 60), self.ttl, self.minutes_kept]
        for issue_id, fields in folded.items():
            args.append(issue_id)
            args.extend(fields)
        self._record(keys=[self._index], args=args)

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


def fold(
    events: Iterable[Mapping[str, Any]], into: dict[str, list[Any]] | None = None
) -> dict[str, list[Any]]:
    """Events per issue id: [title, service, level, last_seen, count] (latest wins, counts add)."""
    folded: dict[str, list[Any]] = {} if into is None else into
    for event in events:
        _merge(folded, str(event["issue_id"]), [
            str(event.get("title", ""))[:500],
            str(event.get("service", "")),
            str(event.get("level") or ""),
            str(event.get("received_at", "")),
            int(event.get("count", 1)),
        ])
    return folded


def _merge(folded: dict[str, list[Any]], issue_id: str, fields: list[Any]) -> None:
    previous = folded.get(issue_id)
    if previous is not None:
        fields[4] += previous[4]
    folded[issue_id] = fields


class RecentRecorder:
    """Records accepted events without a Redis round trip per request.

    A process's first sighting of an issue is written at once, so a new issue shows up
    immediately; repeats are folded and written by a background thread every
    ``interval`` seconds (one Lua call for all of them). ``flush()`` writes what waits.
    """

    def __init__(
        self,
        recent: RecentIssues,
        interval: float = 0.1,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.recent = recent
        self.interval = interval
        self.on_error = on_error
        self._lock = threading.Lock()
        self._pending: dict[str, list[Any]] = {}
        self._seen: set[str] = set()
        self._wake = threading.Event()
        self._pid = 0
        self._closed = False

    def record(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Note accepted *events*; raises ``redis.RedisError`` only for first sightings."""
        folded = fold(events)
        fresh: dict[str, list[Any]] = {}
        with self._lock:
            self._ensure_thread()
            for issue_id, fields in folded.items():
                if issue_id in self._seen:
                    _merge(self._pending, issue_id, fields)
                else:
                    fresh[issue_id] = fields
        if fresh:
            self.recent.write(fresh)
            with self._lock:
                if len(self._seen) > 100_000:
                    self._seen.clear()
                self._seen.update(fresh)

    def flush(self) -> None:
        """Write the folded repeats now."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if pending:
            self.recent.write(pending)

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        try:
            self.flush()
        except redis.RedisError as exc:
            self._report(exc)

    def _ensure_thread(self) -> None:
        if self._pid != os.getpid():  # first use, or a forked child: start our own
            self._pid = os.getpid()
            self._pending = {}
            threading.Thread(target=self._run, name="afissue-recent", daemon=True).start()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            try:
                self.flush()
            except redis.RedisError as exc:
                self._report(exc)

    def _report(self, exc: Exception) -> None:
        if self.on_error is not None:
            self.on_error(exc)


def _text_map(raw: Mapping[Any, Any]) -> dict[str, str]:
    return {
        (k.decode() if isinstance(k, bytes) else str(k)): (
            v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        )
        for k, v in raw.items()
    }
