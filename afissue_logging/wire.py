"""The wire format shared by client, ingest and consumer: one issue event as JSON.

An *event* is one occurrence (or, with ``count`` > 1, N identical occurrences
aggregated by the client inside one flush window). The ingest API validates it
(``ingest_service`` holds the pydantic models and the OpenAPI document), adds
``service`` from the token, ``fingerprint`` / ``issue_id`` when missing and
``received_at``, and publishes it to Kafka keyed by ``issue_id``. Everything here is
standard library only, so the client can use it.
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

__all__ = [
    "WIRE_VERSION",
    "EventDict",
    "ExceptionDict",
    "FrameDict",
    "decode_event",
    "encode_event",
    "format_timestamp",
    "new_event_id",
    "parse_timestamp",
]

WIRE_VERSION = 1


class FrameDict(TypedDict):
    """One stack frame, innermost last (as in a Python traceback)."""

    filename: str
    module: str
    function: str
    lineno: int
    context_line: NotRequired[str]
    in_app: bool


class ExceptionDict(TypedDict):
    """An exception; ``chain`` lists its causes/contexts, outermost cause first."""

    type: str
    value: str
    module: str
    frames: list[FrameDict]
    chain: NotRequired[list[ExceptionDict]]
    relation: NotRequired[str]  # "cause" | "context" for chain entries
    frames_omitted: NotRequired[int]


class EventDict(TypedDict, total=False):
    """One issue event. Only ``title`` is required by the API (seed body)."""

    event_id: str
    timestamp: str
    title: str
    description: str
    type: str
    priority: str
    reporter_id: str
    service: str
    environment: str
    release: str
    host: str
    pid: int
    thread: str
    level: str
    logger: str
    message: str
    message_template: str
    exception: ExceptionDict
    fingerprint: str
    count: int
    tags: dict[str, str]
    extra: dict[str, Any]
    trace_id: str
    request_id: str
    # Added by the ingest service:
    issue_id: str
    received_at: str
    wire_version: int


def new_event_id() -> str:
    """A fresh event id (32 lowercase hex digits). Retries reuse it."""
    return uuid.uuid4().hex


def format_timestamp(epoch_seconds: float) -> str:
    """RFC 3339 UTC with microseconds, e.g. ``2026-11-26T19:42:00.123456Z``."""
    moment = _dt.datetime.fromtimestamp(epoch_seconds, tz=_dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> _dt.datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime; ``ValueError`` if invalid."""
    try:
        moment = _dt.datetime.fromisoformat(text)  # reads a trailing "Z" itself (3.11)
    except ValueError:
        moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no timezone")
    return moment if moment.tzinfo is _dt.UTC else moment.astimezone(_dt.UTC)


def encode_event(event: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON, readable by kcat or kafka-console-consumer."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_event(data: bytes) -> dict[str, Any]:
    """Decode one event; ``ValueError`` if it is not a UTF-8 JSON object."""
    value = json.loads(data.decode("utf-8"))
    if not isinstance(value, dict):
        raise ValueError(f"event must be a JSON object, got {type(value).__name__}")
    return value
