"""The client's settings: one frozen object built from keyword arguments and ``AFISSUE_*``.

Configuration flows one way: ``IssueHandler(**kwargs)`` / the environment ->
:class:`ClientSettings` -> the sender. Explicit keyword arguments win over the
environment; unset ones fall back to the documented defaults below.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from afissue_logging.config import _parse, from_env, setting

__all__ = [
    "DEFAULT_URL",
    "ClientSettings",
    "default_service",
    "default_spool_dir",
    "level_number",
    "load_settings",
    "service_identifier",
]

DEFAULT_URL = "http://127.0.0.1:6001"


@dataclasses.dataclass(frozen=True)
class ClientSettings:
    """Everything the handler, processor and sender need; hashable, so it keys the sender."""

    url: str = setting(DEFAULT_URL, "AFISSUE_URL", "Base URL of the ingest API.")
    token: str | None = setting(None, "AFISSUE_TOKEN", "Bearer token of this service.")
    service: str = setting(
        "", "AFISSUE_SERVICE", "Service name; empty means the program's file name."
    )
    environment: str = setting("production", "AFISSUE_ENVIRONMENT", "Deployment environment.")
    release: str | None = setting(None, "AFISSUE_RELEASE", "Release / version of the service.")
    spool_dir: str | None = setting(
        None,
        "AFISSUE_SPOOL_DIR",
        "Directory of the offline spool; empty means ~/.cache/afissue/spool.",
    )
    queue_size: int = setting(
        10_000, "AFISSUE_QUEUE_SIZE", "Records waiting for the background thread, at most."
    )
    batch_size: int = setting(100, "AFISSUE_BATCH_SIZE", "Distinct events per HTTP request.")
    flush_interval: float = setting(
        0.2, "AFISSUE_FLUSH_INTERVAL",
        "Seconds of one aggregation window / batch (10x while ingest is unreachable).",
    )
    timeout: float = setting(5.0, "AFISSUE_TIMEOUT", "HTTP connect/read timeout in seconds.")
    max_retries: int = setting(
        3, "AFISSUE_MAX_RETRIES", "In-memory retries of a batch before it is spooled."
    )
    backoff_base: float = setting(
        0.5, "AFISSUE_BACKOFF_BASE", "First retry delay in seconds (doubles, with jitter)."
    )
    backoff_max: float = setting(60.0, "AFISSUE_BACKOFF_MAX", "Longest retry delay in seconds.")
    spool_max_bytes: int = setting(
        50_000_000, "AFISSUE_SPOOL_MAX_BYTES", "Spool size bound; the oldest are dropped over it."
    )
    spool_enabled: bool = setting(True, "AFISSUE_SPOOL", "Spool undeliverable events to disk.")
    exit_timeout: float = setting(
        2.0, "AFISSUE_EXIT_TIMEOUT", "Seconds to drain at interpreter exit before spooling."
    )
    gzip_min_bytes: int = setting(
        16_384, "AFISSUE_GZIP_MIN_BYTES", "Request bodies at least this big are gzipped."
    )
    max_message_chars: int = setting(
        16_384, "AFISSUE_MAX_MESSAGE_CHARS", "Longer messages are truncated with a marker."
    )
    scrub: bool = setting(True, "AFISSUE_SCRUB", "Scrub secrets from extra, context and text.")
    scrub_keys: str = setting(
        "", "AFISSUE_SCRUB_KEYS", "Comma-separated extra key substrings to scrub."
    )
    in_app_include: str = setting(
        "", "AFISSUE_IN_APP", "Comma-separated module prefixes always counted as in-app."
    )
    # Not compared: entry points that differ only here share one sender.
    breadcrumb_level: str = dataclasses.field(
        default="INFO",
        compare=False,
        metadata={
            "env": "AFISSUE_BREADCRUMB_LEVEL",
            "doc": "Records from this level up to below the event level become breadcrumbs "
            "of the next event in the same thread, task or request (a level name or number).",
        },
    )
    max_breadcrumbs: int = dataclasses.field(
        default=50,
        compare=False,
        metadata={
            "env": "AFISSUE_MAX_BREADCRUMBS",
            "doc": "Breadcrumbs kept per thread, task or request (at most 100); 0 turns "
            "breadcrumbs off.",
        },
    )
    capture_uncaught: bool = dataclasses.field(
        default=True,
        compare=False,
        metadata={
            "env": "AFISSUE_CAPTURE_UNCAUGHT",
            "doc": "Report uncaught exceptions (sys.excepthook, threading.excepthook, a crash "
            "out of asyncio.run) as issues once a handler, processor or client exists.",
        },
    )


def default_service() -> str:
    """The service name used when none is configured: the program's file name."""
    name = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else ""
    return name or "python"


def service_identifier(name: str) -> str:
    """*name* as the API's service identifier: printable ASCII without spaces, <= 128 chars."""
    cleaned = "".join(c if "\x21" <= c <= "\x7e" else "-" for c in name.strip())[:128]
    return cleaned or "python"


def default_spool_dir() -> str:
    """The per-user default spool directory."""
    try:
        return str(Path.home() / ".cache" / "afissue" / "spool")
    except (RuntimeError, KeyError):  # no home directory (some service accounts)
        import tempfile

        return str(Path(tempfile.gettempdir()) / f"afissue-spool-{os.getuid()}")


def level_number(level: int | str) -> int:
    """A stdlib level number for a level name (any case) or number; ValueError otherwise."""
    if isinstance(level, int) and not isinstance(level, bool):
        return level
    if isinstance(level, str):
        name = level.strip()
        if name.lstrip("-").isdigit():
            return int(name)
        number = logging.getLevelName(name.upper())
        if isinstance(number, int):
            return number
    raise ValueError(f"unknown log level {level!r}; expected a level name or number")


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> ClientSettings:
    """Settings from *overrides* (not None) over *environ* (default ``os.environ``)."""
    hints = typing.get_type_hints(ClientSettings)
    names = {field.name for field in dataclasses.fields(ClientSettings)}
    unknown = set(overrides) - names
    if unknown:
        raise TypeError(f"unknown afissue client settings {sorted(unknown)}; expected {sorted(names)}")
    coerced = {
        name: _parse(name, value, hints[name])
        if isinstance(value, str) and hints[name] not in (str, str | None)
        else value
        for name, value in overrides.items()
    }
    settings = from_env(ClientSettings, os.environ if environ is None else environ, **coerced)
    changes: dict[str, Any] = {}
    service = service_identifier(settings.service or default_service())
    if service != settings.service:
        changes["service"] = service
    if not settings.spool_dir:
        changes["spool_dir"] = default_spool_dir()
    if settings.token == "":
        changes["token"] = None
    return dataclasses.replace(settings, **changes) if changes else settings
