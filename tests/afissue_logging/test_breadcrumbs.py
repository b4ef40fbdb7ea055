"""_breadcrumbs: the caller's per-context trail holds plain values only, bounded, never shared."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from afissue_logging import IssueHandler, _breadcrumbs
from afissue_logging._breadcrumbs import BREADCRUMBS, MAX_ARG_CHARS, MAX_ARGS, add_record, trail
from afissue_logging._request_context import RequestContext, bind, unbind
from afissue_logging.testing import CapturingTransport, reset


class Counting:
    """An object that counts every attempt to turn it into text, and refuses each."""

    calls = 0

    def __repr__(self) -> str:
        Counting.calls += 1
        raise RuntimeError("repr must not run")

    def __str__(self) -> str:
        Counting.calls += 1
        raise RuntimeError("str must not run")

    def __format__(self, spec: str) -> str:
        Counting.calls += 1
        raise RuntimeError("format must not run")


def _record(msg: Any, args: Any = (), level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("tests.crumbs", level, __file__, 1, msg, args, None)


def _fresh() -> contextvars.Context:
    """A context with an empty trail, as a new thread has."""
    context = contextvars.copy_context()
    context.run(BREADCRUMBS.set, None)
    return context


@pytest.fixture(autouse=True)
def _empty_trail() -> None:
    """Every test starts with an empty trail in the test's own thread."""
    _breadcrumbs.clear()


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    """A non-propagating INFO logger, cleaned up afterwards."""
    log = logging.getLogger("tests.crumbs")
    log.propagate = False
    log.setLevel(logging.INFO)
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


def _handler(logger: logging.Logger, **kwargs: Any) -> tuple[IssueHandler, CapturingTransport]:
    transport = CapturingTransport()
    handler = IssueHandler(transport=transport, capture_uncaught=False, **kwargs)
    logger.addHandler(handler)
    return handler, transport


def _messages(event: Any) -> list[str]:
    return [crumb["message"] for crumb in event.get("breadcrumbs", [])]


class TestAddRecord:
    def test_plain_args_are_kept_as_they_are(self) -> None:
        """str, int, float, bool and None arguments are kept by value."""
        args = ("bob", 42, 1.5, True, None)

        def add() -> list[Any]:
            add_record(_record("%s %d %s %s %s", args), 50)
            return trail(BREADCRUMBS.get())

        (crumb,) = _fresh().run(add)
        assert crumb[3] == "%s %d %s %s %s"
        assert crumb[4] == args

    def test_other_objects_are_kept_as_their_type_only(self) -> None:
        """An object argument is replaced by its type: no repr, str or format runs."""
        Counting.calls = 0

        def add() -> list[Any]:
            add_record(_record("order %s of %r", (Counting(), [1, 2])), 50)
            add_record(_record("%(order)s", ({"order": Counting()},)), 50)
            add_record(_record(Counting()), 50)
            return trail(BREADCRUMBS.get())

        first, second, third = _fresh().run(add)
        assert first[4] == (Counting, list)
        assert second[4] == {"order": Counting}
        assert third[3] is Counting
        assert Counting.calls == 0

    def test_strings_and_argument_lists_are_cut(self) -> None:
        """A long string argument is cut, and only the first MAX_ARGS arguments are kept."""

        def add() -> list[Any]:
            add_record(_record("%s", ("x" * (MAX_ARG_CHARS * 10),)), 50)
            add_record(_record("many", tuple(range(MAX_ARGS * 3))), 50)
            return trail(BREADCRUMBS.get())

        long, many = _fresh().run(add)
        assert long[4] == ("x" * MAX_ARG_CHARS,)
        assert many[4] == tuple(range(MAX_ARGS))

    @given(count=st.integers(min_value=0, max_value=400), limit=st.integers(1, 100))
    def test_trail_keeps_the_newest_within_its_bound(self, count: int, limit: int) -> None:
        """However many records, the trail holds the newest *limit*, oldest first, and the
        chain behind it never grows past three times the bound."""

        def add() -> tuple[list[Any], int]:
            for number in range(count):
                add_record(_record("n", (number,)), limit)
            head = BREADCRUMBS.get()
            return trail(head), 0 if head is None else head[2]

        crumbs, length = _fresh().run(add)
        assert [c[4][0] for c in crumbs] == list(range(max(0, count - limit), count))
        assert length <= 3 * limit


class TestContexts:
    def test_two_threads_never_mix(self, logger: logging.Logger) -> None:
        """Each thread's event carries its own thread's records only."""
        handler, transport = _handler(logger)
        barrier = threading.Barrier(2)

        def work(name: str) -> None:
            for number in range(30):
                logger.info("%s step %d", name, number)
                if number % 10 == 0:
                    barrier.wait()
            logger.error(f"{name} failed")  # distinct templates: two issues, not a storm

        threads = [threading.Thread(target=work, args=(name,)) for name in ("alpha", "beta")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert handler.flush(10)
        by_name = {event["message"].split()[0]: event for event in transport.events}
        for name in ("alpha", "beta"):
            assert _messages(by_name[name]) == [f"{name} step {n}" for n in range(30)]

    def test_a_new_thread_starts_empty(self, logger: logging.Logger) -> None:
        """A thread started after records were logged does not carry them."""
        handler, transport = _handler(logger)
        logger.info("before the thread")
        thread = threading.Thread(target=logger.error, args=("in the thread",))
        thread.start()
        thread.join()
        assert handler.flush(10)
        (event,) = transport.events
        assert "breadcrumbs" not in event

    def test_two_tasks_never_mix_nor_leak_into_their_parent(
        self, logger: logging.Logger
    ) -> None:
        """Interleaved asyncio tasks each see the parent's earlier records and their own,
        never a sibling's; the parent never sees its children's."""
        handler, transport = _handler(logger)

        async def task(name: str) -> None:
            for number in range(5):
                logger.info("%s step %d", name, number)
                await asyncio.sleep(0)
            logger.error(f"{name} failed")

        async def main() -> None:
            logger.info("parent before")
            await asyncio.gather(task("alpha"), task("beta"))
            logger.error("parent failed")

        asyncio.run(main())
        assert handler.flush(10)
        by_name = {event["message"].split()[0]: event for event in transport.events}
        for name in ("alpha", "beta"):
            assert _messages(by_name[name]) == [
                "parent before", *(f"{name} step {n}" for n in range(5))
            ]
        assert _messages(by_name["parent"]) == ["parent before"]

    def test_a_request_starts_and_ends_with_an_empty_trail(self, logger: logging.Logger) -> None:
        """Binding a request clears the trail, and so does unbinding it."""
        handler, transport = _handler(logger)
        logger.info("previous request's record")
        token = bind(RequestContext({"method": "GET", "path": "/a"}))
        logger.info("this request's record")
        logger.error("failed in the request")
        unbind(token)
        logger.error("failed after the request")
        assert handler.flush(10)
        inside, after = transport.events
        assert _messages(inside) == ["this request's record"]
        assert "breadcrumbs" not in after

    def test_clear_empties_the_current_trail_only(self) -> None:
        """clear() starts an empty trail here; a copy taken before keeps its own."""

        def run() -> tuple[list[Any], list[Any]]:
            add_record(_record("kept by the copy"), 50)
            copy = contextvars.copy_context()
            _breadcrumbs.clear()
            return trail(BREADCRUMBS.get()), trail(copy[BREADCRUMBS])

        now, before = _fresh().run(run)
        assert now == [] and [c[3] for c in before] == ["kept by the copy"]


class TestTestingReset:
    def test_reset_empties_the_callers_trail(self, logger: logging.Logger) -> None:
        """testing.reset() between a user's tests leaves no breadcrumbs behind."""
        _handler(logger)
        logger.info("from an earlier test")
        assert trail(BREADCRUMBS.get())
        reset()
        assert BREADCRUMBS.get() is None
