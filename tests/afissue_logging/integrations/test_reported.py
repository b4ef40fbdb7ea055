"""integrations._reported: repeats of a reported error reach every handler but afissue's."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from afissue_logging._reported import claim
from afissue_logging.integrations._reported import (
    RepeatMarker,
    exception_already_reported,
    mark_repeats,
    response_without_exception,
)
from tests.afissue_logging.integrations.conftest import Reported


@pytest.fixture
def server_logger() -> Iterator[logging.Logger]:
    """A logger standing for a server's error logger, without filters afterwards."""
    logger = logging.getLogger("tests.server.error")
    yield logger
    logger.filters.clear()


class TestMarks:
    def test_predicates(self) -> None:
        """Repeat rules: an exception afissue reported; an error record without an exception."""
        error = KeyError("k")
        claim(error)
        with_marked = logging.makeLogRecord(
            {"levelno": logging.ERROR, "exc_info": (KeyError, error, None)}
        )
        with_other = logging.makeLogRecord(
            {"levelno": logging.ERROR, "exc_info": (KeyError, KeyError("k"), None)}
        )
        plain_error = logging.makeLogRecord({"levelno": logging.ERROR})
        plain_warning = logging.makeLogRecord({"levelno": logging.WARNING})
        assert exception_already_reported(with_marked)
        assert not exception_already_reported(with_other)
        assert not exception_already_reported(plain_error)
        assert response_without_exception(plain_error)
        assert not response_without_exception(plain_warning)
        assert not response_without_exception(with_other)


class TestRepeatMarker:
    def test_repeat_goes_to_other_handlers_only(
        self, server_logger: logging.Logger, reported: Reported
    ) -> None:
        """A repeated exception is skipped by IssueHandler, still passed to the rest."""
        seen: list[str] = []
        other = logging.Handler()
        other.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
        logging.getLogger().addHandler(other)
        try:
            mark_repeats([server_logger.name], exception_already_reported)
            mark_repeats([server_logger.name], exception_already_reported)  # idempotent
            assert sum(isinstance(f, RepeatMarker) for f in server_logger.filters) == 1
            first, second = RuntimeError("reported"), RuntimeError("not reported")
            claim(first)
            for error in (first, second):
                server_logger.error("Exception in application", exc_info=error)
        finally:
            logging.getLogger().removeHandler(other)
        events = reported.events()
        assert [e["title"] for e in events] == ["RuntimeError: not reported"]
        assert seen == ["Exception in application"] * 2
