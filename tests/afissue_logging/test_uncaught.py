"""Uncaught exceptions: real processes that crash report exactly one occurrence, chained
hooks still print, and the hooks are installed once and restored."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from afissue_logging import IssueHandler, IssueProcessor, IssueTrackerClient
from afissue_logging._uncaught import installed
from afissue_logging.testing import CapturingTransport, reset
from tests.afissue_logging.capture_server import CaptureServer

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = ("handler", "processor", "client")

# Each script gets the entry point to create as argv[1]; the code after it crashes.
PROLOGUE = textwrap.dedent(
    """
    import asyncio, logging, os, sys, threading
    from afissue_logging import IssueHandler, IssueProcessor, IssueTrackerClient

    def settle(order):
        raise ValueError(f"order {order} cannot be settled")

    entry = sys.argv[1]
    if entry == "handler":
        logging.getLogger().addHandler(IssueHandler(service="crash"))
    elif entry == "processor":
        IssueProcessor(service="crash")
    elif entry == "client":
        IssueTrackerClient(service="crash")
    """
)
DIES = "settle(7)\n"
THREAD_DIES = textwrap.dedent(
    """
    worker = threading.Thread(target=settle, args=(7,), name="settler")
    worker.start()
    worker.join()
    print("main thread goes on", flush=True)
    """
)
ASYNCIO_RUN_CRASHES = textwrap.dedent(
    """
    async def settle_later(order):
        await asyncio.sleep(0)
        settle(order)

    async def main():
        await asyncio.gather(settle_later(7))

    asyncio.run(main())
    """
)
ASYNCIO_RUN_CRASHES_IN_A_THREAD = textwrap.dedent(
    """
    async def main():
        await asyncio.sleep(0)
        settle(7)

    worker = threading.Thread(target=asyncio.run, args=(main(),), name="loop")
    worker.start()
    worker.join()
    """
)
LOGGED_THEN_RERAISED = textwrap.dedent(
    """
    try:
        settle(7)
    except ValueError:
        logging.getLogger("app").exception("settling failed")
        raise
    """
)
LOGGED_IN_A_THREAD_THEN_RERAISED = textwrap.dedent(
    """
    def run():
        try:
            settle(7)
        except ValueError:
            logging.getLogger("app").exception("settling failed")
            raise

    worker = threading.Thread(target=run, name="settler")
    worker.start()
    worker.join()
    """
)
TASK_NEVER_RETRIEVED = textwrap.dedent(
    """
    import gc

    async def fail():
        settle(7)

    async def main():
        task = asyncio.get_running_loop().create_task(fail())
        await asyncio.sleep(0.05)
        assert task.done()
        del task
        gc.collect()

    asyncio.run(main())
    """
)
TRACEBACK = "Traceback (most recent call last):"
ERROR_LINE = "ValueError: order 7 cannot be settled"


def _run(
    script: str,
    entry: str,
    capture: CaptureServer,
    spool_dir: str,
    prologue: str = PROLOGUE,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AFISSUE_")}
    environment.update(
        PYTHONPATH=str(ROOT), AFISSUE_URL=capture.url, AFISSUE_SPOOL_DIR=spool_dir, **env
    )
    return subprocess.run(
        [sys.executable, "-c", prologue + script, entry],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _only_event(capture: CaptureServer) -> dict[str, Any]:
    assert capture.occurrences() == 1, capture.events
    [event] = capture.events
    return event


class TestCrashingProcesses:
    @pytest.mark.parametrize("entry", ENTRY_POINTS)
    def test_uncaught_exception_in_main_is_one_occurrence(
        self, entry: str, capture: CaptureServer, spool_dir: str
    ) -> None:
        """A process killed by an uncaught exception reports it once (any entry point
        installs the hook) and still prints the interpreter's traceback."""
        result = _run(DIES, entry, capture, spool_dir)
        assert result.returncode == 1
        assert TRACEBACK in result.stderr and ERROR_LINE in result.stderr, result.stderr
        event = _only_event(capture)
        assert event["title"] == ERROR_LINE
        assert event["level"] == "critical"
        assert event["logger"] == "sys.excepthook"
        assert event["message"] == "Uncaught exception"
        assert event["tags"] == {"handled": "no", "mechanism": "sys.excepthook"}
        assert event["exception"]["frames"][-1]["function"] == "settle"

    @pytest.mark.parametrize("entry", ENTRY_POINTS)
    def test_thread_killed_by_an_exception_is_one_occurrence(
        self, entry: str, capture: CaptureServer, spool_dir: str
    ) -> None:
        """A thread that dies of an exception reports it once, named; the default hook
        still prints it and the process goes on."""
        result = _run(THREAD_DIES, entry, capture, spool_dir)
        assert result.returncode == 0, result.stderr
        assert "main thread goes on" in result.stdout
        assert "Exception in thread settler" in result.stderr, result.stderr
        assert TRACEBACK in result.stderr and ERROR_LINE in result.stderr
        event = _only_event(capture)
        assert event["title"] == ERROR_LINE
        assert event["level"] == "critical"
        assert event["message"] == "Uncaught exception in thread settler"
        assert event["thread"] == "settler"
        assert event["tags"] == {"handled": "no", "mechanism": "threading.excepthook"}

    @pytest.mark.parametrize(
        ("script", "mechanism"),
        [
            (ASYNCIO_RUN_CRASHES, "sys.excepthook"),
            (ASYNCIO_RUN_CRASHES_IN_A_THREAD, "threading.excepthook"),
        ],
        ids=["main-thread", "other-thread"],
    )
    def test_crash_out_of_asyncio_run_is_one_occurrence(
        self, script: str, mechanism: str, capture: CaptureServer, spool_dir: str
    ) -> None:
        """An exception propagating out of asyncio.run() is reported once, with the
        coroutine's frames, by the hook of the thread that ran the loop."""
        result = _run(script, "handler", capture, spool_dir)
        assert TRACEBACK in result.stderr and ERROR_LINE in result.stderr, result.stderr
        event = _only_event(capture)
        assert event["tags"]["mechanism"] == mechanism
        functions = [frame["function"] for frame in event["exception"]["frames"]]
        assert functions[-1] == "settle"
        assert "main" in functions

    @pytest.mark.parametrize(
        "script", [LOGGED_THEN_RERAISED, LOGGED_IN_A_THREAD_THEN_RERAISED], ids=["main", "thread"]
    )
    def test_logged_then_reraised_is_not_reported_again(
        self, script: str, capture: CaptureServer, spool_dir: str
    ) -> None:
        """An exception logged with logger.exception() and re-raised until it kills the
        thread or process stays one occurrence: the logged one."""
        result = _run(script, "handler", capture, spool_dir)
        assert ERROR_LINE in result.stderr, result.stderr
        event = _only_event(capture)
        assert event["message"] == "settling failed"
        assert event["level"] == "error"

    def test_task_exception_never_retrieved_is_the_asyncio_loggers_error(
        self, capture: CaptureServer, spool_dir: str
    ) -> None:
        """asyncio reports a task exception nobody retrieved through its own logger: the
        IssueHandler reports that record once, and no hook adds a second."""
        result = _run(TASK_NEVER_RETRIEVED, "handler", capture, spool_dir)
        assert result.returncode == 0, result.stderr
        event = _only_event(capture)
        assert event["message"].startswith("Task exception was never retrieved")
        assert event["logger"] == "asyncio"
        assert event["title"] == ERROR_LINE

    def test_previous_hook_runs_once_with_two_entry_points(
        self, capture: CaptureServer, spool_dir: str
    ) -> None:
        """A hook installed before the client is chained: it runs once, even with two
        entry points installed, and the crash is still one occurrence."""
        script = textwrap.dedent(
            """
            def previous(kind, error, tb):
                print(f"previous hook saw {kind.__name__}", file=sys.stderr)

            sys.excepthook = previous
            logging.getLogger().addHandler(IssueHandler(service="crash"))
            logging.getLogger("other").addHandler(IssueHandler(service="crash"))
            IssueProcessor(service="crash")
            """
        )
        result = _run(script + DIES, "none", capture, spool_dir)
        assert result.stderr.count("previous hook saw ValueError") == 1, result.stderr
        assert TRACEBACK not in result.stderr
        _only_event(capture)

    def test_crash_is_delivered_before_a_previous_hook_ends_the_process(
        self, capture: CaptureServer, spool_dir: str
    ) -> None:
        """The hook flushes before calling a previous hook that leaves through os._exit(),
        which skips the exit drain: the crash still arrives."""
        script = textwrap.dedent(
            """
            sys.excepthook = lambda *exc_info: os._exit(3)
            logging.getLogger().addHandler(IssueHandler(service="crash", flush_interval=30))
            settle(7)
            """
        )
        result = _run(script, "none", capture, spool_dir)
        assert result.returncode == 3
        assert _only_event(capture)["title"] == ERROR_LINE

    @pytest.mark.parametrize("entry", ENTRY_POINTS)
    def test_opt_out_by_keyword_and_by_setting(
        self, entry: str, capture: CaptureServer, spool_dir: str
    ) -> None:
        """capture_uncaught=False, or AFISSUE_CAPTURE_UNCAUGHT=false, reports nothing and
        leaves the interpreter's traceback alone."""
        keyword = PROLOGUE.replace('service="crash"', 'service="crash", capture_uncaught=False')
        by_keyword = _run(DIES, entry, capture, spool_dir, prologue=keyword).stderr
        result = _run(DIES, entry, capture, spool_dir, AFISSUE_CAPTURE_UNCAUGHT="false")
        for stderr in (by_keyword, result.stderr):
            assert TRACEBACK in stderr and ERROR_LINE in stderr, stderr
        assert capture.events == []


@pytest.fixture
def transport() -> CapturingTransport:
    """A transport that accepts everything."""
    return CapturingTransport()


@pytest.fixture
def hooks() -> Iterator[tuple[Any, Any]]:
    """The hooks before the test; the test must leave them as it found them."""
    before = (sys.excepthook, threading.excepthook)
    yield before
    reset()
    assert (sys.excepthook, threading.excepthook) == before


def _handler(transport: CapturingTransport, spool_dir: str, **kwargs: Any) -> IssueHandler:
    return IssueHandler(service="svc", spool_dir=spool_dir, transport=transport, **kwargs)


def _raise() -> ValueError:
    try:
        raise ValueError("boom")
    except ValueError as error:
        return error


class TestInstall:
    def test_installing_twice_wraps_once(
        self, transport: CapturingTransport, spool_dir: str, hooks: tuple[Any, Any]
    ) -> None:
        """Two handlers and a processor wrap each hook once, around the previous hook."""
        _handler(transport, spool_dir)
        _handler(transport, spool_dir, level=logging.CRITICAL)
        IssueProcessor(service="svc", spool_dir=spool_dir, transport=transport)
        assert sys.excepthook.previous is hooks[0]  # type: ignore[attr-defined]
        assert threading.excepthook.previous is hooks[1]  # type: ignore[attr-defined]
        assert len(installed()) == 1

    def test_closing_the_last_owner_restores_the_hooks(
        self, transport: CapturingTransport, spool_dir: str, hooks: tuple[Any, Any]
    ) -> None:
        """The hooks stay while one handler that installed them is open, and are put back
        when the last one closes (closing twice changes nothing)."""
        first = _handler(transport, spool_dir)
        second = _handler(transport, spool_dir)
        first.close()
        first.close()
        assert sys.excepthook is not hooks[0]
        second.close()
        assert (sys.excepthook, threading.excepthook) == hooks
        assert installed() == ()

    def test_a_hook_wrapped_around_ours_is_left_in_place(
        self,
        transport: CapturingTransport,
        spool_dir: str,
        hooks: tuple[Any, Any],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """After another library wrapped our hook, closing leaves its chain intact; ours
        then only passes calls on."""
        handler = _handler(transport, spool_dir)
        ours = sys.excepthook
        seen: list[str] = []

        def theirs(kind: type[BaseException], error: BaseException, tb: Any) -> None:
            seen.append(str(error))
            ours(kind, error, tb)

        sys.excepthook = theirs
        handler.close()
        assert sys.excepthook is theirs
        error = _raise()
        sys.excepthook(ValueError, error, error.__traceback__)
        assert seen == ["boom"]
        assert "ValueError: boom" in capsys.readouterr().err
        assert transport.events == []
        sys.excepthook = hooks[0]

    def test_opted_out_entry_points_leave_the_hooks_alone(
        self, transport: CapturingTransport, spool_dir: str, hooks: tuple[Any, Any]
    ) -> None:
        """capture_uncaught=False (keyword or dictConfig string) installs nothing."""
        _handler(transport, spool_dir, capture_uncaught=False)
        IssueProcessor(
            service="svc", spool_dir=spool_dir, transport=transport, capture_uncaught=False
        )
        no: Any = "false"  # as logging.config.dictConfig passes it
        IssueTrackerClient(service="svc", spool_dir=spool_dir, transport=transport, capture_uncaught=no)
        assert (sys.excepthook, threading.excepthook) == hooks

    def test_opting_out_shares_the_sender(
        self, transport: CapturingTransport, spool_dir: str, hooks: tuple[Any, Any]
    ) -> None:
        """Entry points that differ only in capture_uncaught feed one sender (one thread)."""
        quiet = _handler(transport, spool_dir, capture_uncaught=False)
        loud = IssueProcessor(service="svc", spool_dir=spool_dir, transport=transport)
        assert quiet.settings == loud.settings  # capture_uncaught is not compared
        assert quiet.sender is loud._sender
        assert installed() == (quiet.sender,)

    def test_reset_restores_the_hooks(
        self, transport: CapturingTransport, spool_dir: str, hooks: tuple[Any, Any]
    ) -> None:
        """testing.reset() forgets the senders and puts the hooks back."""
        _handler(transport, spool_dir)
        reset()
        assert (sys.excepthook, threading.excepthook) == hooks


class TestReport:
    def test_hook_reports_and_chains(
        self,
        transport: CapturingTransport,
        spool_dir: str,
        hooks: tuple[Any, Any],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Called as the interpreter would, the hook has the event delivered before it
        returns (it flushed) and the previous hook prints the traceback."""
        _handler(transport, spool_dir, flush_interval=30)
        error = _raise()
        sys.excepthook(ValueError, error, error.__traceback__)
        [event] = transport.events
        assert event["title"] == "ValueError: boom"
        assert event["exception"]["frames"][-1]["function"] == "_raise"
        assert "ValueError: boom" in capsys.readouterr().err

    @pytest.mark.parametrize("error", [KeyboardInterrupt(), SystemExit(2)])
    def test_interrupts_and_exits_are_not_issues(
        self,
        error: BaseException,
        transport: CapturingTransport,
        spool_dir: str,
        hooks: tuple[Any, Any],
    ) -> None:
        """Ctrl-C and SystemExit reaching a hook are not reported."""
        handler = _handler(transport, spool_dir)
        sys.excepthook(type(error), error, None)
        assert handler.flush(10)
        assert transport.events == []

    def test_interactive_interpreter_is_not_reported(
        self,
        transport: CapturingTransport,
        spool_dir: str,
        hooks: tuple[Any, Any],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """In an interactive session (sys.ps1 set) a typo's traceback is not an issue."""
        handler = _handler(transport, spool_dir)
        monkeypatch.setattr(sys, "ps1", ">>> ", raising=False)
        error = _raise()
        sys.excepthook(ValueError, error, error.__traceback__)
        assert handler.flush(10)
        assert transport.events == []

    def test_an_exception_is_reported_once_whichever_path_sees_it(
        self,
        transport: CapturingTransport,
        spool_dir: str,
        hooks: tuple[Any, Any],
    ) -> None:
        """Reported by the hook first, the same exception logged afterwards (a previous
        hook that logs) is not a second occurrence."""
        handler = _handler(transport, spool_dir)
        log = logging.getLogger("tests.uncaught")
        log.propagate = False
        log.addHandler(handler)
        try:
            error = _raise()
            sys.excepthook(ValueError, error, error.__traceback__)
            log.error("the previous hook logs it", exc_info=error)
            assert handler.flush(10)
        finally:
            log.removeHandler(handler)
        assert [e["logger"] for e in transport.events] == ["sys.excepthook"]
        assert transport.occurrences() == 1
