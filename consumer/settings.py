"""The consumer's settings: one frozen object built from the environment (``AFISSUE_*``)."""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from afissue_logging import server_env
from afissue_logging.config import from_env, setting
from alerting.rules import AlertConfig, load_rules

__all__ = ["MAX_WRITES_PER_BATCH", "ConsumerSettings", "load_alert_rules"]

#: Firestore's limit on writes in one atomic batch.
MAX_WRITES_PER_BATCH = 500
#: Documents written per issue in one flush: the issue itself and one recent occurrence.
WRITES_PER_ISSUE = 2


@dataclasses.dataclass(frozen=True)
class ConsumerSettings:
    """Everything ``run_consumer`` needs; every field has an env var and a documented default."""

    kafka_bootstrap: str = server_env.KAFKA_BOOTSTRAP.field("Consumer: consumes there.")
    kafka_topic: str = server_env.KAFKA_TOPIC.field("Consumer: reads it.")
    group_id: str = setting(
        "afissue-consumer", "AFISSUE_CONSUMER_GROUP", "Kafka consumer group id of the consumers."
    )
    dlq_topic: str | None = setting(
        None, "AFISSUE_CONSUMER_DLQ_TOPIC",
        "Dead-letter topic for events that cannot be processed (default: `<topic>.dlq`).",
    )
    redis_url: str = server_env.REDIS_URL.field("Consumer: the event-id dedup markers.")
    firestore_project: str = server_env.FIRESTORE_PROJECT.field("Consumer: writes there.")
    firestore_collection: str = server_env.FIRESTORE_COLLECTION.field(
        "Consumer: checkpoints go to `<collection>_checkpoints`."
    )
    firestore_emulator_host: str | None = server_env.FIRESTORE_EMULATOR_HOST.field("Consumer.")
    flush_interval: float = setting(
        1.0, "AFISSUE_CONSUMER_FLUSH_INTERVAL",
        "Seconds between flushes: a hot issue is written at most once per interval.",
    )
    max_batch_issues: int = setting(
        200, "AFISSUE_CONSUMER_MAX_BATCH_ISSUES",
        "Distinct issues pending per partition before an early flush (2 writes each, <= 249).",
    )
    poll_batch: int = setting(
        500, "AFISSUE_CONSUMER_POLL_BATCH", "Messages taken from Kafka per consume() call."
    )
    dedup_ttl: int = setting(
        7 * 24 * 3600, "AFISSUE_CONSUMER_DEDUP_TTL",
        "Seconds an event-id marker lives in Redis: the window in which a retry is recognised.",
    )
    recent_occurrences: int = setting(
        20, "AFISSUE_CONSUMER_RECENT_OCCURRENCES",
        "Size of each issue's `occurrences` subcollection (a ring of recent occurrences).",
    )
    occurrence_ttl_days: float = setting(
        30.0, "AFISSUE_CONSUMER_OCCURRENCE_TTL_DAYS",
        "Days after which a ring `occurrences` document expires (its `expire_at`, read by a "
        "Firestore TTL policy); 0 writes no `expire_at`. The first and regression occurrences "
        "never expire.",
    )
    max_list_values: int = setting(
        20, "AFISSUE_CONSUMER_MAX_LIST_VALUES",
        "Bound on the environments / releases / status_history lists of an issue.",
    )
    max_event_age: float = setting(
        30 * 24 * 3600.0, "AFISSUE_CONSUMER_MAX_EVENT_AGE",
        "Occurrence times older than this many seconds before the event entered Kafka are "
        "replaced by that receive time (a wrong client clock cannot move first_seen).",
    )
    max_clock_ahead: float = setting(
        60.0, "AFISSUE_CONSUMER_MAX_CLOCK_AHEAD",
        "Occurrence times more than this many seconds after the event entered Kafka are "
        "replaced by that receive time (a wrong client clock cannot freeze last_seen).",
    )
    backoff_initial: float = setting(
        0.2, "AFISSUE_CONSUMER_BACKOFF_INITIAL", "First retry delay (s) during a store outage."
    )
    backoff_max: float = setting(
        5.0, "AFISSUE_CONSUMER_BACKOFF_MAX", "Longest retry delay (s) during a store outage."
    )
    store_timeout: float = setting(
        10.0, "AFISSUE_CONSUMER_STORE_TIMEOUT", "Timeout (s) of one Firestore or Redis call."
    )
    session_timeout_ms: int = setting(
        10000, "AFISSUE_CONSUMER_SESSION_TIMEOUT_MS", "Kafka group session timeout (ms)."
    )
    metrics_port: int = setting(
        0, "AFISSUE_CONSUMER_METRICS_PORT", "Port of the Prometheus /metrics endpoint (0 = off)."
    )
    gc_threshold: int = setting(
        10000, "AFISSUE_CONSUMER_GC_THRESHOLD",
        "Allocations between young garbage collections in a consumer process (Python's "
        "default: 700); start-up objects are frozen. 0 leaves the collector alone.",
    )
    alerts_file: str | None = server_env.ALERTS_FILE.field(
        "Consumer: decides the alerts in its flushes (no rules: no outbox writes)."
    )
    alert_webhook_url: str | None = server_env.ALERT_WEBHOOK_URL.field("Consumer.")
    alert_webhook_secret: str | None = server_env.ALERT_WEBHOOK_SECRET.field("Consumer.")
    alerts_collection: str = server_env.ALERTS_COLLECTION.field("Consumer: writes alerts there.")
    kafka_extra: str = setting(
        "", "AFISSUE_CONSUMER_KAFKA_CONFIG",
        "Extra librdkafka consumer properties, `key=value` pairs separated by commas.",
    )

    def __post_init__(self) -> None:
        if self.max_batch_issues < 1 or (
            self.max_batch_issues * WRITES_PER_ISSUE + 1 > MAX_WRITES_PER_BATCH
        ):
            raise ValueError(
                f"max_batch_issues={self.max_batch_issues}: expected 1..249 so that a "
                f"flush stays within {MAX_WRITES_PER_BATCH} writes"
            )
        if self.gc_threshold < 0:
            raise ValueError(f"gc_threshold={self.gc_threshold}: expected >= 0 (0 = Python's)")
        if self.flush_interval <= 0:
            raise ValueError(f"flush_interval={self.flush_interval}: expected > 0 seconds")
        if not 0 <= self.occurrence_ttl_days < 36_500:
            raise ValueError(
                f"occurrence_ttl_days={self.occurrence_ttl_days}: expected 0 (never) to 36500 days"
            )

    @property
    def occurrence_ttl(self) -> _dt.timedelta | None:
        """How long a ring occurrence is kept, None for ever."""
        return _dt.timedelta(days=self.occurrence_ttl_days) if self.occurrence_ttl_days else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> ConsumerSettings:
        """Build settings from *environ*; keyword *overrides* (not None) win."""
        return from_env(cls, environ, **overrides)

    @property
    def dead_letter_topic(self) -> str:
        """The dead-letter topic: configured, else ``<topic>.dlq``."""
        return self.dlq_topic or f"{self.kafka_topic}.dlq"

    @property
    def checkpoint_collection(self) -> str:
        """Collection of per-partition offset checkpoints."""
        return f"{self.firestore_collection}_checkpoints"

    def kafka_overrides(self) -> dict[str, str]:
        """``kafka_extra`` parsed into librdkafka properties."""
        pairs: dict[str, str] = {}
        for item in self.kafka_extra.split(","):
            if item.strip():
                key, sep, value = item.partition("=")
                if not sep:
                    raise ValueError(f"AFISSUE_CONSUMER_KAFKA_CONFIG item {item!r}: expected key=value")
                pairs[key.strip()] = value.strip()
        return pairs


def load_alert_rules(
    settings: ConsumerSettings, environ: Mapping[str, str] | None = None
) -> AlertConfig:
    """The alert rules *settings* name (file and webhook shortcut); *environ* resolves a
    channel's ``secret_env`` / ``password_env`` (default ``os.environ``).
    ``alerting.rules.RulesError`` when they are invalid."""
    path = Path(settings.alerts_file) if settings.alerts_file else None
    return load_rules(path, settings.alert_webhook_url, settings.alert_webhook_secret, environ)
