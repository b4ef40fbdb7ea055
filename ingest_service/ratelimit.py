"""Per-service rate limiting shared by every worker and replica, in Redis.

A fixed window per service: ``INCRBY`` the events of a request into the window's
counter (one atomic Lua call, one round trip); over the limit, the request is refused
with ``Retry-After`` = the seconds until the window ends. When Redis is unreachable the
limiter lets traffic through (Kafka, not Redis, decides whether an event is accepted).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import redis

__all__ = ["Decision", "RateLimiter"]

_SCRIPT = """
local used = redis.call('INCRBY', KEYS[1], ARGV[1])
if used == tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return {used, redis.call('PTTL', KEYS[1])}
"""


@dataclass(frozen=True)
class Decision:
    """The limiter's answer for one request."""

    allowed: bool
    used: int
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
        self._prefix = f"{prefix}ratelimit:"
        self._script = client.register_script(_SCRIPT)

    def acquire(self, service: str, events: int, now: float | None = None) -> Decision:
        """Count *events* for *service*; ``allowed`` is False once the window is used up."""
        if self.limit <= 0:
            return Decision(True, 0, 0, 0)
        now = time.time() if now is None else now
        window_index = int(now // self.window)
        key = f"{self._prefix}{service}:{window_index}"
        used, pttl = self._script(keys=[key], args=[events, self.window * 1000])
        used, pttl = int(used), int(pttl)
        if used <= self.limit:
            return Decision(True, used, self.limit, 0)
        remaining = pttl / 1000 if pttl > 0 else (window_index + 1) * self.window - now
        return Decision(False, used, self.limit, max(1, math.ceil(remaining)))
