"""EventBuilder: any record becomes a valid, bounded, scrubbed wire event; nothing escapes."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from afissue_logging._builder import EventBuilder
from afissue_logging._snapshot import snapshot_event_dict, snapshot_record
from afissue_logging.fingerprint import compute_fingerprint
from afissue_logging.settings import load_settings
from afissue_logging.wire import encode_event


def _builder(**overrides: Any) -> EventBuilder:
    return EventBuilder(load_settings({}, service="svc", spool_dir="/tmp/x", **overrides))


def _record(msg: Any = "msg", args: Any = (), exc: bool = False, **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("app.mod", logging.ERROR, __file__, 1, msg, args, None)
    if exc:
        record.exc_info = sys.exc_info()
    record.__dict__.update(extra)
    return record


_SHARED = _builder()


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")

    __str__ = __repr__


def _recurse(n: int) -> int:
    return _recurse(n + 1)


class TestRobustness:
    def test_bad_percent_args_still_an_event(self) -> None:
        """Wrong % arguments are rendered with a note instead of raising."""
        event = _builder().build(snapshot_record(_record("value %d and %s", ("x",))))
        assert "formatting failed" in event["message"]
        assert event["message_template"] == "value %d and %s"

    def test_broken_repr(self) -> None:
        """An argument whose __repr__ and __str__ raise is named, not propagated."""
        event = _builder().build(snapshot_record(_record("obj %r", (BrokenRepr(),))))
        assert "repr failed" in event["message"]

    def test_broken_repr_in_extra(self) -> None:
        """An extra value with a raising __repr__ is still JSON-safe."""
        event = _builder().build(snapshot_record(_record(thing=BrokenRepr())))
        assert "repr failed" in event["extra"]["thing"]

    def test_non_utf8_bytes_and_surrogates(self) -> None:
        """Non-UTF-8 bytes and lone surrogates become valid UTF-8 JSON."""
        event = _builder().build(snapshot_record(_record(b"\xff\xfe raw", extra_s="bad \udcff")))
        encode_event(event).decode("utf-8")
        assert "\\xff" in event["message_template"]

    def test_huge_message_truncated_with_marker(self) -> None:
        """A 5 MB message is cut to the configured size with a marker saying so."""
        event = _builder(max_message_chars=1000).build(snapshot_record(_record("x" * 5_000_000)))
        assert len(event["message"]) <= 1000
        assert event["message"].startswith("xxx")
        assert event["message"].endswith(f"[afissue: truncated {5_000_000 - 958} chars]")
        assert len(event["title"]) < 300

    def test_recursion_error_frames_collapsed(self) -> None:
        """A RecursionError's thousand identical frames collapse to a few, with a count."""
        try:
            _recurse(0)
        except RecursionError:
            event = _builder().build(snapshot_record(_record(exc=True)))
        exc = event["exception"]
        assert exc["type"] == "RecursionError"
        assert len(exc["frames"]) <= 5
        assert exc["frames_omitted"] > 100

    def test_chained_exceptions(self) -> None:
        """__cause__ and __context__ appear in chain, outermost cause first."""
        try:
            try:
                try:
                    raise OSError("disk")
                except OSError:
                    raise KeyError("k")  # noqa: B904 - implicit context on purpose
            except KeyError as error:
                raise ValueError("v") from error
        except ValueError:
            event = _builder().build(snapshot_record(_record(exc=True)))
        exc = event["exception"]
        assert exc["type"] == "ValueError"
        assert [(c["type"], c["relation"]) for c in exc["chain"]] == [
            ("OSError", "context"),
            ("KeyError", "cause"),
        ]

    @settings(max_examples=100, deadline=None)
    @given(
        msg=st.one_of(st.text(), st.binary(), st.integers(), st.none(), st.builds(BrokenRepr)),
        args=st.one_of(
            st.tuples(st.one_of(st.text(), st.integers(), st.floats(), st.builds(BrokenRepr))),
            st.tuples(st.dictionaries(st.text(), st.integers())),
            st.just(()),
        ),
        extra=st.dictionaries(
            st.text().filter(lambda k: k not in logging.makeLogRecord({}).__dict__),
            st.recursive(
                st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), st.text(),
                          st.binary(), st.builds(BrokenRepr)),
                lambda children: st.lists(children) | st.dictionaries(st.text(), children),
                max_leaves=10,
            ),
            max_size=5,
        ),
    )
    def test_no_exception_escapes_record_to_event(
        self, msg: Any, args: Any, extra: dict[str, Any]
    ) -> None:
        """Arbitrary msg, args and extra always give a JSON-encodable event with a fingerprint."""
        record = _record(msg, args)
        for key, value in extra.items():
            record.__dict__[key] = value
        snap = snapshot_record(record)
        _SHARED.raw_key(snap)
        event = _SHARED.build(snap)
        json.loads(encode_event(event).decode("utf-8"))
        assert len(event["fingerprint"]) == 32
        assert event["count"] == 1


class TestFields:
    def test_context_fields(self) -> None:
        """service, environment, release, host, pid, thread and logger are set."""
        event = _builder(environment="staging", release="9").build(snapshot_record(_record()))
        assert event["service"] == "svc"
        assert event["environment"] == "staging"
        assert event["release"] == "9"
        assert event["host"]
        assert isinstance(event["pid"], int)
        assert event["thread"] == "MainThread"
        assert event["logger"] == "app.mod"

    def test_fields_fit_the_api_bounds(self) -> None:
        """Odd service names, custom levels and long short-text fields are made acceptable."""
        builder = EventBuilder(
            load_settings({}, service="my service ü", spool_dir="/tmp/x", release="r" * 400)
        )
        record = _record(request_id="q" * 1000)
        record.levelname = "NOTICE"
        record.levelno = 35
        event = builder.build(snapshot_record(record))
        assert event["service"] == "my-service--"
        assert event["level"] == "warning"
        assert len(event["release"]) <= 256
        assert len(event["request_id"]) <= 256

    def test_trace_and_request_ids_from_extra(self) -> None:
        """trace_id/request_id (and OpenTelemetry's otelTraceID) become top-level fields."""
        event = _builder().build(
            snapshot_record(_record(otelTraceID="abc123", request_id="r-9", tags={"k": 1}))
        )
        assert event["trace_id"] == "abc123"
        assert event["request_id"] == "r-9"
        assert event["tags"] == {"k": "1"}
        assert "extra" not in event

    def test_structlog_contextvars_are_context(self) -> None:
        """structlog-bound context variables travel as extra, trace ids as fields."""
        trace: contextvars.ContextVar[Any] = contextvars.ContextVar("structlog_trace_id")
        user: contextvars.ContextVar[Any] = contextvars.ContextVar("structlog_user_id")

        def log_inside() -> Any:
            trace.set("t-1")
            user.set(42)
            return snapshot_record(_record())

        snap = contextvars.copy_context().run(log_inside)
        event = _builder().build(snap)
        assert event["trace_id"] == "t-1"
        assert event["extra"] == {"user_id": 42}

    def test_extra_is_scrubbed(self) -> None:
        """Sensitive extra keys and secrets in the message are filtered."""
        event = _builder().build(
            snapshot_record(_record("login password=%s", ("pw1",), password="pw2", user="u"))
        )
        assert "pw1" not in event["message"]
        assert event["extra"] == {"password": "[Filtered]", "user": "u"}

    def test_scrubbing_can_be_disabled(self) -> None:
        """scrub=False sends text and extra unchanged."""
        event = _builder(scrub=False).build(snapshot_record(_record("password=%s", ("pw",))))
        assert event["message"] == "password=pw"


class TestFingerprint:
    def test_numbers_do_not_split_messages(self) -> None:
        """Messages differing only in numbers/ids share the template fingerprint."""
        builder = _builder()
        a = builder.build(snapshot_record(_record("user %s missing", ("17",))))
        b = builder.build(snapshot_record(_record("user %s missing", ("99",))))
        assert a["fingerprint"] == b["fingerprint"]

    def test_exception_fingerprint_ignores_line_numbers_and_values(self) -> None:
        """Same type along the same functions: same fingerprint, whatever the value."""
        builder = _builder()
        events = []
        for value in ("a", "b"):
            try:
                raise LookupError(value)
            except LookupError:
                events.append(builder.build(snapshot_record(_record(exc=True))))
        assert events[0]["fingerprint"] == events[1]["fingerprint"]
        assert events[0]["fingerprint"] == compute_fingerprint(events[0])

    def test_override_with_default_marker(self) -> None:
        """extra={"fingerprint": [...]} overrides; "{{ default }}" includes the computed one."""
        builder = _builder()
        plain = builder.build(snapshot_record(_record("m")))
        custom = builder.build(snapshot_record(_record("m", fingerprint=["tenant-a"])))
        with_default = builder.build(
            snapshot_record(_record("m", fingerprint=["{{ default }}", "tenant-a"]))
        )
        assert len({plain["fingerprint"], custom["fingerprint"], with_default["fingerprint"]}) == 3
        assert with_default["fingerprint"] == compute_fingerprint(
            plain, ["{{ default }}", "tenant-a"]
        )
        assert "fingerprint" not in with_default.get("extra", {})

    def test_equal_raw_keys_mean_equal_fingerprints(self) -> None:
        """The storm fast path's raw key never merges events of different fingerprints."""
        builder = _builder()
        snaps = []
        for exc_type in (KeyError, KeyError, ValueError):
            try:
                raise exc_type("x")
            except (KeyError, ValueError):
                snaps.append(snapshot_record(_record("failed", exc=True)))
        keys = [builder.raw_key(s) for s in snaps]
        prints = [builder.build(s)["fingerprint"] for s in snaps]
        assert keys[0] == keys[1] and prints[0] == prints[1]
        assert keys[0] != keys[2] and prints[0] != prints[2]


class TestStructlogSnapshot:
    def test_method_name_level_and_exc_info(self) -> None:
        """"exception" is an error; exc_info=True captures the current exception."""
        try:
            raise ZeroDivisionError("z")
        except ZeroDivisionError:
            snap = snapshot_event_dict(
                "svc.log", "exception", {"event": "division failed", "exc_info": True, "user": 1}
            )
        event = _builder().build(snap)
        assert event["level"] == "error"
        assert event["message"] == "division failed"
        assert event["exception"]["type"] == "ZeroDivisionError"
        assert event["extra"] == {"user": 1}
        assert event["logger"] == "svc.log"


class TestStructlogProperty:
    @settings(max_examples=60, deadline=None)
    @given(
        method=st.sampled_from(["error", "exception", "critical", "warn", "msg", "log", "x"]),
        event_dict=st.dictionaries(
            st.text(),
            st.one_of(st.none(), st.text(), st.binary(), st.integers(), st.floats(),
                      st.builds(BrokenRepr), st.lists(st.integers())),
            max_size=6,
        ),
    )
    def test_no_exception_escapes_event_dict_to_event(
        self, method: str, event_dict: dict[str, Any]
    ) -> None:
        """Arbitrary structlog event dicts always give a JSON-encodable event."""
        snap = snapshot_event_dict("log", method, event_dict)
        _SHARED.raw_key(snap)
        event = _SHARED.build(snap)
        json.loads(encode_event(event).decode("utf-8"))
        assert event["level"] in ("debug", "info", "warning", "error", "critical")
