"""An event's ``breadcrumbs`` field, built on the sender thread from the caller's trail.

The log call's snapshot keeps a copy of the ``contextvars`` context, and with it the
trail :mod:`._breadcrumbs` had built by then. Here each crumb becomes a
:class:`~afissue_logging.wire.BreadcrumbDict`: the message rendered from its template and
arguments, scrubbed, and every string cut to the wire's bounds.

An argument the caller's thread kept only as a type (a user object) is rendered as
``<TypeName>``. It is *not* ``repr``'d here either: the object was never kept, so it can
neither be read after it changed, nor run a query or leak a secret from a background
thread. A template whose placeholders do not fit (``%d`` of an object) is shown followed
by its arguments.
"""

from __future__ import annotations

import contextvars
import json
import logging
import math
from collections.abc import Mapping
from typing import Any

from afissue_logging._breadcrumbs import BREADCRUMBS, Crumb, trail
from afissue_logging._safe import text
from afissue_logging.scrub import FILTERED, Scrubber
from afissue_logging.wire import (
    MAX_BREADCRUMB_DATA_KEYS,
    MAX_BREADCRUMB_MESSAGE_CHARS,
    MAX_BREADCRUMB_TEXT_CHARS,
    MAX_BREADCRUMBS,
    MAX_BREADCRUMBS_BYTES,
    BreadcrumbDict,
    format_timestamp,
)

__all__ = ["breadcrumbs_field", "render_crumb"]

_ELLIPSIS = "…"
# Integers wider than this are shown by size: str() of a huge int is slow (and refused
# past 4,300 digits).
_MAX_INT_BITS = 256
# Text is cut to this many times its bound before scrubbing (which bounds the work) and
# to its bound after it.
_WORK_FACTOR = 4


class _Unrepresented:
    """Stands for an argument kept only by its type: formats as ``<TypeName>``."""

    __slots__ = ("label",)

    def __init__(self, label: str) -> None:
        self.label = label

    def __str__(self) -> str:
        return self.label

    __repr__ = __str__


def breadcrumbs_field(
    context: contextvars.Context | None, scrubber: Scrubber
) -> list[BreadcrumbDict] | None:
    """The ``breadcrumbs`` of a log call made in *context*, oldest first: the newest that
    fit :data:`~afissue_logging.wire.MAX_BREADCRUMBS_BYTES`; None when there were none."""
    if context is None:
        return None
    crumbs = trail(context.get(BREADCRUMBS), MAX_BREADCRUMBS)
    rendered: list[BreadcrumbDict] = []
    room = MAX_BREADCRUMBS_BYTES
    for crumb in reversed(crumbs):
        try:
            shown = render_crumb(crumb, scrubber)
        except Exception:  # noqa: BLE001, S112 - a crumb that cannot be rendered costs itself only
            continue
        room -= len(json.dumps(shown, ensure_ascii=False, separators=(",", ":")).encode()) + 1
        if room < 0:
            break
        rendered.append(shown)
    rendered.reverse()
    return rendered or None


def render_crumb(crumb: Crumb, scrubber: Scrubber) -> BreadcrumbDict:
    """One crumb as the wire carries it: rendered, scrubbed, bounded."""
    created, levelno, logger, template, args, thread, fields = crumb
    message = scrubber.text(text(_render(template, args), _WORK_FACTOR * MAX_BREADCRUMB_MESSAGE_CHARS))
    result: BreadcrumbDict = {
        "timestamp": format_timestamp(created),
        "level": _level(levelno),
        "logger": _cut(text(logger, MAX_BREADCRUMB_TEXT_CHARS), MAX_BREADCRUMB_TEXT_CHARS),
        "message": _cut(message, MAX_BREADCRUMB_MESSAGE_CHARS),
        "thread": _cut(text(thread, MAX_BREADCRUMB_TEXT_CHARS), MAX_BREADCRUMB_TEXT_CHARS),
    }
    if fields:
        result["data"] = _data(fields, scrubber)
    return result


def _level(levelno: int) -> str:
    if levelno >= logging.CRITICAL:
        return "critical"
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warning"
    return "info" if levelno >= logging.INFO else "debug"


def _value(value: Any) -> Any:
    """A kept argument as the renderer may use it: a type stands for its object."""
    if isinstance(value, type):
        return _Unrepresented(f"<{_type_name(value)}>")
    if type(value) is int and value.bit_length() > _MAX_INT_BITS:
        return _Unrepresented(f"<int of {value.bit_length()} bits>")
    return value


def _type_name(kind: type) -> str:
    try:
        name = kind.__qualname__
    except Exception:  # noqa: BLE001 - a metaclass may do anything
        return "object"
    return name if isinstance(name, str) else "object"


def _render(kept: Any, args: Any) -> str:
    limit = _WORK_FACTOR * MAX_BREADCRUMB_MESSAGE_CHARS
    if not isinstance(kept, str):
        return str(_value(kept))
    template = kept[:limit]
    if isinstance(args, dict):
        values: Any = {key: _value(value) for key, value in args.items()}
    elif isinstance(args, tuple):
        values = tuple(_value(value) for value in args)
    else:
        values = (_value(args),)
    if not values:
        return template
    try:
        # ``%`` of plain values and placeholders: no user code runs.
        rendered: str = template % values
    except (TypeError, ValueError, KeyError, OverflowError):
        shown = values.values() if isinstance(values, dict) else values
        return f"{template} {' '.join(str(v) for v in shown)}"[:limit]
    return rendered[:limit]


def _data(fields: Mapping[str, Any], scrubber: Scrubber) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in list(fields.items())[:MAX_BREADCRUMB_DATA_KEYS]:
        name = _cut(text(key, MAX_BREADCRUMB_TEXT_CHARS), MAX_BREADCRUMB_TEXT_CHARS)
        if scrubber.enabled and scrubber.is_sensitive_key(name):
            data[name] = FILTERED
            continue
        shown = _value(value)
        if isinstance(shown, _Unrepresented):
            data[name] = shown.label
        elif isinstance(shown, str):
            cut = shown[: _WORK_FACTOR * MAX_BREADCRUMB_TEXT_CHARS]
            data[name] = _cut(text(scrubber.text(cut)), MAX_BREADCRUMB_TEXT_CHARS)
        elif isinstance(shown, float) and not math.isfinite(shown):
            data[name] = str(shown)  # JSON has no NaN or infinity
        else:
            data[name] = shown
    return data


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + _ELLIPSIS
