"""The ingest service's settings: one frozen object built from the environment.

Every field is declared with :func:`afissue_logging.config.setting`, so the environment
variable and the documentation of each setting live next to its default. Build it with
:meth:`IngestSettings.from_env`; nothing else in the package reads ``os.environ``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from afissue_logging import config, server_env, wire
from afissue_logging.config import setting

__all__ = ["IngestSettings"]


@dataclasses.dataclass(frozen=True)
class IngestSettings:
    """Everything the ingest service can be told; defaults suit a local machine."""

    kafka_bootstrap: str = server_env.KAFKA_BOOTSTRAP.field("Ingest API: publishes there.")
    kafka_topic: str = server_env.KAFKA_TOPIC.field("Ingest API: publishes accepted events.")
    kafka_compression: str = setting(
        "lz4", "AFISSUE_KAFKA_COMPRESSION", "Producer compression codec (none, gzip, lz4, zstd)."
    )
    kafka_linger_ms: int = setting(
        1,
        "AFISSUE_KAFKA_LINGER_MS",
        "Producer linger.ms: how long librdkafka gathers a batch; up to that much is added "
        "to each request's wait for Kafka.",
    )
    publish_timeout_s: float = setting(
        5.0,
        "AFISSUE_PUBLISH_TIMEOUT",
        "Seconds a request waits for Kafka's delivery report before answering 503.",
    )
    redis_url: str = server_env.REDIS_URL.field("Ingest API: recent issues and rate limits.")
    redis_prefix: str = setting(
        "afissue:", "AFISSUE_REDIS_PREFIX", "Prefix of every Redis key the ingest service writes."
    )
    redis_timeout_s: float = setting(
        1.0, "AFISSUE_REDIS_TIMEOUT", "Seconds before a Redis connect or command gives up."
    )
    recent_ttl_s: int = setting(
        3600, "AFISSUE_RECENT_TTL", "Seconds an issue stays in the recent list after its last event."
    )
    tokens_file: str | None = setting(
        None,
        "AFISSUE_TOKENS_FILE",
        "File of `service sha256-hex-of-token` lines; unset means no token is accepted.",
    )
    allow_open: bool = setting(
        False,
        "AFISSUE_ALLOW_OPEN",
        "Accept requests without a token (service taken from the body); for local use only.",
    )
    host: str = setting("127.0.0.1", "AFISSUE_INGEST_HOST", "Address gunicorn binds to.")
    port: int = server_env.INGEST_PORT.field("`afissue ingest`: the port gunicorn binds to.")
    workers: int = setting(2, "AFISSUE_INGEST_WORKERS", "gunicorn worker processes.")
    threads: int = setting(
        8, "AFISSUE_INGEST_THREADS", "Threads per worker (balanced gthread worker when above 1)."
    )
    request_timeout_s: int = setting(
        30, "AFISSUE_INGEST_TIMEOUT", "gunicorn worker timeout in seconds."
    )
    rate_limit_events: int = setting(
        60000,
        "AFISSUE_RATE_LIMIT",
        "Events a service may send per rate-limit window, across all workers; 0 disables.",
    )
    rate_limit_window_s: int = setting(
        60, "AFISSUE_RATE_LIMIT_WINDOW", "Length of the rate-limit window in seconds."
    )
    max_body_bytes: int = setting(
        1_048_576,
        "AFISSUE_MAX_BODY_BYTES",
        "Largest request body in bytes, checked before and after gzip decoding (413).",
    )
    max_batch_events: int = setting(
        1000, "AFISSUE_MAX_BATCH", "Most events in one batch request (413)."
    )
    max_string_chars: int = setting(
        32768, "AFISSUE_MAX_STRING", "Longest string value anywhere in an event, in characters (413)."
    )
    max_frames: int = setting(
        256, "AFISSUE_MAX_FRAMES", "Most stack frames in one exception (413)."
    )
    max_depth: int = setting(
        32, "AFISSUE_MAX_DEPTH", "Deepest nesting of JSON objects/arrays in a request body (413)."
    )
    max_event_bytes: int = setting(
        wire.MAX_EVENT_BYTES,
        "AFISSUE_MAX_EVENT_BYTES",
        "Largest single event once encoded for Kafka, in bytes (413): the wire's one limit, "
        "which the consumer also applies; a larger value is capped to it.",
    )
    secret_key: str | None = server_env.SECRET_KEY.field("Ingest API: the Flask app's key.")
    log_level: str = server_env.LOG_LEVEL.field("`afissue ingest`.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> IngestSettings:
        """Build the settings from *environ*; keyword *overrides* that are not None win."""
        return config.from_env(cls, environ, **overrides)
