"""Local variables: copied on the caller's thread without running user code, rendered,
scrubbed and bounded on the sender's, attached to the frames they were taken from."""

from __future__ import annotations

import json
import logging
import sys
from http import HTTPStatus
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afissue_logging import IssueHandler
from afissue_logging._builder import EventBuilder
from afissue_logging._exceptions import InAppRule
from afissue_logging._locals import (
    MAX_ITEMS,
    MAX_STR_CHARS,
    LocalsCapture,
    _copy,
    capture_for,
    render_vars,
)
from afissue_logging._snapshot import snapshot_event_dict, snapshot_record
from afissue_logging.fingerprint import compute_fingerprint
from afissue_logging.scrub import FILTERED, Scrubber
from afissue_logging.settings import load_settings
from afissue_logging.testing import CapturingTransport
from afissue_logging.wire import (
    MAX_FRAME_VARS,
    MAX_VAR_NAME_CHARS,
    MAX_VAR_VALUE_CHARS,
    MAX_VARS_FRAMES,
    encode_event,
)

CAPTURE = LocalsCapture(InAppRule())


class Trap:
    """Counts every way user code could be run by looking at it."""

    calls: list[str]

    def __init__(self) -> None:
        object.__setattr__(self, "calls", [])

    def __repr__(self) -> str:
        self.calls.append("repr")
        return "Trap()"

    def __str__(self) -> str:
        self.calls.append("str")
        return "Trap"

    def __getattr__(self, name: str) -> Any:
        self.calls.append(f"getattr {name}")
        raise AttributeError(name)

    def __eq__(self, other: object) -> bool:
        self.calls.append("eq")
        return False

    def __hash__(self) -> int:
        self.calls.append("hash")
        return 1

    def __len__(self) -> int:
        self.calls.append("len")
        return 0

    def __iter__(self) -> Any:
        self.calls.append("iter")
        return iter(())

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # a lazy object's hook (Django's SimpleLazyObject)
        self.calls.append("__class__")
        return Trap


class LazyQuerySet:
    """A stand-in for a Django queryset: its repr "hits the database"."""

    queries: list[str] = []

    def __repr__(self) -> str:
        LazyQuerySet.queries.append("SELECT * FROM orders")
        return "<QuerySet [...]>"


class HostileDict(dict[str, Any]):
    """A dict subclass whose items() has a side effect."""

    called = 0

    def items(self) -> Any:
        HostileDict.called += 1
        raise RuntimeError("items() must not be called")


class RaisingRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")


def _raise_with(**values: Any) -> tuple[type[BaseException], BaseException, Any]:
    """Raise from a frame whose locals are *values*; the exc_info."""

    def failing(**kwargs: Any) -> None:
        raise ValueError("failed with locals")

    try:
        failing(**values)
    except ValueError:
        info = sys.exc_info()
        assert info[0] is not None and info[1] is not None
        return info[0], info[1], info[2]
    raise AssertionError("unreachable")


def _record(exc_info: Any) -> logging.LogRecord:
    return logging.LogRecord("app.mod", logging.ERROR, __file__, 1, "failed", (), exc_info)


def _builder(**overrides: Any) -> EventBuilder:
    return EventBuilder(load_settings({}, service="svc", spool_dir="/tmp/x", **overrides))


def _innermost_vars(event: Any) -> dict[str, str]:
    frames = [f for f in event["exception"]["frames"] if "vars" in f]
    return frames[-1]["vars"]  # type: ignore[no-any-return]


def _event_for(builder: EventBuilder | None = None, **values: Any) -> Any:
    snap = snapshot_record(_record(_raise_with(**values)), CAPTURE)
    return (builder or _builder()).build(snap)


class TestNeverRunsUserCode:
    def test_trap_object_is_shown_by_type_only(self) -> None:
        """repr, str, __getattr__, __class__, __eq__, __hash__, len and iter are never run."""
        trap = Trap()
        event = _event_for(trap=trap, in_list=[trap], in_dict={"k": trap}, as_key={1: 2})
        variables = _innermost_vars(event)
        assert trap.calls == []
        assert variables["kwargs"] == "{'trap': <Trap>, 'in_list': [<Trap>], " \
            "'in_dict': {'k': <Trap>}, 'as_key': {1: 2}}"

    def test_lazy_queryset_is_never_evaluated(self) -> None:
        """A queryset-like local is recorded by type; its repr ("SQL") never runs."""
        LazyQuerySet.queries.clear()
        event = _event_for(orders=LazyQuerySet())
        assert "<LazyQuerySet>" in _innermost_vars(event)["kwargs"]
        assert LazyQuerySet.queries == []

    def test_dict_subclass_items_not_called(self) -> None:
        """A dict subclass is "other": its own items() is never called."""
        HostileDict.called = 0
        event = _event_for(data=HostileDict(a=1))
        assert "<HostileDict>" in _innermost_vars(event)["kwargs"]
        assert HostileDict.called == 0

    def test_raising_repr_is_harmless(self) -> None:
        """An object whose repr raises is shown by type; the event is built."""
        event = _event_for(broken=RaisingRepr())
        assert "<RaisingRepr>" in _innermost_vars(event)["kwargs"]

    def test_str_and_int_subclasses_are_other(self) -> None:
        """Subclasses of plain types (which may hide their value) show their type only."""

        class Secretish(str):
            pass

        event = _event_for(value=Secretish("hidden text"), status=HTTPStatus.OK)
        shown = _innermost_vars(event)["kwargs"]
        assert shown == "{'value': <Secretish>, 'status': <HTTPStatus>}"

    def test_capture_copies_containers_now(self) -> None:
        """A list changed after the log call is sent as it was at the call."""
        exc_info = _raise_with(items=[1, 2])
        snap = snapshot_record(_record(exc_info), CAPTURE)
        frame = exc_info[2].tb_next.tb_frame
        frame.f_locals["kwargs"]["items"].append(3)
        assert "[1, 2]" in _innermost_vars(_builder().build(snap))["kwargs"]
        assert "[1, 2, 3]" not in _innermost_vars(_builder().build(snap))["kwargs"]


class TestScrubbing:
    def test_sensitive_names_and_values_filtered(self) -> None:
        """Names on the sensitive list and secret-looking values are filtered."""

        def handler_with_secrets() -> None:
            password = "hunter2"  # noqa: F841
            api_key = "k-123"  # noqa: F841
            header = "Bearer abcdefghijklmnopqrstuvwxyz"  # noqa: F841
            payload = {"session": "s-1", "user": "ann"}  # noqa: F841
            card = "4111 1111 1111 1111"  # noqa: F841
            raise ValueError("x")

        try:
            handler_with_secrets()
        except ValueError:
            event = _builder().build(snapshot_record(_record(sys.exc_info()), CAPTURE))
        variables = _innermost_vars(event)
        assert variables["password"] == FILTERED
        assert variables["api_key"] == FILTERED
        assert "abcdefghijklmnop" not in variables["header"]
        assert variables["payload"] == "{'session': '[Filtered]', 'user': 'ann'}"
        assert "4111" not in variables["card"]
        assert "hunter2" not in encode_event(event).decode()

    def test_scrub_off_keeps_values(self) -> None:
        """With scrubbing off the values are sent as they are."""
        copied = [("password", "hunter2")]
        assert render_vars((copied, 0), Scrubber(enabled=False)) == {"password": "'hunter2'"}


def _nested(depth: int) -> Any:
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
        lambda inner: st.lists(inner, max_size=30) | st.dictionaries(st.text(), inner, max_size=30)
        | st.tuples(inner, inner) | st.frozensets(st.integers(), max_size=30),
        max_leaves=depth,
    )


class TestBounds:
    @settings(max_examples=60, deadline=None)
    @given(values=st.dictionaries(st.text(max_size=300), _nested(60), max_size=40))
    def test_any_nested_values_stay_bounded(self, values: dict[str, Any]) -> None:
        """Whatever the locals hold, a frame keeps at most 20 names of bounded size."""
        event = _event_for(**values)
        rendered = render_vars(([(k, _copy(v, 0)) for k, v in values.items()], 0), Scrubber())
        for variables in [rendered, *(f.get("vars", {}) for f in event["exception"]["frames"])]:
            assert len(variables) <= max(MAX_FRAME_VARS, len(values))
            for name, text in variables.items():
                assert len(name) <= MAX_VAR_NAME_CHARS
                assert len(text) <= MAX_VAR_VALUE_CHARS
                text.encode("utf-8")
        assert all(len(f.get("vars", {})) <= MAX_FRAME_VARS for f in event["exception"]["frames"])
        json.dumps(event)

    def test_many_locals_counted(self) -> None:
        """Over 20 variables, the rest are counted in vars_omitted."""
        namespace: dict[str, Any] = {}
        names = [f"v{i}" for i in range(30)]
        body = "\n    ".join(f"{name} = {i}" for i, name in enumerate(names))
        source = f"def many():\n    {body}\n    raise ValueError('x')"
        exec(compile(source, __file__, "exec"), namespace)
        try:
            namespace["many"]()
        except ValueError:
            event = _builder().build(snapshot_record(_record(sys.exc_info()), CAPTURE))
        frame = event["exception"]["frames"][-1]
        assert list(frame["vars"]) == names[:MAX_FRAME_VARS]
        assert frame["vars_omitted"] == 30 - MAX_FRAME_VARS

    def test_long_strings_and_containers_cut(self) -> None:
        """Strings show 200 characters, containers 10 items and 2 levels."""
        event = _event_for(text="x" * 5000, items=list(range(1000)), deep=[[[["bottom"]]]])
        shown = _innermost_vars(event)["kwargs"]
        assert "'" + "x" * MAX_STR_CHARS + "'…" in shown
        assert ", …990 more]" in shown
        assert "bottom" not in shown and "<list of 1>" in shown
        assert MAX_ITEMS == 10

    def test_innermost_frames_per_event(self) -> None:
        """A deep in-app stack gets locals on its 10 innermost frames only."""

        namespace: dict[str, Any] = {}
        source = "def f0():\n    level = 0\n    raise ValueError('bottom')\n" + "".join(
            f"def f{i}():\n    level = {i}\n    f{i - 1}()\n" for i in range(1, 25)
        )
        exec(compile(source, __file__, "exec"), namespace)
        try:
            namespace["f24"]()
        except ValueError:
            event = _builder().build(snapshot_record(_record(sys.exc_info()), CAPTURE))
        with_vars = [f for f in event["exception"]["frames"] if "vars" in f]
        assert len(with_vars) == MAX_VARS_FRAMES
        assert with_vars[-1]["vars"]["level"] == "0"
        assert "vars" in event["exception"]["frames"][-1]

    def test_huge_int_shown_by_size(self) -> None:
        """An int too big to print quickly is shown by its size."""
        event = _event_for(big=10**5000)
        assert "<int of 16610 bits>" in _innermost_vars(event)["kwargs"]


class TestEvents:
    def test_fingerprint_ignores_locals(self) -> None:
        """Equal errors with different locals have one fingerprint."""
        first = _event_for(order=1)
        second = _event_for(order=2)
        assert _innermost_vars(first) != _innermost_vars(second)
        assert first["fingerprint"] == second["fingerprint"]
        assert compute_fingerprint(first, None) == first["fingerprint"]

    def test_cached_frames_carry_each_occurrences_own_locals(self) -> None:
        """With the event cache warm, an occurrence still shows its own locals."""
        builder = _builder()
        seen = []
        for order in (1, 2, 3):
            try:
                _fail_with_order(order)
            except ValueError:
                snap = snapshot_record(_record(sys.exc_info()), CAPTURE)
            key = builder.raw_key(snap)
            seen.append(_innermost_vars(builder.build(snap, key))["order"])
        assert seen == ["1", "2", "3"]
        assert len(builder.cache) == 1

    def test_chained_cause_frames_get_locals(self) -> None:
        """The frames of a cause (raise ... from) carry their locals too."""
        try:
            try:
                _fail_with_order(7)
            except ValueError as error:
                wrapper = "wrapping"  # noqa: F841
                raise RuntimeError("wrapped") from error
        except RuntimeError:
            event = _builder().build(snapshot_record(_record(sys.exc_info()), CAPTURE))
        cause = event["exception"]["chain"][0]
        assert cause["frames"][-1]["vars"] == {"order": "7"}
        assert event["exception"]["frames"][0]["vars"]["wrapper"] == "'wrapping'"

    def test_structlog_snapshot_captures(self) -> None:
        """IssueProcessor's snapshot copies locals the same way."""
        exc_info = _raise_with(answer=42)
        snap = snapshot_event_dict("app", "error", {"event": "x", "exc_info": exc_info}, CAPTURE)
        assert "'answer': 42" in _innermost_vars(_builder().build(snap))["kwargs"]

    def test_library_frames_get_no_locals(self) -> None:
        """Frames outside the application (stdlib) carry no locals."""
        try:
            json.loads("{")
        except ValueError:
            event = _builder().build(snapshot_record(_record(sys.exc_info()), CAPTURE))
        frames = event["exception"]["frames"]
        assert "vars" in frames[0]
        assert all("vars" not in f for f in frames if not f["in_app"])


def _fail_with_order(order: int) -> None:
    raise ValueError("order failed")


class TestSetting:
    def test_off_by_default(self) -> None:
        """capture_locals is off unless asked for (the caller-cost benchmark)."""
        assert load_settings({}).capture_locals is False
        assert capture_for(load_settings({})) is None

    def test_keyword_and_environment(self) -> None:
        """The keyword and AFISSUE_CAPTURE_LOCALS turn it on."""
        assert load_settings({}, capture_locals=True).capture_locals is True
        assert load_settings({"AFISSUE_CAPTURE_LOCALS": "1"}).capture_locals is True
        assert capture_for(load_settings({}, capture_locals=True)) is not None

    @pytest.mark.parametrize("enabled", [True, False])
    def test_handler_sends_locals_when_on(self, spool_dir: str, enabled: bool) -> None:
        """IssueHandler(capture_locals=True) sends the frames' vars; without, none."""
        transport = CapturingTransport()
        handler = IssueHandler(
            service="svc", spool_dir=spool_dir, transport=transport, capture_locals=enabled
        )
        log = logging.getLogger(f"test.locals.{enabled}")
        log.addHandler(handler)
        log.propagate = False
        try:
            try:
                _fail_with_order(5)
            except ValueError:
                log.exception("failed")
            assert handler.flush(5)
        finally:
            log.removeHandler(handler)
            handler.close()
        frames = transport.events[0]["exception"]["frames"]
        assert any("vars" in f for f in frames) is enabled
        if enabled:
            assert frames[-1]["vars"] == {"order": "5"}

