"""Per-service rate limiting shared by every worker and replica, in Redis.

A fixed window per service with one counter in Redis. Each process *leases* tokens
from the counter (an atomic Lua call that grants at most what is left) and spends them
locally, so a hot service costs one Redis round trip per lease, not per request. The
lease is 1% of the limit (at least 1), so the budget is exact for small limits and at
most ``processes * 1%`` of it can sit unused in other processes at a window's end.
Over the limit, the request is refused with ``Retry-After`` = seconds until the window
ends. When Redis is unreachable the caller lets traffic through (Kafka, not Redis,
decides whether an event is accepted).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import redis

__all__ = ["Decision", "RateLimiter"]

_LEASE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local grant = math.min(tonumber(ARGV[1]), tonumber(ARGV[2]) - used)
if grant > 0 then
  redis.call('INCRBY', KEYS[1], grant)
  if used == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
else
  grant = 0
end
return {grant, redis.call('PTTL', KEYS[1])}
"""


@dataclass(frozen=True)
class Decision:
    """The limiter's answer for one request."""

    allowed: bool
    limit: int
    retry_after: int


class RateLimiter:
    """``limit`` events per ``window`` seconds per service; ``limit`` 0 disables it."""

    def __init__(
        self, client: redis.Redis[bytes], limit: int, window: int, prefix: str = "afissue:"
    ) -> None:
        self.client = client
        self.limit = limit
        self.window = max(1, window)
        self.lease = max(1, limit // 100)
        self._prefix = f"{prefix}ratelimit:"
        self._script = client.register_script(_LEASE)
        self._lock = threading.Lock()
        self._balance: dict[tuple[str, int], int] = {}
        self._allowed = Decision(True, limit, 0)  # immutable: one for every allowed request

    def acquire(self, service: str, events: int, now: float | None = None) -> Decision:
        """Take *events* from *service*'s budget; ``allowed`` is False once it is used up."""
        if self.limit <= 0:
            return Decision(True, 0, 0)
        now = time.time() if now is None else now
        window_index = int(now // self.window)
        slot = (service, window_index)
        with self._lock:
            balance = self._balance.get(slot, 0)
            if balance >= events:
                self._balance[slot] = balance - events
                return self._allowed
        key = f"{self._prefix}{service}:{window_index}"
        wanted = max(events - balance, self.lease)
        reply = self._script(keys=[key], args=[wanted, self.limit, self.window * 1000])
        granted, pttl = int(reply[0]), int(reply[1])
        with self._lock:
            if len(self._balance) > 10_000 or any(w != window_index for _, w in self._balance):
                self._balance = {k: v for k, v in self._balance.items() if k[1] == window_index}
            balance = self._balance.get(slot, 0) + granted
            if balance >= events:
                self._balance[slot] = balance - events
                return self._allowed
            self._balance[slot] = balance
        remaining = pttl / 1000 if pttl > 0 else (window_index + 1) * self.window - now
        return Decision(False, self.limit, max(1, math.ceil(remaining)))
