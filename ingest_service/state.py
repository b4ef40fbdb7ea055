"""The app's long-lived collaborators, built once per app from the settings."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from flask import Flask, current_app

from ingest_service.auth import Authenticator
from ingest_service.limits import Limits
from ingest_service.metrics import IngestMetrics
from ingest_service.publisher import EventPublisher, KafkaPublisher
from ingest_service.ratelimit import RateLimiter
from ingest_service.recent import RecentIssues, RecentRecorder
from ingest_service.settings import IngestSettings
from ingest_service.tokens import TokenStore

__all__ = ["IngestState", "current_state", "init_app"]

_KEY = "afissue_ingest"


@dataclass
class IngestState:
    """Everything a request handler needs besides the request."""

    settings: IngestSettings
    limits: Limits
    auth: Authenticator
    publisher: EventPublisher
    redis: redis.Redis[bytes]
    recent: RecentIssues
    recorder: RecentRecorder
    limiter: RateLimiter
    metrics: IngestMetrics

    @classmethod
    def build(cls, settings: IngestSettings, metrics: IngestMetrics) -> IngestState:
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_timeout_s,
            socket_connect_timeout=settings.redis_timeout_s,
        )
        store = TokenStore(settings.tokens_file) if settings.tokens_file else None
        recent = RecentIssues(client, settings.redis_prefix, settings.recent_ttl_s)

        def recorder_failed(exc: Exception) -> None:
            metrics.redis_errors.labels("recent").inc()

        return cls(
            settings=settings,
            limits=Limits.from_settings(settings),
            auth=Authenticator(store, settings.allow_open),
            publisher=KafkaPublisher(settings),
            redis=client,
            recent=recent,
            recorder=RecentRecorder(recent, on_error=recorder_failed),
            limiter=RateLimiter(
                client,
                settings.rate_limit_events,
                settings.rate_limit_window_s,
                settings.redis_prefix,
            ),
            metrics=metrics,
        )

    def close(self) -> None:
        """Flush Kafka and the recent list, and drop Redis connections."""
        self.publisher.close()
        self.recorder.close()
        self.redis.close()


def init_app(app: Flask, state: IngestState) -> None:
    app.extensions[_KEY] = state


def current_state() -> IngestState:
    """The state of the app handling the current request."""
    state: IngestState = current_app.extensions[_KEY]
    return state
