"""The notifier's settings: one frozen object built from the environment (``AFISSUE_*``)."""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from afissue_logging import server_env
from afissue_logging.config import from_env, setting

__all__ = ["NotifierSettings"]


@dataclasses.dataclass(frozen=True)
class NotifierSettings:
    """Everything ``afissue notifier`` needs; every field has an env var and a default."""

    firestore_project: str = server_env.FIRESTORE_PROJECT.field(
        "Notifier: the outbox collection is there."
    )
    firestore_emulator_host: str | None = server_env.FIRESTORE_EMULATOR_HOST.field("Notifier.")
    redis_url: str = server_env.REDIS_URL.field("Notifier: per-channel rate limits.")
    log_level: str = server_env.LOG_LEVEL.field("`afissue notifier`.")
    alerts_collection: str = server_env.ALERTS_COLLECTION.field("Notifier: delivers it.")
    alerts_file: str | None = server_env.ALERTS_FILE.field("Notifier: its channels.")
    webhook_url: str | None = server_env.ALERT_WEBHOOK_URL.field("Notifier.")
    webhook_secret: str | None = server_env.ALERT_WEBHOOK_SECRET.field("Notifier.")
    ui_base_url: str | None = setting(
        None, "AFISSUE_UI_BASE_URL",
        "Base URL of the web UI in alert links (default: the ingest API on 127.0.0.1).",
    )
    ingest_port: int = server_env.INGEST_PORT.field("Notifier: the default base URL of links.")
    max_attempts: int = setting(
        15, "AFISSUE_NOTIFIER_MAX_ATTEMPTS", "Attempts per alert and channel before it is dead."
    )
    backoff_initial: float = setting(
        5.0, "AFISSUE_NOTIFIER_BACKOFF_INITIAL",
        "Ceiling (s) of the first retry delay; doubles per attempt, full jitter.",
    )
    backoff_max: float = setting(
        1800.0, "AFISSUE_NOTIFIER_BACKOFF_MAX", "Longest retry delay (s) of an alert."
    )
    lease_seconds: float = setting(
        120.0, "AFISSUE_NOTIFIER_LEASE_SECONDS",
        "How long a replica's claim on an alert lasts; a crashed replica's alerts are taken "
        "over after it.",
    )
    poll_interval: float = setting(
        1.0, "AFISSUE_NOTIFIER_POLL_INTERVAL", "Seconds between passes when nothing is due."
    )
    batch: int = setting(20, "AFISSUE_NOTIFIER_BATCH", "Alerts claimed per pass.")
    scan_limit: int = setting(
        500, "AFISSUE_NOTIFIER_SCAN_LIMIT", "Pending alerts read per pass to find due ones."
    )
    send_timeout: float = setting(
        10.0, "AFISSUE_NOTIFIER_SEND_TIMEOUT", "Timeout (s) of one HTTP or SMTP delivery."
    )
    metrics_port: int = setting(
        0, "AFISSUE_NOTIFIER_METRICS_PORT", "Port of the Prometheus /metrics endpoint (0 = off)."
    )
    replica_id: str | None = setting(
        None, "AFISSUE_NOTIFIER_REPLICA_ID",
        "Name of this replica in leases (default: host name and process id).",
    )

    def __post_init__(self) -> None:
        if self.send_timeout * 2 >= self.lease_seconds:
            raise ValueError(
                f"AFISSUE_NOTIFIER_LEASE_SECONDS={self.lease_seconds}: expected more than twice "
                f"AFISSUE_NOTIFIER_SEND_TIMEOUT ({self.send_timeout})"
            )
        if self.batch < 1 or self.scan_limit < self.batch:
            raise ValueError(
                f"AFISSUE_NOTIFIER_BATCH={self.batch}, AFISSUE_NOTIFIER_SCAN_LIMIT="
                f"{self.scan_limit}: expected 1 <= batch <= scan limit"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> NotifierSettings:
        """Build settings from *environ*; keyword *overrides* (not None) win."""
        return from_env(cls, environ, **overrides)

    @property
    def rules_path(self) -> Path | None:
        return Path(self.alerts_file) if self.alerts_file else None

    @property
    def base_url(self) -> str:
        """Where alert links point: the web UI."""
        return self.ui_base_url or f"http://127.0.0.1:{self.ingest_port}"

    @property
    def owner(self) -> str:
        """This replica's name in leases."""
        return self.replica_id or f"{socket.gethostname()}:{os.getpid()}"
