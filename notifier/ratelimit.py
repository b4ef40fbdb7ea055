"""Per-channel rate limits shared by every notifier replica (Redis).

A channel may send ``count`` messages per ``per_seconds`` window. Replicas take tokens
from one counter per channel and window (``afissue:alerts:rate:<channel>:<window>``),
atomically (a Lua script), so N replicas together stay within the limit. What the limit
holds back is not dropped: the delivery loop sends it as a digest (``notifier.loop``).
When Redis cannot be reached the limiter grants what is asked and logs it: an alert
sent during a Redis outage beats an alert held back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from alerting.rules import RateLimit

__all__ = ["RateLimiter"]

log = logging.getLogger("notifier.ratelimit")

# KEYS[1]: the window's counter; ARGV: wanted, limit, ttl. Returns the tokens granted.
_ACQUIRE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local limit = tonumber(ARGV[2])
local granted = math.min(tonumber(ARGV[1]), math.max(0, limit - used))
if granted > 0 then
  redis.call('INCRBY', KEYS[1], granted)
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return granted
"""


class RateLimiter:
    """Takes message tokens of a channel's current window from Redis."""

    def __init__(
        self, redis_client: Any, prefix: str = "afissue:alerts:rate",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis_client
        self._prefix = prefix
        self._clock = clock
        self._script = redis_client.register_script(_ACQUIRE)

    def window_end(self, limit: RateLimit) -> float:
        """When the current window of *limit* ends (epoch seconds)."""
        now = self._clock()
        return (now // limit.per_seconds + 1) * limit.per_seconds

    def acquire(self, channel: str, limit: RateLimit, wanted: int) -> int:
        """Up to *wanted* tokens of *channel*'s current window; how many were granted."""
        if wanted <= 0:
            return 0
        window = int(self._clock() // limit.per_seconds)
        key = f"{self._prefix}:{channel}:{window}"
        ttl = int(limit.per_seconds) + 60
        try:
            return int(self._script(keys=[key], args=[wanted, limit.count, ttl]))
        except Exception as error:  # noqa: BLE001 - any Redis failure: fail open
            log.warning("rate limit of %s not checked (Redis: %s); sending", channel, error)
            return wanted
