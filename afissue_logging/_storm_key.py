"""Cheap keys of a snapshot: equal key means equal fingerprint.

The *storm key* (:func:`storm_key`) lets the sender count a repeat without building it
(``aggregate.Aggregator.bump_raw``) and lets a full queue coalesce repeats
(``_queue``); on that path it is computed on the caller's thread, so it reads only what
the snapshot already holds — types, code objects, line numbers, strings the caller
rendered anyway — and never calls ``str()``, ``repr()`` or ``__hash__`` of a user
object. Where no such key can promise an equal fingerprint it is None: the occurrence is
built and fingerprinted on its own. The *cache key* (:func:`cache_key`) adds what the
built frames show, so that the event cache may reuse them.
"""

from __future__ import annotations

from collections.abc import Hashable
from types import TracebackType
from typing import Any

from afissue_logging._exceptions import MAX_CHAIN, MAX_VALUE_CHARS, causes
from afissue_logging._safe import safe_str
from afissue_logging._snapshot import Snapshot

__all__ = [
    "cache_key",
    "exception_frames_key",
    "exception_values",
    "raw_exception_key",
    "storm_key",
]

#: ``str()`` of these is a function of the exception's ``args`` alone.
_ARGS_STR = frozenset({BaseException.__str__, KeyError.__str__})
_PLAIN = frozenset({str, int, float, bool, type(None)})
#: Groups larger than this (or nested deeper) get no key: the key would cost more than it saves.
_MAX_KEYED_CHILDREN = 64
_MAX_KEYED_DEPTH = 8


class _NoKey(Exception):
    """No cheap key implies an equal fingerprint."""


def _value_key(exc: BaseException) -> tuple[Any, ...]:
    """What an exception without a traceback shows of itself: its plain ``args``, when
    its ``str()`` is made from them alone."""
    if type(exc).__str__ not in _ARGS_STR:
        raise _NoKey
    args = exc.args
    if type(args) is not tuple or any(type(arg) not in _PLAIN for arg in args):
        raise _NoKey
    return args


def _key_into(parts: list[Any], exc: BaseException, tb: TracebackType | None, depth: int) -> None:
    """Append the key of *exc* (its chain and a group's children included) to *parts*."""
    current: BaseException | None = exc
    hops = 0
    while current is not None and hops < MAX_CHAIN + 1:
        parts.append(type(current))
        node = tb if hops == 0 else current.__traceback__
        if node is None:
            parts.append(_value_key(current))
        while node is not None:
            parts.append(node.tb_frame.f_code)
            parts.append(node.tb_lineno)
            node = node.tb_next
        if isinstance(current, BaseExceptionGroup):
            members = current.exceptions
            if len(members) > _MAX_KEYED_CHILDREN or depth >= _MAX_KEYED_DEPTH:
                raise _NoKey
            parts.append(len(members))
            for member in members:
                _key_into(parts, member, member.__traceback__, depth + 1)
        parts.append(None)
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
        hops += 1


def raw_exception_key(exc: BaseException, tb: TracebackType | None) -> tuple[Any, ...] | None:
    """A key equal only for exceptions of equal types raised along equal code and lines
    (the failing line's text is part of the fingerprint), with equal plain values where
    there is no traceback (the value is then part of it); None when there is no such key.
    """
    parts: list[Any] = []
    try:
        _key_into(parts, exc, tb, 0)
    except (_NoKey, RecursionError):
        return None
    return tuple(parts)


def exception_frames_key(exc: BaseException, tb: TracebackType | None) -> tuple[Any, ...] | None:
    """A key equal only for exceptions whose walked frames and ``chain`` are equal, or
    None for an exception group (its children are walked afresh each time).

    Like :func:`raw_exception_key` plus the chain's relations, which ``chain`` shows.
    """
    if isinstance(exc, BaseExceptionGroup):
        return None
    parts: list[Any] = [type(exc)]
    node = tb
    while node is not None:
        parts.append((node.tb_frame.f_code, node.tb_lineno))
        node = node.tb_next
    for nxt, relation in causes(exc):
        if isinstance(nxt, BaseExceptionGroup):
            return None
        parts.append((type(nxt), relation))
        node = nxt.__traceback__
        while node is not None:
            parts.append((node.tb_frame.f_code, node.tb_lineno))
            node = node.tb_next
    return tuple(parts)


def exception_values(exc: BaseException) -> tuple[str, list[str]]:
    """The ``value`` of *exc* and of each ``chain`` entry, in ``chain`` order: the
    per-occurrence part of an exception whose frames are already known."""
    values = [safe_str(nxt, MAX_VALUE_CHARS) for nxt, _ in causes(exc)]
    values.reverse()
    return safe_str(exc, MAX_VALUE_CHARS), values


def _override_key(override: Any) -> Any:
    if override is None or isinstance(override, str):
        return override
    if isinstance(override, list | tuple):
        return tuple(override)
    raise _NoKey


def _head(snap: Snapshot) -> tuple[Any, ...]:
    if snap.kind == "record" and snap.record is not None:
        record = snap.record
        msg = record.msg
        if isinstance(msg, str):
            shown: Any = msg
        elif record.args or snap.message is None:
            raise _NoKey  # the template is str(msg), which the caller did not render
        else:
            # getMessage() rendered str(msg) on the caller's thread already; the builder
            # takes it as the template, so an equal text means an equal fingerprint.
            shown = (type(msg), snap.message)
        override = _override_key(record.__dict__.get("fingerprint"))
        return (record.name, record.levelno, shown, override)
    if snap.kind == "structlog" and isinstance(snap.template, str):
        override = _override_key(snap.fields.get("fingerprint"))
        return (snap.logger, snap.level, snap.template, override)
    raise _NoKey


def storm_key(snap: Snapshot) -> tuple[Any, ...] | None:
    """The storm key of *snap*: equal keys have equal fingerprints; None when there is
    no cheap one."""
    try:
        head = _head(snap)
        if snap.exc_info is not None:
            tail = raw_exception_key(snap.exc_info[1], snap.exc_info[2])
            if tail is None:
                return None
            head += tail
        hash(head)  # a list inside the fingerprint override makes no key
    except (_NoKey, TypeError):
        return None
    return head


def cache_key(snap: Snapshot, storm: tuple[Any, ...] | None) -> Hashable | None:
    """The event-cache key of *snap* (with its storm key), or None when the key does
    not fix the cached parts.

    Records with a non-string ``msg``, structlog events without an exception and
    exception groups are not cached. Line numbers and the chain's relations join the
    key because the frames and ``chain`` show them.
    """
    if storm is None:
        return None
    if snap.exc_info is not None:
        try:
            frames = exception_frames_key(snap.exc_info[1], snap.exc_info[2])
        except Exception:  # noqa: BLE001 - no key, no cache: the build still happens
            return None
        return None if frames is None else (storm, frames)
    if snap.kind == "record" and snap.record is not None and isinstance(snap.record.msg, str):
        return storm
    return None
