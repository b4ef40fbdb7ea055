"""Rate limiting per service, shared through Redis by every app instance."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from afissue.services import RedisServer
from ingest_service import IngestSettings
from ingest_service.ratelimit import RateLimiter
from tests.ingest_service.conftest import SEED_BODY

URL = "/api/v1/issues"


@pytest.fixture
def pair(make_app: Any, settings: IngestSettings) -> tuple[FlaskClient, FlaskClient]:
    """Two independent app instances (as two workers or replicas) on one Redis."""
    limited = dataclasses.replace(settings, rate_limit_events=3, rate_limit_window_s=3600)
    first: Flask = make_app(limited)
    second: Flask = make_app(limited)
    return first.test_client(), second.test_client()


class TestRateLimitAcrossInstances:
    """The limit is one budget per service, whichever instance serves the request."""

    def test_budget_is_shared_by_two_app_instances(
        self, pair: tuple[FlaskClient, FlaskClient]
    ) -> None:
        """Three events through two instances use the budget; the fourth is 429."""
        first, second = pair

        assert first.post(URL, json=SEED_BODY).status_code == 202
        assert second.post(URL, json={"events": [SEED_BODY, SEED_BODY]}).status_code == 202
        refused = first.post(URL, json=SEED_BODY)

        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        error = refused.get_json()["error"]
        assert error["field"] == "service"
        assert error["message"] == "service 'default' exceeded 3 events per 3600 s"

    def test_services_have_separate_budgets(
        self, pair: tuple[FlaskClient, FlaskClient]
    ) -> None:
        """One service using up its budget does not limit another."""
        first, second = pair
        for _ in range(3):
            first.post(URL, json={**SEED_BODY, "service": "noisy"})

        assert second.post(URL, json={**SEED_BODY, "service": "noisy"}).status_code == 429
        assert second.post(URL, json={**SEED_BODY, "service": "quiet"}).status_code == 202

    def test_redis_outage_lets_events_through(
        self, pair: tuple[FlaskClient, FlaskClient], redis_server: RedisServer
    ) -> None:
        """Without Redis the limiter fails open: Kafka alone decides acceptance."""
        first, _ = pair
        redis_server.stop()
        try:
            response = first.post(URL, json=SEED_BODY)
        finally:
            redis_server.start()

        assert response.status_code == 202


class TestRateLimiter:
    """The Redis fixed-window counter."""

    def test_window_resets(self, redis_url: str) -> None:
        """A new window starts with a fresh budget; Retry-After points at its start."""
        client = redis.Redis.from_url(redis_url)
        limiter = RateLimiter(client, limit=2, window=60, prefix="t:")

        assert limiter.acquire("s", 2, now=6000.0).allowed
        refused = limiter.acquire("s", 1, now=6030.0)
        assert not refused.allowed
        assert 1 <= refused.retry_after <= 60
        assert limiter.acquire("s", 1, now=6060.0).allowed
        client.close()

    def test_zero_disables(self, redis_url: str) -> None:
        """limit 0 means no limit (and no Redis call)."""
        limiter = RateLimiter(redis.Redis.from_url(redis_url), limit=0, window=60)

        assert limiter.acquire("s", 10**6).allowed


class TestLeases:
    """Tokens are leased from Redis in chunks, never beyond the limit."""

    def test_processes_never_exceed_the_limit_together(self, redis_url: str) -> None:
        """Three limiters (as three workers) sharing a budget of 1000 allow at most 1000."""
        clients = [redis.Redis.from_url(redis_url) for _ in range(3)]
        limiters = [RateLimiter(c, limit=1000, window=60, prefix="t:") for c in clients]

        allowed = sum(
            limiters[n % 3].acquire("s", 1, now=6000.0).allowed for n in range(1500)
        )

        assert 1000 - 3 * limiters[0].lease <= allowed <= 1000
        for client in clients:
            client.close()

    def test_a_lease_serves_many_requests(self, redis_url: str) -> None:
        """After one lease, requests are served from the local balance (no Redis write)."""
        client = redis.Redis.from_url(redis_url)
        limiter = RateLimiter(client, limit=10_000, window=60, prefix="t:")

        limiter.acquire("s", 1, now=6000.0)
        used_after_first = int(client.get("t:ratelimit:s:100") or 0)
        for _ in range(50):
            limiter.acquire("s", 1, now=6000.0)

        assert used_after_first == limiter.lease == 100
        assert int(client.get("t:ratelimit:s:100") or 0) == 100
        client.close()
