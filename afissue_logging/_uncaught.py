"""Uncaught exceptions become issues: ``sys.excepthook`` and ``threading.excepthook``.

Every ``IssueHandler``, ``IssueProcessor`` and ``IssueTrackerClient`` whose settings
say ``capture_uncaught`` (the default; ``AFISSUE_CAPTURE_UNCAUGHT``) calls
:func:`install` with its sender, as ``sentry_sdk.init()`` installs sentry's
excepthook. The first install wraps both hooks; the wrappers report to every installed
sender and then call the hook they replaced, so the interpreter still prints its
traceback. Installing again does not wrap again (a hook that is already one of ours is
left alone); when the last owner is gone (:func:`uninstall`, ``IssueHandler.close()``)
the previous hooks are put back, unless someone has wrapped ours since, in which case
ours stays in their chain and only passes calls on.

A crash out of ``asyncio.run()`` is an exception propagating out of it: it reaches
``sys.excepthook`` (main thread) or ``threading.excepthook`` (another thread), so both
hooks cover it. "Task exception was never retrieved" is not uncaught: asyncio logs it
through its ``asyncio`` logger at ERROR with the exception, which an ``IssueHandler``
that sees that logger reports like any other logged error.

An uncaught event is a ``critical`` record of logger ``sys.excepthook`` or
``threading.excepthook`` with tags ``handled: no`` and ``mechanism``: a crash outranks a
logged error, and the tags say how it was caught. It groups with logged occurrences of
the same error (the fingerprint does not read level or logger). An exception already
reported (:mod:`._reported`) is not reported again, ``KeyboardInterrupt`` and
``SystemExit`` never are, and nothing is reported in an interactive interpreter (every
typo would be an issue). On the main thread's uncaught exception each sender is flushed
for at most its ``exit_timeout`` before the previous hook runs, so the dying process
delivers or spools.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from afissue_logging._locals import capture_for
from afissue_logging._reported import is_reported
from afissue_logging._snapshot import snapshot_record

if TYPE_CHECKING:
    from afissue_logging._sender import Sender

__all__ = ["install", "installed", "uninstall", "uninstall_all"]

SysHook = Callable[[type[BaseException], BaseException, TracebackType | None], Any]
ThreadHook = Callable[[Any], Any]

_lock = threading.Lock()
# Each installed sender and how many owners installed it.
_targets: dict[Sender, int] = {}


def install(sender: Sender) -> None:
    """Report uncaught exceptions to *sender* (once more owner of it); wrap the hooks."""
    with _lock:
        _targets[sender] = _targets.get(sender, 0) + 1
        if not isinstance(sys.excepthook, _SysHook):
            sys.excepthook = _SysHook(sys.excepthook)
        if not isinstance(threading.excepthook, _ThreadHook):
            threading.excepthook = _ThreadHook(threading.excepthook)


def uninstall(sender: Sender) -> None:
    """One owner of *sender* is gone; after the last owner of all, restore the hooks."""
    with _lock:
        owners = _targets.pop(sender, 0) - 1
        if owners > 0:
            _targets[sender] = owners
        if not _targets:
            _restore()


def uninstall_all() -> None:
    """Forget every sender and restore the hooks (``afissue_logging.testing.reset``)."""
    with _lock:
        _targets.clear()
        _restore()


def installed() -> tuple[Sender, ...]:
    """The senders uncaught exceptions go to now."""
    return tuple(_targets)


def _restore() -> None:
    if isinstance(sys.excepthook, _SysHook):
        sys.excepthook = sys.excepthook.previous
    if isinstance(threading.excepthook, _ThreadHook):
        threading.excepthook = threading.excepthook.previous


def _report(
    error: BaseException | None,
    traceback: TracebackType | None,
    mechanism: str,
    message: str,
    args: tuple[Any, ...] = (),
) -> Sequence[Sender]:
    """Submit *error* to every installed sender unless it must not be; the senders."""
    senders = tuple(_targets)
    if (
        not senders
        or error is None
        or isinstance(error, KeyboardInterrupt | SystemExit)
        or hasattr(sys, "ps1")
    ):
        return ()
    if is_reported(error):
        return senders  # reported when it was logged: only flush
    record = logging.LogRecord(
        mechanism, logging.CRITICAL, "", 0, message, args, (type(error), error, traceback)
    )
    record.__dict__["tags"] = {"handled": "no", "mechanism": mechanism}
    for sender in senders:
        try:
            sender.submit(snapshot_record(record, capture_for(sender.settings)))
        except Exception:  # noqa: BLE001 - never fail the hook chain
            sender.count_internal()
    return senders


def _flush(senders: Sequence[Sender]) -> None:
    """Flush *senders* within the longest of their ``exit_timeout``s."""
    if not senders:
        return
    deadline = time.monotonic() + max(sender.settings.exit_timeout for sender in senders)
    for sender in senders:
        with contextlib.suppress(Exception):  # the process is dying: nothing to tell
            sender.flush(max(0.0, deadline - time.monotonic()))


class _SysHook:
    """``sys.excepthook``: report, flush, then print through the previous hook.

    Flushing first delivers the crash even when the previous hook ends the process
    itself (``os._exit``); the traceback waits for at most ``exit_timeout``.
    """

    __slots__ = ("previous",)

    def __init__(self, previous: SysHook) -> None:
        self.previous = previous

    def __call__(
        self,
        exc_type: type[BaseException],
        error: BaseException,
        traceback: TracebackType | None,
    ) -> None:
        with contextlib.suppress(Exception):  # the traceback must still be printed
            _flush(_report(error, traceback, "sys.excepthook", "Uncaught exception"))
        self.previous(exc_type, error, traceback)


class _ThreadHook:
    """``threading.excepthook``: report, then let the previous hook print."""

    __slots__ = ("previous",)

    def __init__(self, previous: ThreadHook) -> None:
        self.previous = previous

    def __call__(self, args: Any) -> None:
        with contextlib.suppress(Exception):  # the traceback must still be printed
            thread = args.thread
            name = thread.name if thread is not None else threading.current_thread().name
            _report(
                args.exc_value,
                args.exc_traceback,
                "threading.excepthook",
                "Uncaught exception in thread %s",
                (name,),
            )
        self.previous(args)


def _after_fork_in_child() -> None:
    global _lock  # noqa: PLW0603 - a lock held by another parent thread stays held here
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
