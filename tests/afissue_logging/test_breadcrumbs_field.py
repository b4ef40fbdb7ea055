"""_breadcrumbs_field: the sender renders, scrubs and bounds the trail the caller kept."""

from __future__ import annotations

import contextvars
import json
import logging
import math
from typing import Any

import structlog
from hypothesis import given
from hypothesis import strategies as st

from afissue_logging import IssueHandler, IssueProcessor, _breadcrumbs, wire
from afissue_logging._breadcrumbs import BREADCRUMBS, add_event, add_record
from afissue_logging._breadcrumbs_field import breadcrumbs_field, render_crumb
from afissue_logging.scrub import FILTERED, Scrubber
from afissue_logging.testing import CapturingTransport
from tests.afissue_logging.test_breadcrumbs import Counting

SCRUBBER = Scrubber()


def _crumb(msg: Any, args: Any = (), fields: Any = None) -> Any:
    return (1_780_000_000.5, logging.INFO, "app.orders", msg, args, "MainThread", fields)


def _field_of(*records: logging.LogRecord, limit: int = 50) -> list[Any]:
    def run() -> list[Any] | None:
        for record in records:
            add_record(record, limit)
        return breadcrumbs_field(contextvars.copy_context(), SCRUBBER)

    context = contextvars.copy_context()
    context.run(BREADCRUMBS.set, None)
    return context.run(run) or []


class TestRenderCrumb:
    def test_plain_arguments_render_as_logging_would(self) -> None:
        """A template with plain arguments renders as getMessage() renders it."""
        crumb = render_crumb(_crumb("user %s paid %.2f (%d items) %r", ("bob", 9.5, 3, None)),
                             SCRUBBER)
        assert crumb == {
            "timestamp": "2026-05-28T20:26:40.500000Z",
            "level": "info",
            "logger": "app.orders",
            "message": "user bob paid 9.50 (3 items) None",
            "thread": "MainThread",
        }

    def test_an_object_argument_shows_as_its_type_name(self) -> None:
        """An argument kept as its type renders as <TypeName>, by name and by key."""
        assert render_crumb(_crumb("got %s", (Counting,)), SCRUBBER)["message"] == "got <Counting>"
        assert render_crumb(_crumb("%(o)s!", {"o": Counting}), SCRUBBER)["message"] == "<Counting>!"

    def test_a_template_that_does_not_fit_shows_its_arguments_after_it(self) -> None:
        """A %d of an object, or too few arguments, still gives text."""
        assert render_crumb(_crumb("%d items", (Counting,)), SCRUBBER)["message"] == (
            "%d items <Counting>"
        )
        assert render_crumb(_crumb("%s and %s", ("one",)), SCRUBBER)["message"] == "%s and %s one"

    def test_a_huge_integer_is_named_by_its_size(self) -> None:
        """An integer too wide to print cheaply is shown by its bit length."""
        crumb = render_crumb(_crumb("n=%s", (10**5000,)), SCRUBBER)
        assert crumb["message"] == f"n=<int of {(10**5000).bit_length()} bits>"

    def test_secrets_are_scrubbed_in_messages_and_data(self) -> None:
        """Secret-looking text in the message and sensitive keys in data are filtered."""
        crumb = render_crumb(
            _crumb("login with %s", ("Authorization: Bearer abcdef0123456789",),
                   {"password": "hunter2", "note": "token=abc123def", "user": 7}),
            SCRUBBER,
        )
        assert "abcdef0123456789" not in crumb["message"]
        assert crumb["data"] == {"password": FILTERED, "note": f"token={FILTERED}", "user": 7}

    @given(
        msg=st.one_of(st.text(max_size=20_000), st.just(Counting)),
        args=st.one_of(
            st.lists(st.one_of(st.text(max_size=3000), st.integers(), st.floats(),
                               st.booleans(), st.none(), st.just(Counting)), max_size=30)
            .map(tuple),
            st.dictionaries(st.text(max_size=5), st.integers(), max_size=5),
        ),
        logger=st.text(max_size=2000),
        fields=st.one_of(st.none(), st.dictionaries(
            st.text(max_size=600),
            st.one_of(st.text(max_size=3000), st.floats(), st.integers(), st.just(Counting)),
            max_size=40,
        )),
    )
    def test_every_crumb_stays_within_the_wire_bounds(
        self, msg: Any, args: Any, logger: str, fields: Any
    ) -> None:
        """Whatever was kept, a rendered crumb is valid JSON text within the wire's bounds."""
        crumb = render_crumb(
            (0.0, logging.WARNING, logger, msg, args, "t" * 1000, fields), SCRUBBER
        )
        json.dumps(crumb, allow_nan=False).encode("utf-8")
        assert len(crumb["message"]) <= wire.MAX_BREADCRUMB_MESSAGE_CHARS
        assert len(crumb["logger"]) <= wire.MAX_BREADCRUMB_TEXT_CHARS
        assert len(crumb["thread"]) <= wire.MAX_BREADCRUMB_TEXT_CHARS
        data = crumb.get("data", {})
        assert len(data) <= wire.MAX_BREADCRUMB_DATA_KEYS
        for key, value in data.items():
            assert len(key) <= wire.MAX_BREADCRUMB_TEXT_CHARS
            assert not isinstance(value, str) or len(value) <= wire.MAX_BREADCRUMB_TEXT_CHARS
            assert not isinstance(value, float) or math.isfinite(value)


class TestBreadcrumbsField:
    def test_oldest_first_and_at_most_the_wire_bound(self) -> None:
        """The field lists the trail oldest first, never more than MAX_BREADCRUMBS."""
        records = [
            logging.LogRecord("a", logging.INFO, "f", 1, "n=%d", (n,), None) for n in range(300)
        ]
        field = _field_of(*records, limit=1000)
        assert len(field) == wire.MAX_BREADCRUMBS
        assert field[0]["message"] == f"n={300 - wire.MAX_BREADCRUMBS}"
        assert field[-1]["message"] == "n=299"

    def test_no_trail_no_field(self) -> None:
        """Without records before it, an event has no breadcrumbs field."""
        assert _field_of() == []
        assert breadcrumbs_field(None, SCRUBBER) is None


class TestThroughTheEntryPoints:
    def test_an_object_argument_is_never_turned_into_text(self) -> None:
        """From logger.info to the event, an object argument is never repr'd or str'd."""
        _breadcrumbs.clear()
        Counting.calls = 0
        transport = CapturingTransport()
        handler = IssueHandler(transport=transport, capture_uncaught=False)
        log = logging.getLogger("tests.crumbs.field")
        log.propagate = False
        log.setLevel(logging.INFO)
        log.addHandler(handler)
        try:
            log.info("loaded %s", Counting())
            log.warning("retrying %r", Counting())
            log.error("gave up")
            assert handler.flush(10)
        finally:
            log.removeHandler(handler)
        (event,) = transport.events
        assert [c["message"] for c in event["breadcrumbs"]] == [
            "loaded <Counting>", "retrying <Counting>"
        ]
        assert [c["level"] for c in event["breadcrumbs"]] == ["info", "warning"]
        assert Counting.calls == 0

    def test_structlog_events_below_the_level_become_breadcrumbs(self) -> None:
        """IssueProcessor adds info events, with their fields, to the same trail."""
        _breadcrumbs.clear()
        transport = CapturingTransport()
        structlog.configure(
            processors=[IssueProcessor(transport=transport, capture_uncaught=False)],
            logger_factory=structlog.ReturnLoggerFactory(),
        )
        try:
            log = structlog.get_logger("svc")
            log.debug("too low")
            log.info("cart loaded", items=3, api_key="k-123", owner=Counting())
            log.error("checkout failed")
            assert IssueProcessor(transport=transport).flush(10)
        finally:
            structlog.reset_defaults()
        (event,) = transport.events
        (crumb,) = event["breadcrumbs"]
        assert crumb["message"] == "cart loaded"
        assert crumb["data"] == {"items": 3, "api_key": FILTERED, "owner": "<Counting>"}
        assert Counting.calls == 0

    def test_add_event_bounds_the_fields_it_keeps(self) -> None:
        """A structlog event with many fields keeps the first MAX_ARGS of them."""

        def run() -> Any:
            add_event("svc", logging.INFO, "e", {f"k{n}": n for n in range(100)}, 50)
            return _breadcrumbs.trail(BREADCRUMBS.get())

        context = contextvars.copy_context()
        context.run(BREADCRUMBS.set, None)
        (crumb,) = context.run(run)
        assert len(crumb[6]) == _breadcrumbs.MAX_ARGS


class TestTotalSize:
    @given(
        count=st.integers(min_value=1, max_value=150),
        text=st.sampled_from(["a", "é", "\x01", "😀"]),
        keys=st.integers(min_value=0, max_value=30),
    )
    def test_the_newest_that_fit_are_kept(self, count: int, text: str, keys: int) -> None:
        """However long and many the records, the field stays within MAX_BREADCRUMBS_BYTES
        as JSON on the wire, and what it drops are the oldest."""

        def run() -> list[Any] | None:
            for number in range(count):
                add_event("svc", logging.INFO, f"{number} " + text * 5000,
                          {f"k{n}" + text * 300: text * 5000 for n in range(keys)}, 1000)
            return breadcrumbs_field(contextvars.copy_context(), SCRUBBER)

        context = contextvars.copy_context()
        context.run(BREADCRUMBS.set, None)
        field = context.run(run) or []
        body = wire.encode_event({"breadcrumbs": field})
        assert len(body) <= wire.MAX_BREADCRUMBS_BYTES + 20
        assert field and field[-1]["message"].startswith(f"{count - 1} ")
