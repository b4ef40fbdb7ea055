"""_storm_key: equal keys mean equal fingerprints, and keys cost no user code."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from afissue_logging._builder import EventBuilder
from afissue_logging._snapshot import Snapshot, snapshot_event_dict, snapshot_record
from afissue_logging._storm_key import raw_exception_key, storm_key
from afissue_logging.settings import load_settings

_BUILDER = EventBuilder(load_settings({}, service="svc", spool_dir="/tmp/x"))


def _record(msg: Any, *args: Any, exc_info: Any = None) -> Snapshot:
    record = logging.LogRecord("app", logging.ERROR, __file__, 1, msg, args, exc_info)
    return snapshot_record(record)


def _caught(call: Callable[[], Any]) -> Any:
    try:
        call()
    except Exception:
        return sys.exc_info()
    raise AssertionError("did not raise")


def _raise(error: BaseException) -> None:
    raise error


def _two_lines(which: int) -> Any:
    data: dict[str, int] = {}
    if which:
        return data["a"]
    return data["b"]


class Loud(Exception):
    """An exception whose str() is its own (not made from args), counting calls."""

    calls = 0

    def __str__(self) -> str:
        Loud.calls += 1
        return "loud"


class Counted:
    """A message object counting str(), repr() and hash() calls."""

    calls = 0

    def __str__(self) -> str:
        Counted.calls += 1
        return "counted"

    __repr__ = __str__

    def __hash__(self) -> int:
        Counted.calls += 1
        return 1


class TestKeys:
    def test_non_string_messages_key_by_their_rendered_text(self) -> None:
        """logger.error(obj): different texts, different keys; one text, one key."""
        keys = [storm_key(_record(m)) for m in ({"event": "a", "n": 1}, {"event": "b", "n": 1},
                                                {"event": "a", "n": 1})]
        assert keys[0] != keys[1] and keys[0] == keys[2]
        assert storm_key(_record(Counted(), "arg")) is None

    def test_errors_as_messages_key_by_type_and_text(self) -> None:
        """logger.error(ValueError(..)): three errors of one type are three keys."""
        keys = {storm_key(_record(ValueError(t))) for t in ("price", "stock", "currency")}
        assert len(keys) == 3 and None not in keys

    def test_exceptions_without_traceback_key_by_plain_args(self) -> None:
        """Without a traceback the value is in the key when str() is made from plain args,
        and there is no key otherwise."""
        def key(error: BaseException) -> Any:
            return storm_key(_record("failed", exc_info=(type(error), error, None)))
        assert key(ValueError("a")) != key(ValueError("b"))
        assert key(KeyError("a")) == key(KeyError("a"))
        assert key(Loud("a")) is None
        assert key(ValueError(Counted())) is None

    def test_failing_lines_are_in_the_key(self) -> None:
        """Two failing lines of one function are two keys (the line text is grouped on)."""
        first, second, again = (
            raw_exception_key(*_caught(functools.partial(_two_lines, which))[1:])
            for which in (1, 0, 1))
        assert first != second and first == again

    def test_group_children_are_in_the_key(self) -> None:
        """Groups with other children have other keys; huge groups have none."""
        def group(*errors: Exception) -> Any:
            return _caught(lambda: _raise(ExceptionGroup("g", list(errors))))
        assert raw_exception_key(*group(ValueError("a"))[1:]) != raw_exception_key(
            *group(KeyError("a"))[1:])
        assert raw_exception_key(*group(*[ValueError("a")] * 65)[1:]) is None

    def test_no_user_code_runs_for_a_key(self) -> None:
        """Keys call no str(), repr() or __hash__ of user objects (the caller may compute
        them, on a full queue)."""
        snaps = [_record(Counted()), _record("m", exc_info=(Loud, Loud("x"), None)),
                 _record("m", exc_info=(ValueError, ValueError(Counted()), None)),
                 snapshot_event_dict("log", "error", {"event": Loud("e")})]
        before = (Counted.calls, Loud.calls)
        for snap in snaps:
            storm_key(snap)
        assert (Counted.calls, Loud.calls) == before


_VARIANTS: list[Callable[[], Snapshot]] = [
    lambda: _record("user %s missing", "a"),
    lambda: _record("user %s missing", "b"),
    lambda: _record(ValueError("price")),
    lambda: _record(ValueError("stock")),
    lambda: _record(KeyError("price")),
    lambda: _record({"event": "x", "n": 1}),
    lambda: _record({"event": "y", "n": 2}),
    lambda: _record("failed", exc_info=(ValueError, ValueError("a"), None)),
    lambda: _record("failed", exc_info=(ValueError, ValueError("b"), None)),
    lambda: _record("failed", exc_info=_caught(lambda: _two_lines(1))),
    lambda: _record("failed", exc_info=_caught(lambda: _two_lines(0))),
    lambda: _record("failed", exc_info=_caught(
        lambda: _raise(ExceptionGroup("g", [ValueError("a")])))),
    lambda: _record("failed", exc_info=_caught(
        lambda: _raise(ExceptionGroup("g", [KeyError("a")])))),
    lambda: snapshot_event_dict("log", "error", {"event": "user 1 missing"}),
    lambda: snapshot_event_dict("log", "error", {"event": ValueError("x")}),
    lambda: snapshot_event_dict("log", "error", {"event": ValueError("y")}),
]


class TestKeyImpliesFingerprint:
    @settings(max_examples=200, deadline=None)
    @given(st.sampled_from(range(len(_VARIANTS))), st.sampled_from(range(len(_VARIANTS))))
    def test_equal_keys_have_equal_fingerprints(self, first: int, second: int) -> None:
        """Any two snapshots with equal storm keys build equal fingerprints (the window's
        fast path never merges different errors)."""
        a, b = _VARIANTS[first](), _VARIANTS[second]()
        key_a, key_b = storm_key(a), storm_key(b)
        prints = (_BUILDER.build(a)["fingerprint"], _BUILDER.build(b)["fingerprint"])
        if key_a is not None and key_a == key_b:
            assert prints[0] == prints[1]
