"""Breadcrumbs on the caller's thread: recent records below the event level, per context.

One ``contextvars.ContextVar`` holds the current execution context's trail as an
immutable chain of nodes ``(crumb, previous, length, limit)``. Appending binds a new
head; nothing is ever changed in place. So a thread starts with an empty trail (a new
thread starts with an empty context), an asyncio task starts with a copy of its parent's
trail and adds to its own copy only, and a log call's snapshot (which keeps a copy of the
context, :mod:`._snapshot`) keeps the trail as it was at the call, with no copying.

A crumb holds plain values only: the time, the level number, the logger name, the message
template (``record.msg`` when it is a string) and the arguments, each kept when it is a
``str`` (cut to :data:`MAX_ARG_CHARS`), ``int``, ``float``, ``bool`` or ``None``, and
otherwise replaced by its *type*: no ``repr()`` or ``str()`` of a user object ever runs
here. Rendering, scrubbing and bounding happen on the sender thread
(:mod:`._breadcrumbs_field`). The chain is compacted to *limit* nodes once it reaches
three times that, so it costs O(1) per append and at most ``3 * limit`` crumbs of memory.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

__all__ = [
    "BREADCRUMBS",
    "MAX_ARGS",
    "MAX_ARG_CHARS",
    "Crumb",
    "Node",
    "add_event",
    "add_record",
    "clear",
    "trail",
]

#: Arguments (or structlog fields) kept per crumb; the rest are left out.
MAX_ARGS = 20
#: Longest string argument kept, in characters (the sender cuts the message further).
MAX_ARG_CHARS = 1024

#: ``(created, levelno, logger, template, args, thread, fields)``: plain values, user
#: objects replaced by their type. *args* is a tuple or a dict (``%(name)s`` templates).
Crumb = tuple[float, int, str, Any, Any, str, Any]
#: ``(crumb, previous node, length of the chain, the bound it was added under)``.
Node = tuple[Crumb, Any, int, int]

BREADCRUMBS: contextvars.ContextVar[Node | None] = contextvars.ContextVar(
    "afissue_breadcrumbs", default=None
)

_SCALARS = frozenset({int, float, bool, type(None)})
# A chain is compacted to its bound once it is this many times longer: rebuilding costs
# a node per crumb kept, so compacting every (_SLACK - 1) * limit appends keeps the
# amortised cost of an append low at the price of a little memory.
_SLACK = 3


def _plain(value: Any) -> Any:
    """*value* if it is a plain value (a long string cut), else its type."""
    kind = type(value)
    if kind is str:
        return value if len(value) <= MAX_ARG_CHARS else value[:MAX_ARG_CHARS]
    if kind in _SCALARS:
        return value
    return kind


def _plain_args(args: Any) -> Any:
    if not args:
        return ()
    if type(args) is tuple:
        if len(args) > MAX_ARGS:
            args = args[:MAX_ARGS]
        return tuple([_plain(arg) for arg in args])
    if type(args) is dict:
        return _plain_fields(args)
    return type(args)


def _plain_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = {}
    for key, value in fields.items():
        if type(key) is str:
            plain[key] = _plain(value)
            if len(plain) >= MAX_ARGS:
                break
    return plain


def _push(crumb: Crumb, limit: int) -> None:
    head = BREADCRUMBS.get()
    if head is None:
        BREADCRUMBS.set((crumb, None, 1, limit))
        return
    length = head[2] + 1
    if length >= _SLACK * limit:
        head, length = _compacted(head, limit - 1), limit
    BREADCRUMBS.set((crumb, head, length, limit))


def _compacted(head: Node, keep: int) -> Node | None:
    """The newest *keep* nodes of the chain at *head*, as a chain of their own."""
    crumbs: list[Crumb] = []
    node: Node | None = head
    while node is not None and len(crumbs) < keep:
        crumbs.append(node[0])
        node = node[1]
    compact: Node | None = None
    for length, crumb in enumerate(reversed(crumbs), 1):
        compact = (crumb, compact, length, head[3])
    return compact


def add_record(record: logging.LogRecord, limit: int) -> None:
    """Add a stdlib *record* to the current context's trail (kept to *limit* crumbs)."""
    # The hot path of every breadcrumb: written out, as a call costs about as much as
    # what it does.
    args: Any = record.args
    if args:
        if type(args) is tuple and len(args) <= MAX_ARGS:
            for arg in args:
                kind = type(arg)
                if kind is str:
                    if len(arg) > MAX_ARG_CHARS:
                        args = _plain_args(args)
                        break
                elif kind not in _SCALARS:
                    args = _plain_args(args)
                    break
        else:
            args = _plain_args(args)
    msg = record.msg
    crumb = (
        record.created,
        record.levelno,
        record.name,
        msg if type(msg) is str else type(msg),
        args,
        record.threadName or "",
        None,
    )
    head = BREADCRUMBS.get()
    if head is None:
        BREADCRUMBS.set((crumb, None, 1, limit))
        return
    length = head[2] + 1
    if length >= _SLACK * limit:
        head, length = _compacted(head, limit - 1), limit
    BREADCRUMBS.set((crumb, head, length, limit))


def add_event(
    logger: str, levelno: int, event: Any, fields: Mapping[str, Any], limit: int
) -> None:
    """Add a structlog event (its ``event`` text and other fields) to the trail."""
    _push(
        (
            time.time(),
            levelno,
            logger,
            event if type(event) is str else type(event),
            (),
            threading.current_thread().name,
            _plain_fields(fields) if fields else None,
        ),
        limit,
    )


def clear() -> None:
    """Start an empty trail in the current context (a request or job begins or ends)."""
    if BREADCRUMBS.get() is not None:
        BREADCRUMBS.set(None)


def trail(head: Node | None, limit: int | None = None) -> list[Crumb]:
    """The crumbs of the chain at *head*, oldest first: at most its bound (or *limit*)."""
    if head is None:
        return []
    keep = head[3] if limit is None else min(head[3], limit)
    crumbs: list[Crumb] = []
    node: Node | None = head
    while node is not None and len(crumbs) < keep:
        crumbs.append(node[0])
        node = node[1]
    crumbs.reverse()
    return crumbs
