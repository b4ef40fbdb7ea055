"""IssueProcessor: structlog events are reported once, also when routed through stdlib."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from afissue_logging import IssueHandler, IssueProcessor
from afissue_logging._snapshot import REPORTED_MARKER
from afissue_logging.testing import CapturingTransport


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    """structlog's global configuration is restored after every test."""
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


@pytest.fixture
def stdlib_logger() -> Iterator[logging.Logger]:
    """A clean, non-propagating stdlib logger."""
    log = logging.getLogger("tests.structlog")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    yield log
    log.handlers.clear()


class TestIssueProcessor:
    def test_follows_processor_protocol(self, spool_dir: str) -> None:
        """__call__(logger, method_name, event_dict) returns the (marked) event dict."""
        processor = IssueProcessor(service="s", spool_dir=spool_dir, transport=CapturingTransport())
        event_dict: dict[str, Any] = {"event": "x"}
        assert processor(None, "error", event_dict) is event_dict
        assert event_dict[REPORTED_MARKER] is True
        info: dict[str, Any] = {"event": "fine"}
        assert processor(None, "info", info) == {"event": "fine"}

    def test_exception_method_is_error_with_traceback(self, spool_dir: str) -> None:
        """log.exception() reports level error with the exception, and bound context."""
        transport = CapturingTransport()
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                IssueProcessor(service="s", spool_dir=spool_dir, transport=transport),
                structlog.processors.KeyValueRenderer(),
            ],
            logger_factory=structlog.ReturnLoggerFactory(),
        )
        structlog.contextvars.bind_contextvars(request_id="req-7")
        log = structlog.get_logger("svc").bind(user=5)
        try:
            raise KeyError("missing")
        except KeyError:
            log.exception("lookup failed")
        log.info("not reported")
        assert IssueProcessor(service="s", spool_dir=spool_dir, transport=transport).flush(10)
        (event,) = transport.events
        assert event["level"] == "error"
        assert event["message"] == "lookup failed"
        assert event["exception"]["type"] == "KeyError"
        assert event["request_id"] == "req-7"
        assert event["extra"] == {"user": 5}

    def test_no_double_report_via_processor_formatter(
        self, spool_dir: str, stdlib_logger: logging.Logger
    ) -> None:
        """structlog -> ProcessorFormatter.wrap_for_formatter -> IssueHandler: reported once."""
        transport = CapturingTransport()
        processor = IssueProcessor(service="s", spool_dir=spool_dir, transport=transport)
        handler = IssueHandler(service="s", spool_dir=spool_dir, transport=transport)
        handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(processors=[structlog.processors.JSONRenderer()])
        )
        stdlib_logger.addHandler(handler)
        structlog.configure(
            processors=[processor, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
        )
        structlog.get_logger("tests.structlog").error("once only")
        stdlib_logger.error("plain stdlib error")
        assert handler.flush(10)
        assert sorted(e["message"] for e in transport.events) == ["once only", "plain stdlib error"]
        assert transport.occurrences() == 2

    def test_no_double_report_via_render_to_log_kwargs(
        self, spool_dir: str, stdlib_logger: logging.Logger
    ) -> None:
        """structlog -> render_to_log_kwargs -> stdlib IssueHandler: reported once."""
        transport = CapturingTransport()
        handler = IssueHandler(service="s", spool_dir=spool_dir, transport=transport)
        stdlib_logger.addHandler(handler)
        structlog.configure(
            processors=[
                IssueProcessor(service="s", spool_dir=spool_dir, transport=transport),
                structlog.stdlib.render_to_log_kwargs,
            ],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
        )
        structlog.get_logger("tests.structlog").error("kwargs route", order=3)
        assert handler.flush(10)
        assert [e["message"] for e in transport.events] == ["kwargs route"]
        assert transport.occurrences() == 1
        assert transport.events[0]["extra"] == {"order": 3}

    def test_an_exception_the_processor_reported_is_not_reported_again(
        self, spool_dir: str, stdlib_logger: logging.Logger
    ) -> None:
        """An exception the processor reported stays one occurrence when it is logged
        again, through plain stdlib or through the processor."""
        transport = CapturingTransport()
        processor = IssueProcessor(service="s", spool_dir=spool_dir, transport=transport)
        handler = IssueHandler(service="s", spool_dir=spool_dir, transport=transport)
        stdlib_logger.addHandler(handler)
        try:
            raise KeyError("missing")
        except KeyError as error:
            processor(None, "exception", {"event": "structlog saw it", "exc_info": True})
            stdlib_logger.error("stdlib saw it too", exc_info=error)
            again: dict[str, Any] = {"event": "and again", "exc_info": error}
            assert processor(None, "error", again)[REPORTED_MARKER] is True
        assert handler.flush(10)
        assert [e["message"] for e in transport.events] == ["structlog saw it"]
        assert transport.occurrences() == 1

    def test_stdlib_only_route_reported_by_handler(
        self, spool_dir: str, stdlib_logger: logging.Logger
    ) -> None:
        """Without IssueProcessor, structlog -> stdlib errors are reported by the handler."""
        transport = CapturingTransport()
        handler = IssueHandler(service="s", spool_dir=spool_dir, transport=transport)
        stdlib_logger.addHandler(handler)
        structlog.configure(
            processors=[structlog.stdlib.render_to_log_kwargs],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
        )
        structlog.get_logger("tests.structlog").error("via handler")
        assert handler.flush(10)
        assert [e["message"] for e in transport.events] == ["via handler"]

    def test_level_threshold(self, spool_dir: str) -> None:
        """level="warning" also reports warnings; "warn" maps to warning."""
        transport = CapturingTransport()
        processor = IssueProcessor(
            service="s", spool_dir=spool_dir, transport=transport, level="warning"
        )
        processor(None, "warn", {"event": "careful"})
        processor(None, "info", {"event": "fine"})
        assert processor.flush(10)
        assert [(e["message"], e["level"]) for e in transport.events] == [("careful", "warning")]
