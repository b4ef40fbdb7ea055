"""Firestore's documented limits on what a document may hold, checked independently of
the code that makes values safe (``afissue_logging.wire.firestore_safe``), so a test of
that code cannot pass by agreeing with itself.

https://firebase.google.com/docs/firestore/quotas and storage-size calculations.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

DOCUMENT_BYTES = 1_048_576
INDEX_ENTRIES = 40_000
FIELD_NAME_BYTES = 1_500
MAP_DEPTH = 20
_RESERVED = re.compile(r"^__.*__$", re.DOTALL)


def size(value: Any) -> int:
    """Storage size of *value* as Firestore counts it."""
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, int | float):
        return 8
    if isinstance(value, str):
        return len(value.encode()) + 1
    if isinstance(value, _dt.datetime):
        return 8
    if isinstance(value, list):
        return sum(size(v) for v in value)
    if isinstance(value, dict):
        return sum(len(str(k).encode()) + 1 + size(v) for k, v in value.items())
    return 8  # Increment and other transforms: a number


def violations(document: dict[str, Any]) -> list[str]:
    """What in *document* (top-level fields) Firestore would refuse; empty if nothing."""
    found: list[str] = []
    entries = 0

    def walk(value: Any, path: str, depth: int, in_array: bool) -> None:
        nonlocal entries
        entries += 1
        if isinstance(value, bool) or value is None or isinstance(value, float):
            return
        if isinstance(value, int):
            if not -(2**63) <= value <= 2**63 - 1:
                found.append(f"{path}: integer {value} outside int64")
            return
        if isinstance(value, str):
            try:
                value.encode()
            except UnicodeEncodeError:
                found.append(f"{path}: string is not valid UTF-8")
            return
        if isinstance(value, list):
            if in_array:
                found.append(f"{path}: array inside an array")
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]", depth, True)
            return
        if isinstance(value, dict):
            if depth >= MAP_DEPTH:
                found.append(f"{path}: maps nested deeper than {MAP_DEPTH}")
            for key, item in value.items():
                if not isinstance(key, str) or not key:
                    found.append(f"{path}: empty or non-string key {key!r}")
                elif _RESERVED.match(key):
                    found.append(f"{path}: reserved key {key[:40]!r}")
                elif len(key.encode("utf-8", "replace")) > FIELD_NAME_BYTES:
                    found.append(f"{path}: key of over {FIELD_NAME_BYTES} bytes")
                walk(item, f"{path}.{str(key)[:20]}", depth + 1, False)

    for name, value in document.items():
        walk(value, name, 1, False)
    total = size(document) + 32  # the document name and its overhead
    if total > DOCUMENT_BYTES:
        found.append(f"document of {total} bytes exceeds {DOCUMENT_BYTES}")
    if entries > INDEX_ENTRIES:
        found.append(f"{entries} index entries exceed {INDEX_ENTRIES}")
    return found
