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

    def test_extra_is_sent_as_firestore_will_store_it(self) -> None:
        """A matrix, reserved or empty keys and huge ints in ``extra`` are sent the way the
        issue document keeps them (``wire.firestore_safe``), not refused further on."""
        event = _builder().build(snapshot_record(_record(
            weights=[[0.5, 1], [2, 3]], __meta__={"": 1}, big=2**70)))
        assert event["extra"]["weights"] == ["[0.5, 1]", "[2, 3]"]
        assert event["extra"]["~__meta__"] == {"~": 1}
        assert event["extra"]["big"] == str(2**70)

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


class TestExceptionEvents:
    def test_an_error_logged_as_the_message_is_that_exception(self) -> None:
        """logger.error(error) reports the error with the traceback it carries."""
        stock: dict[str, int] = {}
        try:
            stock["sku"]
        except KeyError as error:
            event = _builder().build(snapshot_record(_record(error)))
        assert event["title"] == "KeyError: 'sku'"
        assert event["exception"]["frames"][-1]["context_line"] == 'stock["sku"]'

    def test_an_error_never_raised_groups_by_type_and_value(self) -> None:
        """Without a traceback, errors of one type with different values are different."""
        builder = _builder()
        events = [builder.build(snapshot_record(_record(ValueError(v))))
                  for v in ("price missing", "stock negative", "order 7 not found",
                            "order 8 not found")]
        assert events[0]["exception"]["frames"] == []
        prints = [e["fingerprint"] for e in events]
        assert prints[0] != prints[1] and prints[2] == prints[3]

    def test_titles_use_the_values_first_line(self) -> None:
        """A multi-line exception value titles with its first line."""
        try:
            raise ValueError("bad row\nrow: 1,2,3")
        except ValueError:
            event = _builder().build(snapshot_record(_record(exc=True)))
        assert event["title"] == "ValueError: bad row"

    def test_group_children_are_scrubbed(self) -> None:
        """Secrets in a group's children's values are filtered like the group's own."""
        try:
            raise ExceptionGroup("g", [ValueError("login password=hunter2 failed")])
        except ExceptionGroup:
            event = _builder().build(snapshot_record(_record(exc=True)))
        (child,) = event["exception"]["children"]
        assert "hunter2" not in child["value"]

    def test_events_name_their_grouping_version(self) -> None:
        """Every event names the grouping rules its fingerprint was computed by."""
        from afissue_logging.fingerprint import GROUPING_VERSION

        event = _builder().build(snapshot_record(_record("m")))
        assert event["grouping_version"] == GROUPING_VERSION == 2


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


def _raise_chain(outer: str, inner: str, line: int) -> None:
    """Raise ValueError(outer) from KeyError(inner), at one of two lines."""
    try:
        raise KeyError(inner)
    except KeyError as error:
        if line == 0:
            raise ValueError(outer) from error
        raise ValueError(outer) from error


def _exception_record(msg: str, args: tuple[Any, ...], outer: str, inner: str, line: int,
                      created: float, **extra: Any) -> logging.LogRecord:
    try:
        _raise_chain(outer, inner, line)
    except ValueError:
        record = _record(msg, args, exc=True, **extra)
    record.created = created
    return record


_TEXT = st.text(max_size=30)


class TestCacheAcrossWindows:
    @settings(max_examples=150, deadline=None)
    @given(
        first=st.tuples(st.lists(_TEXT, min_size=1, max_size=2), _TEXT, _TEXT, st.sampled_from([0, 1])),
        later=st.tuples(st.lists(_TEXT, min_size=1, max_size=2), _TEXT, _TEXT, st.sampled_from([0, 1])),
        created=st.floats(min_value=1e9, max_value=4e9),
        with_exception=st.booleans(),
        extra=st.dictionaries(st.sampled_from(["user", "request_id", "token", "n"]), _TEXT, max_size=3),
    )
    def test_an_occurrence_built_from_the_cache_is_its_own(
        self, first: tuple[list[str], str, str, int], later: tuple[list[str], str, str, int],
        created: float, with_exception: bool, extra: dict[str, str],
    ) -> None:
        """A later occurrence of a cached kind (a new window's first) is exactly what a
        builder without a cache makes of it — its own message args, timestamp, exception
        values, line numbers, context — but for its new event id."""
        msg = "failed for " + " and ".join(["%s"] * len(first[0]))
        later_args = (later[0] * 2)[: len(first[0])]

        def record(parts: tuple[list[str], str, str, int], args: list[str], when: float) -> Any:
            if with_exception:
                return _exception_record(msg, tuple(args), parts[1], parts[2], parts[3], when,
                                         fingerprint=["kind"], **extra)
            rec = _record(msg, tuple(args))
            rec.__dict__.update(extra, fingerprint=["kind"])
            rec.created = when
            return rec

        warm = _builder()
        snap_first = snapshot_record(record(first, first[0], created - 5))
        built_first = warm.build(snap_first, warm.raw_key(snap_first))
        snap_later = snapshot_record(record(later, later_args, created))
        key = warm.raw_key(snap_later)
        # Line numbers are in the storm key (the failing line's text is grouped on);
        # the two raising lines have the same text, so the fingerprint stays one.
        same_line = not with_exception or first[3] == later[3]
        assert key is not None and (key == warm.raw_key(snap_first)) == same_line
        from_cache = warm.build(snap_later, key)
        assert len(warm.cache) == (1 if same_line else 2)
        fresh = _builder().build(snap_later)
        assert from_cache["event_id"] != fresh["event_id"] != built_first["event_id"]
        assert {**from_cache, "event_id": ""} == {**fresh, "event_id": ""}
        assert from_cache["fingerprint"] == built_first["fingerprint"]

    def test_window_first_occurrence_carries_its_own_args_timestamp_and_id(
        self, spool_dir: str
    ) -> None:
        """Through the sender: the first occurrence of a kind in the second window is
        served from the cache yet carries its own args, timestamp and event id."""
        from afissue_logging import IssueHandler
        from afissue_logging.testing import CapturingTransport

        transport = CapturingTransport()
        handler = IssueHandler(service="svc", spool_dir=spool_dir, transport=transport,
                               flush_interval=30)
        records = []
        for window, user in enumerate(["alice", "bob"]):
            rec = _exception_record("lookup for %s failed", (user,), f"no {user}", "k", 0,
                                    1_700_000_000.0 + window, fingerprint=["lookup"])
            records.append(rec)
            handler.handle(rec)
            assert handler.flush(10)
        first, second = transport.events
        assert len(handler.sender._builder.cache) == 1
        assert second["message"] == "lookup for bob failed"
        assert second["exception"]["value"] == "no bob"
        assert second["timestamp"].startswith("2023-11-14T22:13:21")
        assert first["timestamp"].startswith("2023-11-14T22:13:20")
        assert second["event_id"] != first["event_id"]
        assert second["fingerprint"] == first["fingerprint"]
        assert second["exception"]["frames"] == first["exception"]["frames"]


class TestEventCacheBounds:
    @settings(max_examples=50, deadline=None)
    @given(
        sizes=st.lists(st.integers(min_value=0, max_value=40), max_size=200),
        max_entries=st.integers(min_value=1, max_value=50),
        max_bytes=st.integers(min_value=1_000, max_value=200_000),
    )
    def test_entries_and_bytes_stay_bounded_and_recent_ones_stay(
        self, sizes: list[int], max_entries: int, max_bytes: int
    ) -> None:
        """Whatever is put, the cache holds at most max_entries and about max_bytes,
        evicting the least recently used first."""
        from afissue_logging._event_cache import CachedParts, EventCache

        cache = EventCache(max_entries=max_entries, max_bytes=max_bytes)
        for index, frames in enumerate(sizes):
            exc: Any = {"type": "E", "value": "", "module": "m", "frames": [
                {"filename": "f", "module": "m", "function": "g", "lineno": 1, "in_app": True,
                 "context_line": "x" * 80}] * frames}
            parts = CachedParts("t", exc, None, "f" * 32)
            cache.put(index, parts)
            assert len(cache) <= max_entries
            assert cache.bytes <= max_bytes
            if parts.size() <= max_bytes:
                assert cache.get(index) is parts
