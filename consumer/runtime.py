"""The consumer as a process: its entry point, logging and garbage-collector settings.

:func:`main` is the one entry point of a consumer process, behind both
``python -m consumer`` and ``afissue consumer`` (what the Dockerfile and docker-compose
run), so both log the same lines at the same level.

The garbage collector is set for throughput (:func:`tune_gc`). A poll batch keeps ~500
decoded events (about a dozen containers each) alive until they are counted. With
CPython's default young-generation threshold of 700 allocations the collector ran every
~60 events, moved live batches into the older generations, and its full collections
walked the whole gRPC / Firestore / Kafka heap: about a tenth of the loop's time.
Freezing what start-up made and collecting the young generation every ``threshold``
allocations leaves the short-lived events to reference counting.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from types import FrameType

from afissue_logging import server_env
from afissue_logging.config import SettingsError, from_env

__all__ = ["LOG_FORMAT", "LogLevelError", "ProcessSettings", "configure_logging", "main", "tune_gc"]

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_LEVELS = ("debug", "info", "warning", "error", "critical")

log = logging.getLogger("consumer")


class LogLevelError(ValueError):
    """``AFISSUE_LOG_LEVEL`` names no logging level."""


@dataclasses.dataclass(frozen=True)
class ProcessSettings:
    """Settings of the consumer process itself, apart from what it consumes."""

    log_level: str = server_env.LOG_LEVEL.field("`afissue consumer`.")


def configure_logging(level: str) -> None:
    """Log to stderr at *level* (a level name, any case) with timestamps and logger names.

    ``LogLevelError`` names the value when it is not a level, instead of logging's own
    ``ValueError`` from deep inside ``basicConfig``.
    """
    name = level.strip().lower()
    if name not in _LEVELS:
        raise LogLevelError(f"AFISSUE_LOG_LEVEL {level!r} is not one of {', '.join(_LEVELS)}")
    logging.basicConfig(level=name.upper(), format=LOG_FORMAT, stream=sys.stderr, force=True)


def main(environ: Mapping[str, str] | None = None) -> int:
    """Run one consumer configured from *environ* (default ``os.environ``) until SIGTERM
    or SIGINT, which finish the batch, flush and commit; the exit status.

    A setting that cannot be used, or an invalid alert rules file, is one line on stderr
    and exit status 2.
    """
    from alerting.rules import RulesError
    from consumer import ConsumerSettings, run_consumer
    from consumer.settings import load_alert_rules

    environ = os.environ if environ is None else environ
    try:
        process = from_env(ProcessSettings, environ)
        configure_logging(process.log_level)
        settings = ConsumerSettings.from_env(environ)
        alerts = load_alert_rules(settings, environ)
    except (SettingsError, LogLevelError, RulesError) as exc:
        print(f"consumer: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the batch", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if alerts.enabled:
        log.info("alert rules: %s", ", ".join(rule.name for rule in alerts.rules))
    run_consumer(settings, stop, own_process=True, alerts=alerts)
    return 0


def tune_gc(threshold: int) -> None:
    """Freeze the objects made so far and collect the young generation every *threshold*
    net allocations; ``0`` leaves the collector as it is.

    Process-wide: call it once from a process that is a consumer, after start-up.
    """
    if threshold <= 0:
        return
    gc.collect()  # garbage made during start-up is freed, not frozen
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(threshold, older, oldest)
