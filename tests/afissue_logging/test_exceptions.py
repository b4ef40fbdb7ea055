"""_exceptions: live exceptions, exception groups included, walked into bounded wire form."""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from afissue_logging._exceptions import (
    MAX_CHILD_FRAMES,
    MAX_CHILDREN,
    MAX_EXCEPTIONS,
    MAX_GROUP_DEPTH,
    InAppRule,
    exception_title,
    exception_to_dict,
)
from afissue_logging.wire import MAX_EVENT_BYTES, ExceptionDict

_IN_APP = InAppRule()


E = TypeVar("E", bound=BaseException)


def _raised(error: E) -> E:
    try:
        raise error
    except BaseException:
        return error


def _walk(error: BaseException) -> ExceptionDict:
    return exception_to_dict(error, error.__traceback__, _IN_APP)


def _through(depth: int, error: BaseException) -> None:
    if depth == 0:
        raise error
    if depth % 2:  # two lines, so that the frames are not one collapsed recursion
        _through(depth - 1, error)
    else:
        _through(depth - 1, error)


def _deep(depth: int, error: E) -> E:
    """*error*, raised *depth* frames below and caught here."""
    try:
        _through(depth, error)
    except BaseException:
        return error
    raise AssertionError("did not raise")


def _count(exc: ExceptionDict) -> int:
    return 1 + sum(_count(c) for c in exc.get("chain", ())) + sum(
        _count(c) for c in exc.get("children", ()))


def _group_depth(exc: ExceptionDict) -> int:
    children = exc.get("children", [])
    return 1 + max((_group_depth(c) for c in children), default=0) if children else 0


async def _fails(error: BaseException) -> None:
    raise error


class TestGroups:
    def test_task_group_children_are_walked(self) -> None:
        """A TaskGroup's failures are the group's children, each with its own frames."""
        async def main() -> None:
            async with asyncio.TaskGroup() as group:
                group.create_task(_fails(ValueError("prices")))
                group.create_task(_fails(KeyError("stock")))

        try:
            asyncio.run(main())
        except ExceptionGroup as error:
            exc = _walk(error)
        assert exc["type"] == "ExceptionGroup"
        assert [(c["type"], c["value"]) for c in exc["children"]] == [
            ("ValueError", "prices"), ("KeyError", "'stock'")]
        for child in exc["children"]:
            app = [f for f in child["frames"] if f["in_app"]]
            assert [f["function"] for f in app] == ["_fails"]
            assert app[-1]["context_line"] == "raise error"
        assert "children_omitted" not in exc
        assert exception_title(exc) == (
            "ExceptionGroup: unhandled errors in a TaskGroup (2 sub-exceptions) "
            "[ValueError, KeyError]")

    def test_children_keep_their_chains(self) -> None:
        """A child raised from a cause carries its own chain."""
        try:
            try:
                raise OSError("disk")
            except OSError as cause:
                raise RuntimeError("save") from cause
        except RuntimeError as error:
            child = error
        exc = _walk(_raised(ExceptionGroup("g", [child])))
        (only,) = exc["children"]
        assert [(c["type"], c["relation"]) for c in only["chain"]] == [("OSError", "cause")]

    def test_distinct_kinds_come_first_when_children_are_cut(self) -> None:
        """Beyond the children bound, every kind of failure is kept once before repeats."""
        members: list[Exception] = [_raised(ValueError(str(n))) for n in range(30)]
        members.append(_raised(KeyError("late")))
        exc = _walk(_raised(ExceptionGroup("many", members)))
        types = [c["type"] for c in exc["children"]]
        assert len(types) == MAX_CHILDREN and "KeyError" in types
        assert exc["children_omitted"] == 31 - MAX_CHILDREN
        assert exception_title(exc).endswith("[ValueError, KeyError]")

    def test_nesting_is_bounded(self) -> None:
        """Groups nested deeper than the bound keep their frames, children only counted."""
        error: Exception = ValueError("leaf")
        for level in range(MAX_GROUP_DEPTH + 3):
            error = ExceptionGroup(f"level {level}", [_raised(error)])
        exc = _walk(_raised(error))
        assert _group_depth(exc) == MAX_GROUP_DEPTH
        node = exc
        while node.get("children"):
            node = node["children"][0]
        assert node["children"] == [] and node["children_omitted"] == 1

    @settings(max_examples=30, deadline=None)
    @given(st.recursive(
        st.sampled_from([ValueError, KeyError, TypeError]).map(lambda t: ("leaf", t)),
        lambda inner: st.lists(inner, min_size=1, max_size=12).map(lambda c: ("group", c)),
        max_leaves=400,
    ))
    def test_any_tree_stays_within_the_bounds(self, tree: Any) -> None:
        """Whatever the tree, an event holds at most MAX_EXCEPTIONS exceptions, groups
        nest at most MAX_GROUP_DEPTH deep, and the JSON stays far below the wire limit."""
        def build(node: Any) -> Exception:
            kind, payload = node
            if kind == "leaf":
                leaf: Exception = payload("x" * 100)
                return _deep(3, leaf)
            return _raised(ExceptionGroup("g", [build(c) for c in payload]))

        exc = _walk(build(tree))
        assert _count(exc) <= MAX_EXCEPTIONS
        assert _group_depth(exc) <= MAX_GROUP_DEPTH
        assert len(json.dumps(exc)) < MAX_EVENT_BYTES // 2

    def test_a_cycle_through_a_childs_context_ends(self) -> None:
        """A group that is its own child's context is walked once."""
        child = ValueError("inner")
        group = ExceptionGroup("g", [child])
        child.__context__ = group
        exc = _walk(_raised(group))
        assert _count(exc) <= 3

    def test_children_keep_fewer_frames(self) -> None:
        """A child keeps its outermost and innermost frames within MAX_CHILD_FRAMES."""
        exc = _walk(_raised(ExceptionGroup("g", [_deep(60, ValueError("deep"))])))
        (child,) = exc["children"]
        assert len(child["frames"]) == MAX_CHILD_FRAMES
        assert child["frames_omitted"] > 0


class TestTitle:
    def test_first_line_of_the_value(self) -> None:
        """A multi-line value titles with its first line."""
        exc = _walk(_raised(ValueError("\nfirst\nsecond")))
        assert exception_title(exc) == "ValueError: first"

    def test_empty_value(self) -> None:
        """Without a value the title is the type."""
        assert exception_title(_walk(_raised(KeyError()))) == "KeyError"
