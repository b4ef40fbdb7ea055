"""Snapshot -> wire event, on the background thread: render, walk, scrub, fingerprint.

:meth:`EventBuilder.build` never raises for any snapshot (the sender still guards it and
counts an ``internal`` drop if it ever did). :meth:`EventBuilder.raw_key` gives a cheap
key for storm aggregation: snapshots with equal raw keys have equal fingerprints.
Given that key, ``build`` takes the parts it determines (walked frames, scrubbed
template, fingerprint) from an :class:`~afissue_logging._event_cache.EventCache`, so
each new window's first occurrence of a known error costs little.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping, Sequence
from typing import Any

from afissue_logging._breadcrumbs_field import breadcrumbs_field
from afissue_logging._event_cache import CachedParts, EventCache
from afissue_logging._exceptions import InAppRule, exception_title, exception_to_dict
from afissue_logging._request import request_field
from afissue_logging._safe import json_safe, safe_repr, text
from afissue_logging._snapshot import REPORTED_MARKER, Snapshot
from afissue_logging._storm_key import cache_key, exception_values, storm_key
from afissue_logging.fingerprint import GROUPING_VERSION, compute_fingerprint, first_line
from afissue_logging.scrub import Scrubber
from afissue_logging.settings import ClientSettings
from afissue_logging.wire import (
    EventDict,
    ExceptionDict,
    firestore_safe,
    format_timestamp,
    new_event_id,
)

__all__ = [
    "STANDARD_RECORD_ATTRS",
    "EventBuilder",
    "normalize_level",
    "render_record_message",
]

STANDARD_RECORD_ATTRS = frozenset(
    {
        *logging.makeLogRecord({}).__dict__,
        "message",
        "asctime",
        "taskName",
    }
)
_TRACE_KEYS = ("trace_id", "traceId", "otelTraceID", "trace")
_REQUEST_KEYS = ("request_id", "requestId", "x_request_id")
_CONTEXTVAR_PREFIX = "structlog_"
_TITLE_CHARS = 200
_SHORT = 256  # the ingest API's bound on short text fields
_SHORT_FIELDS = ("logger", "thread", "trace_id", "request_id", "type", "priority", "reporter_id")
_LEVELS = ("debug", "info", "warning", "error", "critical")
_LEVEL_ALIASES = {"warn": "warning", "fatal": "critical", "exception": "error", "err": "error",
                  "msg": "info", "notset": "debug"}


def normalize_level(level: Any) -> str:
    """One of the API's five level names for a stdlib / structlog level name or number."""
    if isinstance(level, int) and not isinstance(level, bool):
        if level >= logging.CRITICAL:
            return "critical"
        if level >= logging.ERROR:
            return "error"
        if level >= logging.WARNING:
            return "warning"
        return "info" if level >= logging.INFO else "debug"
    if isinstance(level, str):
        low = level.strip().lower()
        low = _LEVEL_ALIASES.get(low, low)
        if low in _LEVELS:
            return low
        number = logging.getLevelName(level.strip().upper())
        if isinstance(number, int):
            return normalize_level(number)
    return "error"


def render_record_message(msg: Any, args: Any, limit: int) -> str:
    """``msg % args`` as logging would, or a readable fallback when that fails."""
    template = text(msg, limit)
    if not args:
        return template
    try:
        return text(str(msg) % args, limit)
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt | SystemExit):
            raise
        return text(
            f"{template} [afissue: formatting failed ({type(error).__name__}); "
            f"args={safe_repr(args, 1_000)}]",
            limit,
        )


def _level_name(record: logging.LogRecord) -> str:
    name = record.levelname.lower() if isinstance(record.levelname, str) else ""
    if name in ("debug", "info", "warning", "error", "critical"):
        return name
    if record.levelno >= logging.CRITICAL:
        return "critical"
    if record.levelno >= logging.ERROR:
        return "error"
    return "warning" if record.levelno >= logging.WARNING else "info"


class EventBuilder:
    """Builds wire events for one settings object."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        self.scrubber = Scrubber(
            settings.scrub, [k for k in settings.scrub_keys.split(",") if k.strip()]
        )
        self.in_app = InAppRule(settings.in_app_include.split(","))
        self.cache = EventCache()
        try:
            self.host = socket.gethostname()
        except OSError:
            self.host = "unknown"

    # -- aggregation key -------------------------------------------------------------

    def raw_key(self, snap: Snapshot) -> tuple[Any, ...] | None:
        """A key with equal-key => equal-fingerprint, or None when there is no cheap one
        (:func:`~afissue_logging._storm_key.storm_key`)."""
        return storm_key(snap)

    # -- building ---------------------------------------------------------------------

    def build(self, snap: Snapshot, raw_key: tuple[Any, ...] | None = None) -> EventDict:
        """The complete wire event of *snap* (its count, fingerprint set).

        With its *raw_key* the parts the key determines come from the cache when an
        earlier occurrence built them; id, timestamp, message, exception values and
        context are always this occurrence's own.
        """
        if snap.kind == "manual" and snap.event is not None:
            return self._finish_manual(snap)
        key = cache_key(snap, raw_key)
        cached = self.cache.get(key) if key is not None else None
        limit = self.settings.max_message_chars
        event: dict[str, Any] = {"event_id": new_event_id()}
        fields: Mapping[str, Any]
        if snap.kind == "record" and snap.record is not None:
            record = snap.record
            message = (
                text(snap.message, limit)
                if snap.message is not None
                else render_record_message(record.msg, record.args, limit)
            )
            # A non-string msg was rendered by getMessage() on the caller's thread: the
            # same text is its template (and the storm key's), not a second str() here.
            template = (
                text(record.msg, limit)
                if isinstance(record.msg, str) or record.args or snap.message is None
                else message
            )
            fields = {
                k: v
                for k, v in record.__dict__.items()
                if k not in STANDARD_RECORD_ATTRS and k != REPORTED_MARKER
            }
            event.update(
                timestamp=format_timestamp(record.created),
                level=_level_name(record),
                logger=text(record.name, 200),
                pid=record.process if isinstance(record.process, int) else os.getpid(),
                thread=text(record.threadName or "", 200),
            )
        else:
            message = text(snap.message if snap.message is not None else snap.template, limit)
            template = message
            fields = snap.fields
            event.update(
                timestamp=format_timestamp(snap.created),
                level=snap.level,
                logger=text(snap.logger, 200),
                pid=snap.pid,
                thread=text(snap.thread, 200),
            )
        override, fields = self._split_fields(fields, snap, event)
        scrub = self.scrubber
        event["message"] = scrub.text(message)
        shared = cached is not None and cached.override == override
        if shared and cached is not None and cached.template is not None:
            event["message_template"] = cached.template
        else:
            event["message_template"] = scrub.text(template)
        exc: ExceptionDict | None = None
        if snap.exc_info is not None:
            exc = self._exception(snap.exc_info, cached.exception if cached else None)
            event["exception"] = exc
            title = exception_title(exc)
        else:
            title = first_line(event["message"]) or "(empty message)"
        event["title"] = text(title, _TITLE_CHARS)
        self._add_common(event)
        self._add_request(event, snap)
        self._add_breadcrumbs(event, snap)
        if shared and cached is not None:
            event["fingerprint"] = cached.fingerprint
        else:
            event["fingerprint"] = compute_fingerprint(event, override)
            if key is not None and cached is None:
                self.cache.put(
                    key,
                    CachedParts(
                        event["message_template"] if snap.kind == "record" else None,
                        exc,
                        override,
                        event["fingerprint"],
                    ),
                )
        event["count"] = snap.count
        return event  # type: ignore[return-value]

    def _exception(self, exc_info: Any, cached: ExceptionDict | None) -> ExceptionDict:
        """The scrubbed wire exception; with *cached* (same frames) only values are new."""
        if cached is not None:
            value, chain_values = exception_values(exc_info[1])
            chain = cached.get("chain", [])
            if len(chain_values) == len(chain):
                exc: Any = dict(cached)
                exc["value"] = self.scrubber.text(value)
                if chain:
                    exc["chain"] = [
                        {**entry, "value": self.scrubber.text(v)}
                        for entry, v in zip(chain, chain_values, strict=True)
                    ]
                return exc  # type: ignore[no-any-return]
        exc = exception_to_dict(exc_info[1], exc_info[2], self.in_app)
        self._scrub_exception(exc)
        return exc  # type: ignore[no-any-return]

    def _split_fields(
        self, fields: Mapping[str, Any], snap: Snapshot, event: dict[str, Any]
    ) -> tuple[list[str] | None, dict[str, Any]]:
        merged: dict[str, Any] = {}
        if snap.context is not None:
            for var, value in snap.context.items():
                name = var.name
                if name.startswith(_CONTEXTVAR_PREFIX) and value is not Ellipsis:
                    merged[name[len(_CONTEXTVAR_PREFIX):]] = value
        merged.update(fields)
        override_raw = merged.pop("fingerprint", None)
        override: list[str] | None = None
        if isinstance(override_raw, str):
            override = [override_raw]
        elif isinstance(override_raw, list | tuple):
            override = [text(item, 500) for item in override_raw]
        tags = merged.pop("tags", None)
        if isinstance(tags, Mapping):
            event["tags"] = {
                text(k, 200): self.scrubber.text(text(v, 200)) for k, v in list(tags.items())[:50]
            }
        for target, keys in (("trace_id", _TRACE_KEYS), ("request_id", _REQUEST_KEYS)):
            for key in keys:
                value = merged.get(key)
                if value is not None and value != "":
                    merged.pop(key)
                    event[target] = text(value, 200)
                    break
        for key in ("exception", "stack_info", "timestamp"):
            merged.pop(key, None)
        extra = json_safe(merged)
        if extra:
            # As the issue document will hold it (ingest and consumer apply the same rule):
            # the user sees a matrix as rows of JSON text, not an event refused later.
            event["extra"] = firestore_safe(self.scrubber.mapping(extra))
        return override, merged

    def _scrub_exception(self, exc: Any) -> None:
        exc["value"] = self.scrubber.text(exc["value"])
        for related in (*exc.get("chain", ()), *exc.get("children", ())):
            self._scrub_exception(related)

    def _add_common(self, event: dict[str, Any]) -> None:
        settings = self.settings
        event["service"] = settings.service
        event["environment"] = text(settings.environment, _SHORT)
        if settings.release:
            event["release"] = text(settings.release, _SHORT)
        event["host"] = text(self.host, _SHORT)
        event["grouping_version"] = GROUPING_VERSION
        event["level"] = normalize_level(event.get("level"))
        for key in _SHORT_FIELDS:
            value = event.get(key)
            if value is not None:
                event[key] = text(value, _SHORT)

    def _add_request(self, event: dict[str, Any], snap: Snapshot) -> None:
        """The request the log call was made in, when an integration bound one."""
        request = request_field(snap.context, self.scrubber)
        if request is not None:
            event["request"] = request

    def _add_breadcrumbs(self, event: dict[str, Any], snap: Snapshot) -> None:
        """The records that came before the log call in its thread, task or request."""
        breadcrumbs = breadcrumbs_field(snap.context, self.scrubber)
        if breadcrumbs is not None:
            event["breadcrumbs"] = breadcrumbs

    def _finish_manual(self, snap: Snapshot) -> EventDict:
        safe = json_safe(snap.event or {})
        event: dict[str, Any] = safe if isinstance(safe, dict) else {}
        if isinstance(event.get("tags"), dict):
            event["tags"] = {k: text(v, 200) for k, v in event["tags"].items()}
        event.setdefault("timestamp", format_timestamp(snap.created))
        event.setdefault("pid", snap.pid)
        event.setdefault("thread", snap.thread)
        event.setdefault("level", "error")
        override_raw = event.pop("fingerprint", None)
        override: Sequence[Any] | None = None
        if isinstance(override_raw, str):
            override = [override_raw]
        elif isinstance(override_raw, list | tuple):
            override = list(override_raw)
        extra = event.get("extra")
        if isinstance(extra, Mapping):
            event["extra"] = firestore_safe(self.scrubber.mapping(json_safe(extra)))
        for key in ("title", "description", "message"):
            if isinstance(event.get(key), str):
                event[key] = self.scrubber.text(text(event[key], self.settings.max_message_chars))
        self._add_common(event)
        self._add_request(event, snap)
        self._add_breadcrumbs(event, snap)
        event["fingerprint"] = compute_fingerprint(event, override)
        event.setdefault("count", 1)
        return event  # type: ignore[return-value]
