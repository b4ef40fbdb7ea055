"""Health endpoints report Kafka and Redis."""

from __future__ import annotations

from flask.testing import FlaskClient

from afissue.services import RedisServer


class TestHealth:
    """``/api/health`` and friends."""

    def test_healthy_dependencies_answer_200_and_are_named(self, client: FlaskClient) -> None:
        """With Kafka and Redis up, health is 200 and names each dependency."""
        response = client.get("/api/health")

        assert response.status_code == 200
        body = response.get_json()
        assert body["status"] == "ok"
        assert body["dependencies"]["kafka"]["ok"] is True
        assert body["dependencies"]["redis"]["ok"] is True

    def test_redis_down_turns_health_non_200(
        self, client: FlaskClient, redis_server: RedisServer
    ) -> None:
        """Stopping Redis makes /api/health answer 503 naming Redis as the failure."""
        redis_server.stop()
        try:
            response = client.get("/api/health")
        finally:
            redis_server.start()

        assert response.status_code == 503
        body = response.get_json()
        assert body["dependencies"]["redis"]["ok"] is False
        assert body["dependencies"]["kafka"]["ok"] is True

    def test_liveness_and_readiness(self, client: FlaskClient) -> None:
        """Liveness is 200; readiness is 200 while Kafka is reachable."""
        assert client.get("/api/health/live").status_code == 200
        assert client.get("/api/health/ready").status_code == 200
