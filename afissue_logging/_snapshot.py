"""What the caller's thread does: take a cheap snapshot of a log call and nothing more.

A snapshot keeps references (the ``LogRecord``, the exception and its traceback object,
the current ``contextvars`` context) so that walking frames, rendering, scrubbing,
fingerprinting and serialising can all happen later on the background thread. An
exception logged as the message itself (``logger.error(error)``, ``log.error(error)``)
is the snapshot's exception, with the traceback it carries (none if it was never raised).
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from afissue_logging._locals import CapturedLocals, LocalsCapture

__all__ = [
    "REPORTED_MARKER",
    "ExcInfo",
    "Snapshot",
    "snapshot_event_dict",
    "snapshot_manual",
    "snapshot_record",
]

REPORTED_MARKER = "_afissue_reported"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class Snapshot:
    """One log call, as captured on the caller's thread.

    ``count`` is the number of occurrences it stands for: 1, or more once a full queue
    coalesced later occurrences of the same storm key into it (see ``_queue``).
    """

    __slots__ = (
        "context",
        "count",
        "created",
        "event",
        "exc_info",
        "fields",
        "kind",
        "level",
        "locals",
        "logger",
        "message",
        "pid",
        "record",
        "template",
        "thread",
    )

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.count = 1
        self.record: logging.LogRecord | None = None
        self.message: str | None = None
        self.template: Any = None
        self.fields: Mapping[str, Any] = {}
        self.exc_info: ExcInfo | None = None
        self.context: contextvars.Context | None = None
        self.level = "error"
        self.logger = ""
        self.thread = ""
        self.created = 0.0
        self.pid = 0
        self.event: dict[str, Any] | None = None
        self.locals: CapturedLocals | None = None


def _exc_info(value: Any) -> ExcInfo | None:
    if value is None or value is False:
        return None
    if value is True:
        value = sys.exc_info()
    if isinstance(value, BaseException):
        return (type(value), value, value.__traceback__)
    if isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], BaseException):
        return (type(value[1]), value[1], value[2])
    return None


def _capture_locals(snap: Snapshot, capture: LocalsCapture | None) -> None:
    """Copy the in-app frames' locals now: the running frames change once the call returns."""
    if capture is not None and snap.exc_info is not None:
        snap.locals = capture(snap.exc_info[1], snap.exc_info[2])


def snapshot_record(record: logging.LogRecord, capture: LocalsCapture | None = None) -> Snapshot:
    """Snapshot a stdlib record: keep it, and render its message if that is cheap and safe;
    with *capture*, copy the locals of its exception's in-app frames."""
    snap = Snapshot("record")
    snap.record = record
    try:
        snap.message = record.getMessage()
    except Exception:  # noqa: BLE001 - bad % args are rendered safely later
        snap.message = None
    exc = record.exc_info
    if exc and exc[1] is not None:
        snap.exc_info = (exc[0] or type(exc[1]), exc[1], exc[2])
    elif isinstance(record.msg, BaseException):
        # logger.error(error): the error is the event, with its traceback if it was raised.
        snap.exc_info = _exc_info(record.msg)
    _capture_locals(snap, capture)
    snap.context = contextvars.copy_context()
    return snap


_LEVELS = {
    "exception": "error",
    "err": "error",
    "warn": "warning",
    "fatal": "critical",
    "msg": "info",
}


def snapshot_event_dict(
    logger_name: str,
    method_name: str,
    event_dict: Mapping[str, Any],
    capture: LocalsCapture | None = None,
) -> Snapshot:
    """Snapshot a structlog event dict (a shallow copy; ``exc_info`` resolved now; with
    *capture*, the locals of its exception's in-app frames copied)."""
    snap = Snapshot("structlog")
    fields = dict(event_dict)
    event = fields.pop("event", None)
    snap.template = event
    snap.message = event if isinstance(event, str) else None
    snap.exc_info = _exc_info(fields.pop("exc_info", None))
    if snap.exc_info is None and isinstance(event, BaseException):
        snap.exc_info = _exc_info(event)
    level = fields.pop("level", None)
    snap.level = _LEVELS.get(method_name, method_name)
    if isinstance(level, str) and method_name not in _LEVELS and level:
        snap.level = _LEVELS.get(level.lower(), level.lower())
    logger = fields.pop("logger", None) or logger_name
    snap.logger = logger if isinstance(logger, str) else ""
    fields.pop(REPORTED_MARKER, None)
    snap.fields = fields
    snap.thread = threading.current_thread().name
    snap.created = time.time()
    snap.pid = os.getpid()
    _capture_locals(snap, capture)
    snap.context = contextvars.copy_context()
    return snap


def snapshot_manual(event: dict[str, Any]) -> Snapshot:
    """Wrap an event built by ``IssueTrackerClient.log_issue`` (already wire-shaped)."""
    snap = Snapshot("manual")
    snap.event = event
    snap.created = time.time()
    snap.pid = os.getpid()
    snap.thread = threading.current_thread().name
    snap.context = contextvars.copy_context()
    return snap
