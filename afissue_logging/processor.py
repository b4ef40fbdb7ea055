"""``IssueProcessor``: the structlog entry point of afissue.

A structlog processor in the library's own conventions: settings in ``__init__``, work in
``__call__(logger, method_name, event_dict)``, which returns the event dict. The level
comes from the method name (``exception`` is an error); ``exc_info`` is resolved on the
caller's thread and walked on the sender's. The event dict is marked as reported, so an
``IssueHandler`` further down a structlog -> stdlib route does not report it again, and
so is its exception (:mod:`._reported`): an exception object is reported once. An event
with an ``exception`` field but no ``exc_info`` means structlog's ``format_exc_info`` (or
``dict_tracebacks``) ran first and took the traceback away: that is said once on stderr.
Unless ``capture_uncaught=False``, the processor also makes uncaught exceptions issues
(:mod:`._uncaught`). Events from ``breadcrumb_level`` up to below the event level are
added to the same per-context breadcrumb trail as the handler's records
(:mod:`._breadcrumbs`): the ``event`` text and the other fields' plain values.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from afissue_logging import _breadcrumbs, _uncaught
from afissue_logging._registry import get_sender
from afissue_logging._sender import Sender
from afissue_logging._snapshot import REPORTED_MARKER, snapshot_event_dict
from afissue_logging._transport import Transport
from afissue_logging._warnings import Once
from afissue_logging.settings import ClientSettings, level_number, load_settings
from afissue_logging.wire import MAX_BREADCRUMBS

__all__ = ["IssueProcessor"]

_METHOD_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "msg": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "err": logging.ERROR,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}
# Keys a breadcrumb carries elsewhere, or that are not data.
_NOT_BREADCRUMB_DATA = frozenset(
    {"event", "level", "logger", "timestamp", "exc_info", "stack_info", REPORTED_MARKER}
)
_FORMATTED_TOO_EARLY = (
    "IssueProcessor got an event with an 'exception' field but no exc_info: structlog's "
    "format_exc_info or dict_tracebacks runs before it, so issues arrive without stack "
    "traces. Put IssueProcessor before them in the processor chain."
)


def _level_number(level: int | str) -> int:
    if isinstance(level, int):
        return level
    return _METHOD_LEVELS.get(level.lower(), logging.ERROR)


class IssueProcessor:
    """Reports structlog events at or above *level* (default ``"error"``) as issue events.

    Takes the same keyword arguments as :class:`~afissue_logging.IssueHandler` and feeds
    the same process-wide sender; ``capture_uncaught=False`` leaves the exception hooks
    alone.
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        token: str | None = None,
        service: str | None = None,
        environment: str | None = None,
        release: str | None = None,
        spool_dir: str | None = None,
        level: int | str = logging.ERROR,
        transport: Transport | None = None,
        capture_uncaught: bool | None = None,
        **tuning: Any,
    ) -> None:
        self.settings: ClientSettings = load_settings(
            None,
            url=url,
            token=token,
            service=service,
            environment=environment,
            release=release,
            spool_dir=spool_dir,
            capture_uncaught=capture_uncaught,
            **tuning,
        )
        self.level = _level_number(level)
        self._crumbs = min(max(self.settings.max_breadcrumbs, 0), MAX_BREADCRUMBS)
        self._crumb_level = level_number(self.settings.breadcrumb_level)
        self._sender: Sender = get_sender(self.settings, transport)
        self._sender.start_if_spooled()
        self._warned = Once()
        if self.settings.capture_uncaught:
            _uncaught.install(self._sender)

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        """Snapshot and enqueue *event_dict* if its level qualifies; return it marked."""
        try:
            if event_dict.get(REPORTED_MARKER):
                return event_dict
            level = _METHOD_LEVELS.get(method_name)
            if level is None:
                named = event_dict.get("level")
                level = _level_number(named) if isinstance(named, str) else logging.INFO
            if level < self.level:
                if self._crumbs and level >= self._crumb_level:
                    self._breadcrumb(logger, level, event_dict)
                return event_dict
            name = getattr(logger, "name", "")
            snap = snapshot_event_dict(name if isinstance(name, str) else "", method_name, event_dict)
            if snap.exc_info is None and "exception" in event_dict:
                self._warned("formatted", _FORMATTED_TOO_EARLY)
            self._sender.submit(snap)
            event_dict[REPORTED_MARKER] = True
        except Exception:  # noqa: BLE001 - logging must never break the application
            self._sender.count_internal()
        return event_dict

    def _breadcrumb(
        self, logger: Any, level: int, event_dict: MutableMapping[str, Any]
    ) -> None:
        name = event_dict.get("logger") or getattr(logger, "name", "")
        fields = {k: v for k, v in event_dict.items() if k not in _NOT_BREADCRUMB_DATA}
        _breadcrumbs.add_event(
            name if isinstance(name, str) else "",
            level,
            event_dict.get("event"),
            fields,
            self._crumbs,
        )

    def flush(self, timeout: float | None = None) -> bool:
        """Deliver or spool everything reported so far; whether all of it since the
        previous flush was delivered (see ``IssueHandler.flush``)."""
        return self._sender.flush(self.settings.exit_timeout if timeout is None else timeout)

    def stats(self) -> dict[str, Any]:
        """The shared sender's counters (see ``IssueHandler.stats``)."""
        return self._sender.stats()
