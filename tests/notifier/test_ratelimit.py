"""Per-channel rate limits in Redis, shared by replicas."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from afissue.services import RedisServer, free_port
from alerting.rules import RateLimit
from notifier.ratelimit import RateLimiter


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis[bytes]]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


class TestRateLimiter:
    def test_replicas_share_one_budget_per_window(self, client: redis.Redis[bytes]) -> None:
        """Two limiters (two replicas) together get at most `count` tokens in a window."""
        clock = [1000.0]
        limit = RateLimit(count=5, per_seconds=60)
        first = RateLimiter(client, clock=lambda: clock[0])
        second = RateLimiter(client, clock=lambda: clock[0])
        assert first.acquire("ops", limit, 3) == 3
        assert second.acquire("ops", limit, 3) == 2
        assert first.acquire("ops", limit, 1) == 0
        assert second.acquire("team", limit, 5) == 5  # another channel, its own budget

    def test_next_window_grants_again(self, client: redis.Redis[bytes]) -> None:
        """Tokens come back when the window turns; window_end says when."""
        clock = [1000.0]
        limit = RateLimit(count=2, per_seconds=60)
        limiter = RateLimiter(client, clock=lambda: clock[0])
        assert limiter.acquire("ops", limit, 5) == 2
        assert limiter.window_end(limit) == 1020.0
        clock[0] = 1020.0
        assert limiter.acquire("ops", limit, 5) == 2

    def test_redis_down_grants_what_is_asked(self) -> None:
        """Without Redis the limiter fails open: alerts are sent, not held."""
        server = RedisServer(port=free_port())
        connection = redis.Redis.from_url(server.url, socket_connect_timeout=1)
        limiter = RateLimiter(connection)
        assert limiter.acquire("ops", RateLimit(count=1, per_seconds=60), 4) == 4
