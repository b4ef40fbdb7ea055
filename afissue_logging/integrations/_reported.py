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

import logging
from collections.abc import Callable, Iterable

from afissue_logging._reported import is_reported
from afissue_logging._snapshot import REPORTED_MARKER

__all__ = [
    "RepeatMarker",
    "exception_already_reported",
    "mark_repeats",
    "response_without_exception",
]


def exception_already_reported(record: logging.LogRecord) -> bool:
    """Whether *record* carries an exception afissue already reported (:mod:`.._reported`)."""
    exc_info = record.exc_info
    if not exc_info or exc_info[1] is None:
        return False
    return is_reported(exc_info[1])


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
