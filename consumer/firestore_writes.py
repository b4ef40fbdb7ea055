"""The consumer's adapter to the Firestore client library: its writes, built as protobufs.

This is the one module that knows the library's internals. The flush's ``Write``
messages are built here directly as protobufs and handed to the library's ``WriteBatch``
through two private members of it, :func:`document_path` (``DocumentReference.
_document_path``) and :func:`add_writes` (``WriteBatch._add_write_pbs``); this is why
``google-cloud-firestore`` is pinned below 3 (``docs/consumer.md``, "Why the pin").

The client library encodes every value through proto-plus wrappers and walks each
document for sentinels first: about 1 ms for one latest occurrence with five frames, and
a flush writes each issue's latest occurrence twice (the issue and its ring document).
Building the protobuf messages directly costs about a quarter of that and yields the same
messages (``tests/consumer/test_firestore_writes.py`` compares them with the library's
own). In the consumer this time is held under the GIL, taken from the consuming loop.

Supported values are the ones the consumer's planning (``consumer.document``) makes:
``None``, bool, int, float, str, bytes, timezone-aware datetimes, lists, dicts with
string keys, and the consumer's own :class:`~consumer.document.Increment` and
:data:`~consumer.trends.DELETE` in an update, written as the library's increment
transform and a field delete. Their names may be dotted paths into a map
(``trend_hourly.2026120214``): each segment that is not a plain identifier is quoted
(```2026120214```), as Firestore field paths require. Plain values are top-level fields.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from google.cloud.firestore_v1.types import common, document, write
from google.protobuf import struct_pb2, timestamp_pb2

from consumer.document import Increment
from consumer.trends import Delete

__all__ = [
    "add_writes", "create", "document_path", "encode_value", "field_path", "replace", "update",
]

_Value: Any = document.Value.pb()
_ArrayValue: Any = document.ArrayValue.pb()
_MapValue: Any = document.MapValue.pb()
_Document: Any = document.Document.pb()
_Write: Any = write.Write.pb()
_FieldTransform: Any = write.DocumentTransform.FieldTransform.pb()
_DocumentMask: Any = common.DocumentMask.pb()
_Precondition: Any = common.Precondition.pb()


def _timestamp(value: _dt.datetime) -> Any:
    exact = getattr(value, "timestamp_pb", None)  # DatetimeWithNanoseconds read back
    if exact is not None:
        return exact()
    if value.tzinfo is None:
        raise TypeError("naive datetimes are ambiguous; give Firestore an aware one")
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def encode_value(value: Any) -> Any:
    """*value* as a ``google.firestore.v1.Value`` protobuf."""
    if value is None:
        return _Value(null_value=struct_pb2.NULL_VALUE)
    if isinstance(value, bool):
        return _Value(boolean_value=value)
    if isinstance(value, int):
        return _Value(integer_value=value)
    if isinstance(value, float):
        return _Value(double_value=value)
    if isinstance(value, str):
        return _Value(string_value=value)
    if isinstance(value, bytes):
        return _Value(bytes_value=value)
    if isinstance(value, _dt.datetime):
        return _Value(timestamp_value=_timestamp(value))
    if isinstance(value, list | tuple):
        return _Value(array_value=_ArrayValue(values=[encode_value(v) for v in value]))
    if isinstance(value, Mapping):
        return _Value(map_value=_MapValue(fields=_fields(value)))
    raise TypeError(f"cannot write a {type(value).__name__} to Firestore here")


def _fields(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: encode_value(value) for name, value in values.items()}


def _wrap(pb: Any) -> write.Write:
    wrapped: write.Write = write.Write.wrap(pb)  # no copy: proto-plus shares the message
    return wrapped


def create(path: str, fields: Mapping[str, Any]) -> write.Write:
    """Create the document at *path* (full resource name); fails if it exists."""
    return _wrap(_Write(
        update=_Document(name=path, fields=_fields(fields)),
        current_document=_Precondition(exists=False),
    ))


def replace(path: str, fields: Mapping[str, Any]) -> write.Write:
    """Set the document at *path* to exactly *fields*, whether or not it exists."""
    return _wrap(_Write(update=_Document(name=path, fields=_fields(fields))))


_SIMPLE = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def field_path(name: str) -> str:
    """The Firestore field path of the dotted *name*, each odd segment quoted."""
    return ".".join(
        segment if _SIMPLE.fullmatch(segment)
        else "`" + segment.replace("\\", "\\\\").replace("`", "\\`") + "`"
        for segment in name.split(".")
    )


def update(path: str, fields: Mapping[str, Any], last_update_time: _dt.datetime) -> write.Write:
    """Set the top-level *fields* of the existing document at *path* (``Increment``
    values become increments, ``DELETE`` deletes), only if it is still at
    *last_update_time*."""
    plain = {name: value for name, value in fields.items()
             if not isinstance(value, Increment | Delete)}
    dotted = [name for name in plain if "." in name]
    if dotted:
        raise ValueError(f"plain values are top-level fields here, not {dotted}")
    deleted = [field_path(name) for name, value in fields.items() if isinstance(value, Delete)]
    increments = [
        _FieldTransform(field_path=field_path(name), increment=encode_value(value.value))
        for name, value in sorted(fields.items()) if isinstance(value, Increment)
    ]
    return _wrap(_Write(
        update=_Document(name=path, fields=_fields(plain)),
        update_mask=_DocumentMask(field_paths=sorted([*plain, *deleted])),
        update_transforms=increments,
        current_document=_Precondition(update_time=_timestamp(last_update_time)),
    ))


def document_path(reference: Any) -> str:
    """The full resource name (``projects/.../documents/...``) of a library
    ``DocumentReference``: what a ``Write`` names its document by."""
    path: str = reference._document_path
    return path


def add_writes(batch: Any, writes: Iterable[write.Write]) -> None:
    """Append *writes* (built here) to the library's ``WriteBatch`` *batch*; committing
    the batch commits them with whatever else it holds, atomically."""
    batch._add_write_pbs(list(writes))
