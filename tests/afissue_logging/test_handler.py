"""IssueHandler: stdlib records become issue events at the (real, local) HTTP capture server."""

from __future__ import annotations

import logging
import logging.config
import threading
from collections.abc import Iterator, Mapping

import pytest

from afissue_logging import IssueHandler, _breadcrumbs
from afissue_logging._reported import is_reported
from afissue_logging._transport import Response
from afissue_logging.testing import CapturingTransport
from tests.afissue_logging.capture_server import CaptureServer


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    """A non-propagating logger without handlers, cleaned up afterwards."""
    log = logging.getLogger("tests.app")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)


class _GatedTransport(CapturingTransport):
    """Holds its first request until ``gate`` is set (``entered`` says it arrived)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.gate = threading.Event(), threading.Event()

    def send(self, body: bytes, headers: Mapping[str, str], timeout: float) -> Response:
        self.entered.set()
        self.gate.wait(10)
        return super().send(body, headers, timeout)


def _fail(depth: int) -> None:
    if depth:
        _fail(depth - 1)
    raise ValueError(f"boom at {depth}")


class TestIssueHandler:
    def test_exception_arrives_over_http(
        self, capture: CaptureServer, spool_dir: str, logger: logging.Logger
    ) -> None:
        """A logged exception is POSTed to /api/v1/issues with the wire fields."""
        handler = IssueHandler(url=capture.url, service="svc", spool_dir=spool_dir, release="1.2")
        logger.addHandler(handler)
        try:
            _fail(2)
        except ValueError:
            logger.exception("payment %s failed", "p-1", extra={"order": 7})
        assert handler.flush(10)
        (event,) = capture.events
        assert capture.requests[0]["path"] == "/api/v1/issues"
        assert event["title"] == "ValueError: boom at 0"
        assert event["message"] == "payment p-1 failed"
        assert event["message_template"] == "payment %s failed"
        assert event["level"] == "error"
        assert event["logger"] == "tests.app"
        assert event["service"] == "svc"
        assert event["release"] == "1.2"
        assert event["extra"] == {"order": 7}
        assert event["count"] == 1
        assert len(event["event_id"]) == 32 and len(event["fingerprint"]) == 32
        assert "issue_id" not in event
        assert event["exception"]["frames"][-1]["function"] == "_fail"
        assert event["exception"]["frames"][-1]["in_app"] is True

    def test_below_level_ignored(
        self, capture: CaptureServer, spool_dir: str, logger: logging.Logger
    ) -> None:
        """Records below ERROR are not reported by default."""
        handler = IssueHandler(url=capture.url, spool_dir=spool_dir)
        logger.addHandler(handler)
        logger.warning("just a warning")
        logger.error("an error")
        assert handler.flush(10)
        assert [e["message"] for e in capture.events] == ["an error"]

    def test_token_sent_as_bearer(
        self, capture: CaptureServer, spool_dir: str, logger: logging.Logger
    ) -> None:
        """A configured token is sent as ``Authorization: Bearer``."""
        handler = IssueHandler(url=capture.url, token="s3cret", spool_dir=spool_dir)
        logger.addHandler(handler)
        logger.error("x")
        assert handler.flush(10)
        assert capture.requests[0]["headers"]["Authorization"] == "Bearer s3cret"

    def test_identical_errors_aggregate(
        self, capture: CaptureServer, spool_dir: str, logger: logging.Logger
    ) -> None:
        """500 identical errors in one window arrive as one event with count 500."""
        handler = IssueHandler(url=capture.url, spool_dir=spool_dir, flush_interval=30)
        logger.addHandler(handler)
        for _ in range(500):
            try:
                _fail(3)
            except ValueError:
                logger.exception("storm")
        assert handler.flush(10)
        assert [e["count"] for e in capture.events] == [500]
        assert handler.stats()["aggregated"] == 499
        assert handler.stats()["sent"] == 500

    def test_an_exception_object_is_one_occurrence(
        self, spool_dir: str, logger: logging.Logger
    ) -> None:
        """The same exception logged again (say, by each layer it passes through) is
        reported once; a new exception of the same kind is a new occurrence."""
        transport = CapturingTransport()
        handler = IssueHandler(service="svc", spool_dir=spool_dir, transport=transport)
        logger.addHandler(handler)
        try:
            _fail(0)
        except ValueError as error:
            logger.exception("inner layer")
            logger.exception("outer layer")
            logger.error("logged as a value", exc_info=error)
        try:
            _fail(0)
        except ValueError:
            logger.exception("inner layer")
        assert handler.flush(10)
        assert transport.occurrences() == 2
        assert {e["message"] for e in transport.events} == {"inner layer"}

    def test_the_callers_thread_leaves_the_exception_alone(
        self, spool_dir: str, logger: logging.Logger
    ) -> None:
        """emit() does not mark the exception (creating its ``__dict__`` costs the caller
        ~0.35 µs): the sender does, on its own thread, before the flush returns."""
        transport = _GatedTransport()
        handler = IssueHandler(service="svc", spool_dir=spool_dir, transport=transport)
        logger.addHandler(handler)
        logger.error("first")  # its request holds the sender thread until the gate opens
        assert transport.entered.wait(10)
        try:
            _fail(0)
        except ValueError as error:
            logger.exception("failed")
            assert not is_reported(error)
            transport.gate.set()
            assert handler.flush(10)
            assert is_reported(error)
        assert transport.occurrences() == 2

    def test_each_destination_reports_the_exception_once(
        self, spool_dir: str, logger: logging.Logger
    ) -> None:
        """Two handlers with different senders each report an exception object once."""
        first, second = CapturingTransport(), CapturingTransport()
        handlers = [
            IssueHandler(service="one", spool_dir=spool_dir, transport=first),
            IssueHandler(service="two", spool_dir=spool_dir, transport=second),
        ]
        for handler in handlers:
            logger.addHandler(handler)
        try:
            _fail(0)
        except ValueError:
            logger.exception("inner layer")
            logger.exception("outer layer")
        for handler in handlers:
            assert handler.flush(10)
        assert first.occurrences() == second.occurrences() == 1

    def test_batches_are_bounded_by_size(
        self, capture: CaptureServer, spool_dir: str, logger: logging.Logger
    ) -> None:
        """Distinct events go out in requests of at most batch_size events."""
        handler = IssueHandler(url=capture.url, spool_dir=spool_dir, batch_size=10, flush_interval=30)
        logger.addHandler(handler)
        for i in range(35):
            logger.error("distinct", extra={"fingerprint": [f"fp-{i}"]})
        assert handler.flush(10)
        assert len(capture.events) == 35
        assert max(len(r["events"]) for r in capture.requests) <= 10

    def test_dictconfig_plain_kwargs(self, capture: CaptureServer, spool_dir: str) -> None:
        """dictConfig builds the handler from plain keyword arguments (strings included)."""
        logging.config.dictConfig(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "handlers": {
                    "issues": {
                        "class": "afissue_logging.IssueHandler",
                        "url": capture.url,
                        "service": "configured",
                        "environment": "staging",
                        "spool_dir": spool_dir,
                        "level": "ERROR",
                        "batch_size": "50",
                    }
                },
                "loggers": {"tests.dict": {"handlers": ["issues"], "propagate": False}},
            }
        )
        log = logging.getLogger("tests.dict")
        handler = log.handlers[0]
        assert isinstance(handler, IssueHandler)
        assert handler.settings.batch_size == 50
        log.error("configured error")
        assert handler.flush(10)
        assert capture.events[0]["environment"] == "staging"
        assert capture.events[0]["service"] == "configured"
        log.removeHandler(handler)

    def test_env_vars_used_when_kwargs_missing(
        self, monkeypatch: pytest.MonkeyPatch, capture: CaptureServer, spool_dir: str
    ) -> None:
        """AFISSUE_* variables configure a handler built without arguments."""
        monkeypatch.setenv("AFISSUE_URL", capture.url)
        monkeypatch.setenv("AFISSUE_SERVICE", "from-env")
        monkeypatch.setenv("AFISSUE_SPOOL_DIR", spool_dir)
        monkeypatch.setenv("AFISSUE_TOKEN", "tok")
        handler = IssueHandler()
        assert handler.settings.url == capture.url
        assert handler.settings.service == "from-env"
        assert handler.settings.token == "tok"
        assert handler.settings.spool_dir == spool_dir

    def test_unknown_kwarg_rejected(self) -> None:
        """A misspelled setting fails at configuration time, naming it."""
        with pytest.raises(TypeError, match="bach_size"):
            IssueHandler(bach_size=3)

    def test_own_and_http_stack_loggers_ignored(self, spool_dir: str) -> None:
        """Records of afissue_logging and urllib3 loggers are never reported."""
        transport = CapturingTransport()
        handler = IssueHandler(spool_dir=spool_dir, transport=transport)
        for name in ("afissue_logging.sender", "urllib3.connectionpool", "requests"):
            handler.handle(logging.makeLogRecord({"name": name, "levelno": 40, "msg": "x"}))
        handler.handle(logging.makeLogRecord({"name": "app", "levelno": 40, "msg": "kept"}))
        assert handler.flush(10)
        assert [e["message"] for e in transport.events] == ["kept"]

    def test_exception_with_a_nested_fingerprint_override_is_delivered(
        self, logger: logging.Logger, spool_dir: str
    ) -> None:
        """A list inside ``extra["fingerprint"]`` makes no storm key (it is unhashable):
        the event is built without one, not dropped as ``internal``."""
        transport = CapturingTransport()
        logger.addHandler(IssueHandler(service="svc", spool_dir=spool_dir, transport=transport))
        for _ in range(2):
            try:
                _fail(0)
            except ValueError:
                logger.exception("boom", extra={"fingerprint": [["desk", 3], "b"]})
        handler = logger.handlers[0]
        assert isinstance(handler, IssueHandler) and handler.flush(10)
        assert handler.stats()["dropped_total"] == 0
        assert sum(e["count"] for e in transport.events) == 2

    def test_emit_never_raises_when_queue_full(self, spool_dir: str) -> None:
        """A full queue that cannot coalesce more distinct errors drops and counts them
        instead of blocking or raising."""
        transport = CapturingTransport()
        handler = IssueHandler(spool_dir=spool_dir, transport=transport, queue_size=1)
        gate = threading.Event()
        original = transport.send

        def slow_send(body: bytes, headers: object, timeout: float) -> object:
            gate.wait(10)
            return original(body, headers, timeout)  # type: ignore[arg-type]

        transport.send = slow_send  # type: ignore[method-assign,assignment]
        record = logging.makeLogRecord({"name": "app", "levelno": 40, "msg": "x"})
        handler.handle(record)
        handler.flush(0.5)
        for i in range(50):
            handler.handle(logging.makeLogRecord({"name": "app", "levelno": 40, "msg": f"y{i}"}))
        gate.set()
        assert handler.flush(10)
        stats = handler.stats()
        assert stats["dropped"]["queue_full"] > 0
        assert stats["queued"] + stats["dropped"]["queue_full"] == 51
        assert stats["sent"] == stats["queued"]


class TestNoRecursion:
    def test_logging_from_inside_the_sender_is_ignored(self, spool_dir: str) -> None:
        """A record logged on the sender thread (e.g. by an HTTP library) is not re-reported."""
        transport = CapturingTransport()
        original = transport.send
        app_log = logging.getLogger("tests.recursion")
        app_log.propagate = False
        handler = IssueHandler(spool_dir=spool_dir, transport=transport)
        app_log.addHandler(handler)

        def send(body: bytes, headers: object, timeout: float) -> object:
            app_log.error("logged while sending")
            return original(body, headers, timeout)  # type: ignore[arg-type]

        transport.send = send  # type: ignore[method-assign,assignment]
        try:
            app_log.error("first")
            assert handler.flush(10)
            assert handler.flush(10)
        finally:
            app_log.removeHandler(handler)
        assert [e["message"] for e in transport.events] == ["first"]
        assert handler.stats()["queued"] == 1


class TestBreadcrumbLevels:
    def test_level_is_the_lower_of_event_and_breadcrumb_levels(self, spool_dir: str) -> None:
        """With breadcrumbs on, logging hands INFO records to the handler; events stay ERROR."""
        handler = IssueHandler(spool_dir=spool_dir, transport=CapturingTransport())
        assert (handler.level, handler.event_level) == (logging.INFO, logging.ERROR)
        handler.setLevel("WARNING")
        assert (handler.level, handler.event_level) == (logging.INFO, logging.WARNING)

    def test_breadcrumbs_off_leaves_the_level_alone(self, spool_dir: str) -> None:
        """max_breadcrumbs=0, or a breadcrumb level at or above the event level, is off."""
        off = IssueHandler(spool_dir=spool_dir, transport=CapturingTransport(), max_breadcrumbs=0)
        high = IssueHandler(
            spool_dir=spool_dir, transport=CapturingTransport(), breadcrumb_level="CRITICAL"
        )
        assert off.level == high.level == logging.ERROR

    def test_settings_come_from_the_environment_and_dict_config(
        self, spool_dir: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """AFISSUE_BREADCRUMB_LEVEL and dictConfig's level set the two levels."""
        monkeypatch.setenv("AFISSUE_BREADCRUMB_LEVEL", "debug")
        logging.config.dictConfig({
            "version": 1,
            "incremental": False,
            "disable_existing_loggers": False,
            "handlers": {"issues": {"()": IssueHandler, "spool_dir": spool_dir,
                                    "level": "WARNING", "max_breadcrumbs": "7"}},
            "loggers": {"tests.dictconfig": {"handlers": ["issues"], "propagate": False}},
        })
        (handler,) = logging.getLogger("tests.dictconfig").handlers
        try:
            assert isinstance(handler, IssueHandler)
            assert (handler.level, handler.event_level) == (logging.DEBUG, logging.WARNING)
            assert handler.settings.max_breadcrumbs == 7
        finally:
            logging.getLogger("tests.dictconfig").removeHandler(handler)

    def test_an_unknown_breadcrumb_level_is_refused(self, spool_dir: str) -> None:
        """A misspelt level is a configuration error at construction, naming the value."""
        with pytest.raises(ValueError, match="'INFOO'"):
            IssueHandler(spool_dir=spool_dir, transport=CapturingTransport(),
                         breadcrumb_level="INFOO")

    def test_records_below_the_breadcrumb_level_are_not_kept(
        self, spool_dir: str, logger: logging.Logger
    ) -> None:
        """DEBUG records do not become breadcrumbs at the default INFO breadcrumb level,
        nor do the handler's own or the HTTP stack's loggers' records."""
        _breadcrumbs.clear()
        transport = CapturingTransport()
        handler = IssueHandler(spool_dir=spool_dir, transport=transport)
        logger.addHandler(handler)
        urllib3 = logging.getLogger("urllib3.connectionpool")
        urllib3.addHandler(handler)
        try:
            logger.debug("too low")
            urllib3.warning("retrying")
            logger.info("kept")
            logger.error("failed")
            assert handler.flush(10)
        finally:
            urllib3.removeHandler(handler)
        (event,) = transport.events
        assert [c["message"] for c in event["breadcrumbs"]] == ["kept"]

    def test_the_handlers_filters_apply_to_breadcrumbs(
        self, spool_dir: str, logger: logging.Logger
    ) -> None:
        """A record the handler's filter refuses is neither an event nor a breadcrumb."""
        _breadcrumbs.clear()
        transport = CapturingTransport()
        handler = IssueHandler(spool_dir=spool_dir, transport=transport)
        handler.addFilter(lambda record: "noise" not in record.getMessage())
        logger.addHandler(handler)
        logger.info("noise: health check")
        logger.info("order placed")
        logger.error("failed")
        assert handler.flush(10)
        (event,) = transport.events
        assert [c["message"] for c in event["breadcrumbs"]] == ["order placed"]
