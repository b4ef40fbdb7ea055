"""The process-wide senders: one per settings (and injected transport), drained at exit.

Handlers, processors and clients built with equal settings share one sender, so one
thread and one queue per process. ``atexit`` drains every sender for its
``exit_timeout``; ``multiprocessing`` children leave through ``os._exit`` and drain in
its finalizers instead. In a forked child every sender starts afresh (its own thread,
queue and connection), from an ``os.register_at_fork`` hook.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading

from afissue_logging._sender import Sender
from afissue_logging._transport import Transport
from afissue_logging.settings import ClientSettings

__all__ = ["get_sender", "reset_senders", "shutdown_all"]

_registry: dict[tuple[ClientSettings, int], Sender] = {}
_registry_lock = threading.Lock()
_mp_finalizer_pid: int | None = None


def get_sender(settings: ClientSettings, transport: Transport | None = None) -> Sender:
    """The process-wide sender of *settings* (and *transport*, when one is injected)."""
    key = (settings, id(transport) if transport is not None else 0)
    sender = _registry.get(key)
    if sender is None:
        with _registry_lock:
            sender = _registry.get(key)
            if sender is None:
                sender = Sender(settings, transport, on_start=_register_multiprocessing_finalizer)
                _registry[key] = sender
    return sender


def shutdown_all(timeout: float | None = None) -> None:
    """Drain and stop every sender of this process (registered with ``atexit``)."""
    for sender in list(_registry.values()):
        with contextlib.suppress(Exception):  # never fail interpreter exit
            sender.shutdown(timeout)


def reset_senders() -> None:
    """Stop and forget every sender without draining (for tests)."""
    with _registry_lock:
        senders = list(_registry.values())
        _registry.clear()
    for sender in senders:
        with contextlib.suppress(Exception):
            sender.shutdown(0.0)


def _after_fork_in_child() -> None:
    global _registry_lock, _mp_finalizer_pid  # noqa: PLW0603
    _registry_lock = threading.Lock()
    _mp_finalizer_pid = None
    for sender in list(_registry.values()):
        sender.after_fork_in_child()


def _register_multiprocessing_finalizer() -> None:
    """multiprocessing children leave through ``os._exit``: drain in its finalizers too."""
    global _mp_finalizer_pid  # noqa: PLW0603
    util = sys.modules.get("multiprocessing.util")
    if util is None or _mp_finalizer_pid == os.getpid():
        return
    _mp_finalizer_pid = os.getpid()
    util.Finalize(None, shutdown_all, exitpriority=10)


atexit.register(shutdown_all)
os.register_at_fork(after_in_child=_after_fork_in_child)
