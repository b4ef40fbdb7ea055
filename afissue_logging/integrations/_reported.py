"""Keeping a framework's or a server's repeat of an error from becoming a second issue.

Servers and frameworks log their own line about an error an integration has already
reported, or about a response the application chose to send: uvicorn's ``Exception in
ASGI application`` for an exception the ASGI middleware logged with its request, Django's
``Service Unavailable: /path`` for a 503 the view returned after logging its own error.
A :class:`RepeatMarker` on such a logger marks those records as reported, the way
:class:`~afissue_logging.IssueProcessor` marks the events it reported: ``IssueHandler``
skips them, every other handler (the console) still gets them unchanged.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable

from afissue_logging._snapshot import REPORTED_MARKER

__all__ = [
    "RepeatMarker",
    "exception_already_reported",
    "mark_repeats",
    "mark_reported",
    "response_without_exception",
    "was_reported",
]


def mark_reported(error: BaseException) -> None:
    """Remember that *error* has been reported (an exception that takes no attributes
    is simply not remembered: a repeat is then reported too)."""
    with contextlib.suppress(Exception):  # __slots__, or a read-only exception type
        setattr(error, REPORTED_MARKER, True)


def was_reported(error: BaseException) -> bool:
    """Whether :func:`mark_reported` marked *error*."""
    try:
        return getattr(error, REPORTED_MARKER, False) is True
    except Exception:  # noqa: BLE001 - an exception class with a hostile __getattr__
        return False


def exception_already_reported(record: logging.LogRecord) -> bool:
    """Whether *record* carries an exception that :func:`mark_reported` marked."""
    exc_info = record.exc_info
    if not exc_info or exc_info[1] is None:
        return False
    return was_reported(exc_info[1])


def response_without_exception(record: logging.LogRecord) -> bool:
    """Whether *record* is an error about a response, logged without an exception."""
    return record.levelno >= logging.ERROR and not (record.exc_info and record.exc_info[1])


class RepeatMarker(logging.Filter):
    """Marks the records *is_repeat* recognises as already reported; drops nothing."""

    def __init__(self, is_repeat: Callable[[logging.LogRecord], bool]) -> None:
        super().__init__()
        self.is_repeat = is_repeat

    def filter(self, record: logging.LogRecord) -> bool:
        if self.is_repeat(record):
            record.__dict__[REPORTED_MARKER] = True
        return True


def mark_repeats(
    logger_names: Iterable[str], is_repeat: Callable[[logging.LogRecord], bool]
) -> None:
    """Put a :class:`RepeatMarker` for *is_repeat* on each named logger, once."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(
            isinstance(f, RepeatMarker) and f.is_repeat is is_repeat for f in logger.filters
        ):
            logger.addFilter(RepeatMarker(is_repeat))
