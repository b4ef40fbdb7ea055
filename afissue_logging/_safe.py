"""Turning arbitrary user objects into bounded, valid-UTF-8, JSON-safe values without raising.

User objects may have a ``__repr__`` that raises, contain non-UTF-8 bytes or lone
surrogates, be megabytes long or nest forever; none of that may reach the application.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["TRUNCATION_MARKER", "json_safe", "safe_repr", "safe_str", "text", "truncate"]

TRUNCATION_MARKER = "...[afissue: truncated {} chars]"

_MAX_DEPTH = 6
_MAX_ITEMS = 100
_MAX_VALUE_CHARS = 4_096


def _clean(value: str) -> str:
    """*value* as valid UTF-8 text: lone surrogates become ``\\udcxx`` escapes."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def truncate(value: str, limit: int) -> str:
    """*value* cut to at most *limit* characters, ending in a marker saying how many were cut."""
    if len(value) <= limit:
        return value
    # The result, marker included, stays within *limit* (the ingest API bounds strings).
    keep = max(limit - len(TRUNCATION_MARKER) - 10, 0)
    return value[:keep] + TRUNCATION_MARKER.format(len(value) - keep)


def text(value: Any, limit: int = _MAX_VALUE_CHARS) -> str:
    """``str(value)`` that never raises, decodes bytes leniently, is valid UTF-8 and bounded."""
    if isinstance(value, bytes | bytearray):
        value = bytes(value[: limit * 4]).decode("utf-8", "backslashreplace")
    if isinstance(value, str):
        return _clean(truncate(value, limit))
    return safe_str(value, limit)


def safe_repr(value: Any, limit: int = _MAX_VALUE_CHARS) -> str:
    """``repr(value)`` that never raises (a broken ``__repr__`` is named instead)."""
    try:
        rendered = repr(value)
        if not isinstance(rendered, str):
            raise TypeError("__repr__ returned a non-string")
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt | SystemExit):
            raise
        return f"<{_type_name(value)} object (repr failed: {_type_name(error)})>"
    return _clean(truncate(rendered, limit))


def safe_str(value: Any, limit: int = _MAX_VALUE_CHARS) -> str:
    """``str(value)`` that never raises, falling back to :func:`safe_repr`."""
    try:
        rendered = str(value)
        if not isinstance(rendered, str):
            raise TypeError("__str__ returned a non-string")
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt | SystemExit):
            raise
        return safe_repr(value, limit)
    return _clean(truncate(rendered, limit))


def _type_name(value: Any) -> str:
    try:
        return str(type(value).__qualname__)
    except BaseException:  # noqa: BLE001
        return "object"


def json_safe(value: Any, depth: int = 0) -> Any:
    """A JSON-encodable copy of *value*: bounded depth, items and string sizes."""
    if value is None or isinstance(value, bool | int):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
            return str(value)
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str | bytes | bytearray):
        return text(value)
    if depth >= _MAX_DEPTH:
        return safe_repr(value, 200)
    if isinstance(value, Mapping):
        try:
            items = list(value.items())[:_MAX_ITEMS]
        except BaseException:  # noqa: BLE001
            return safe_repr(value)
        return {text(k, 200) if isinstance(k, str) else safe_repr(k, 200): json_safe(v, depth + 1)
                for k, v in items}
    if isinstance(value, list | tuple | set | frozenset):
        try:
            items = list(value)[:_MAX_ITEMS]
        except BaseException:  # noqa: BLE001
            return safe_repr(value)
        return [json_safe(v, depth + 1) for v in items]
    return safe_repr(value)
