"""``IssueHandler``: the stdlib ``logging`` entry point of afissue.

``emit`` runs on the application's thread, so it only snapshots the record and hands it
to the process-wide sender with ``put_nowait``. It never raises, never blocks and never
recurses: records of the handler's own loggers and of the HTTP stack, records emitted by
the sender thread itself, and records already reported by :class:`IssueProcessor` are
ignored; a record of an exception object that was already reported is skipped by the
sender (:mod:`._reported`). Unless ``capture_uncaught=False``, the handler also reports
uncaught exceptions (:mod:`._uncaught`) until it is closed.

Breadcrumbs: records from ``breadcrumb_level`` (default INFO) up to below the event level
are added to the current context's trail (:mod:`._breadcrumbs`) instead. So that the
logging machinery hands them to ``emit`` at all, the handler's ``level`` attribute is the
lower of the two levels; ``setLevel`` and the ``level`` keyword set the *event* level
(``event_level``), as for any handler.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from afissue_logging import _breadcrumbs, _uncaught
from afissue_logging._registry import get_sender
from afissue_logging._sender import Sender
from afissue_logging._snapshot import REPORTED_MARKER, snapshot_record
from afissue_logging._transport import Transport
from afissue_logging.settings import ClientSettings, level_number, load_settings
from afissue_logging.wire import MAX_BREADCRUMBS

__all__ = ["IGNORED_LOGGERS", "IssueHandler"]

IGNORED_LOGGERS: tuple[str, ...] = (
    "afissue_logging",
    "urllib3",
    "requests",
    "httpx",
    "httpcore",
    "http.client",
    "h11",
    "h2",
    "hpack",
    "aiohttp.client",
)
_IGNORED_PREFIXES = tuple(name + "." for name in IGNORED_LOGGERS)


_ignored_cache: dict[str, bool] = {}


def _ignored(name: str) -> bool:
    cached = _ignored_cache.get(name)
    if cached is None:
        cached = name in IGNORED_LOGGERS or name.startswith(_IGNORED_PREFIXES)
        if len(_ignored_cache) < 10_000:
            _ignored_cache[name] = cached
    return cached


def _already_reported(record: logging.LogRecord) -> bool:
    msg = record.msg
    if isinstance(msg, dict):
        return bool(msg.get(REPORTED_MARKER))
    if REPORTED_MARKER in record.__dict__:
        return True
    # A renderer ran before stdlib: the marker is inside the rendered text (bounded search).
    return isinstance(msg, str) and len(msg) < 65_536 and REPORTED_MARKER in msg


class IssueHandler(logging.Handler):
    """Turns records at or above *level* (default ERROR) into afissue issue events.

    Keyword arguments mirror the ``AFISSUE_*`` environment variables (``url``, ``token``,
    ``service``, ``environment``, ``release``, ``spool_dir``) and win over them; any other
    :class:`~afissue_logging.settings.ClientSettings` field (``batch_size``,
    ``flush_interval``, ...) may be passed too. *transport* replaces HTTP (tests).
    ``capture_uncaught=False`` leaves ``sys.excepthook`` / ``threading.excepthook`` alone.
    ``breadcrumb_level`` / ``max_breadcrumbs`` (``max_breadcrumbs=0``: off) set which
    records below *level* become breadcrumbs of the next event; ``level`` then reads the
    lower of the two, ``event_level`` the event level.
    """

    event_level: int

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
        super().__init__(level)
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
        self._transport = transport
        self._crumbs = min(max(self.settings.max_breadcrumbs, 0), MAX_BREADCRUMBS)
        self._crumb_level = level_number(self.settings.breadcrumb_level)
        self.setLevel(level)
        self._sender: Sender = get_sender(self.settings, transport)
        self._sender.start_if_spooled()
        self._captures_uncaught = self.settings.capture_uncaught
        if self._captures_uncaught:
            _uncaught.install(self._sender)

    @property
    def sender(self) -> Sender:
        """The process-wide sender this handler feeds (re-resolved after ``reset``)."""
        return self._sender

    def setLevel(self, level: int | str) -> None:
        """Set the event level; ``level`` becomes the lower of it and the breadcrumb level."""
        super().setLevel(level)
        self.event_level = self.level
        if self._crumbs and self._crumb_level < self.level:
            self.level = self._crumb_level

    def handle(self, record: logging.LogRecord) -> bool:
        """Filter and emit without taking the handler lock: the sender's queue is thread-safe."""
        if record.levelno < self.event_level:
            # A breadcrumb: the common case of every INFO record, kept short.
            passed: Any = True
            try:
                passed = not self.filters or self.filter(record)
                if passed and not (_ignored_cache.get(record.name) or _ignored(record.name)):
                    _breadcrumbs.add_record(record, self._crumbs)
            except Exception:  # noqa: BLE001 - logging must never break the application
                self._sender.count_internal()
            return bool(passed)
        result: Any = self.filter(record)
        if isinstance(result, logging.LogRecord):
            record = result
        if result:
            self.emit(record)
        return bool(result)

    def emit(self, record: logging.LogRecord) -> None:
        """Snapshot *record* and enqueue it; never raises, never blocks."""
        try:
            if record.levelno < self.event_level:
                if not _ignored(record.name):
                    _breadcrumbs.add_record(record, self._crumbs)
                return
            if (
                _ignored(record.name)
                or threading.get_ident() == self._sender.thread_ident
                or _already_reported(record)
            ):
                return
            self._sender.submit(snapshot_record(record))
        except Exception:  # noqa: BLE001 - logging must never break the application
            self._sender.count_internal()

    def flush(self, timeout: float | None = None) -> bool:  # type: ignore[override]
        """Deliver or spool everything emitted so far; True if everything emitted since
        the previous flush was delivered, False if *timeout* ran out or some of it had to
        be spooled or was dropped (``stats()`` says which).

        Without *timeout* (as ``logging.shutdown`` calls it) waits at most ``exit_timeout``.
        """
        try:
            return self._sender.flush(self.settings.exit_timeout if timeout is None else timeout)
        except Exception:  # noqa: BLE001
            return False

    def close(self) -> None:
        """Flush (bounded by ``exit_timeout``), stop reporting uncaught exceptions through
        this handler, and detach; the shared sender keeps running.

        The sender is process-wide (other handlers and processors may feed it); it is
        drained and stopped at interpreter exit. The exception hooks are restored when no
        handler, processor or client that installed them is left.
        """
        self.flush()
        if self._captures_uncaught:
            self._captures_uncaught = False
            _uncaught.uninstall(self._sender)
        super().close()

    def stats(self) -> dict[str, Any]:
        """queued, pending, sent, aggregated, retried, spooled, replayed, dropped by reason."""
        return self._sender.stats()
