"""``afissue notifier`` (= ``python -m notifier``): one notifier replica as a process.

Reads its settings and the alert rules at start; a setting or rules file that cannot be
used is one line on stderr and exit status 2. SIGTERM / SIGINT finish the pass and exit.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from types import FrameType
from typing import TYPE_CHECKING

from afissue_logging.config import SettingsError

if TYPE_CHECKING:
    from alerting.rules import AlertConfig
    from notifier.loop import DeliveryLoop
    from notifier.settings import NotifierSettings

__all__ = ["build_loop", "configure_logging", "main"]

log = logging.getLogger("notifier")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_LEVELS = ("debug", "info", "warning", "error", "critical")


def configure_logging(level: str) -> None:
    """Log to stderr at *level* (a level name, any case) with timestamps and logger names."""
    name = level.strip().lower()
    if name not in _LEVELS:
        raise ValueError(f"AFISSUE_LOG_LEVEL {level!r} is not one of {', '.join(_LEVELS)}")
    logging.basicConfig(level=name.upper(), format=LOG_FORMAT, stream=sys.stderr, force=True)


def build_loop(settings: NotifierSettings, config: AlertConfig) -> DeliveryLoop:
    """The delivery loop *settings* and *config* describe, on real Firestore and Redis."""
    import redis

    from issue_store.client import firestore_client
    from notifier.channels.registry import build_senders
    from notifier.delivery import RetryPolicy
    from notifier.loop import DeliveryLoop
    from notifier.ratelimit import RateLimiter

    return DeliveryLoop(
        firestore_client(settings.firestore_project, settings.firestore_emulator_host),
        settings.alerts_collection,
        config,
        build_senders(config.channels, settings.send_timeout),
        RateLimiter(redis.Redis.from_url(settings.redis_url, socket_timeout=settings.send_timeout)),
        owner=settings.owner,
        base_url=settings.base_url,
        policy=RetryPolicy(settings.max_attempts, settings.backoff_initial, settings.backoff_max),
        lease_seconds=settings.lease_seconds,
        batch=settings.batch,
        scan_limit=settings.scan_limit,
    )


def main(environ: Mapping[str, str] | None = None) -> int:
    """Run one notifier configured from *environ* (default ``os.environ``) until SIGTERM."""
    from alerting.rules import RulesError, load_rules
    from notifier.settings import NotifierSettings

    environ = os.environ if environ is None else environ
    try:
        settings = NotifierSettings.from_env(environ)
        configure_logging(settings.log_level)
        config = load_rules(
            settings.rules_path, settings.webhook_url, settings.webhook_secret, environ
        )
    except (SettingsError, RulesError, ValueError) as exc:
        print(f"notifier: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the pass", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    names = ", ".join(f"{n} ({c.type})" for n, c in sorted(config.channels.items())) or "none"
    log.info("notifier %s delivering %s/%s; channels: %s", settings.owner,
             settings.firestore_project, settings.alerts_collection, names)
    loop = build_loop(settings, config)
    if settings.metrics_port:
        loop.metrics.serve(settings.metrics_port)
    loop.run(stop, settings.poll_interval)
    log.info("notifier %s stopped", settings.owner)
    return 0

