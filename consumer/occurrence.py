"""Validate one Kafka message value into an :class:`Occurrence`, or reject it as poison."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from typing import Any

from afissue_logging.wire import parse_timestamp
from consumer.errors import PoisonMessage

__all__ = ["MAX_EVENT_BYTES", "Occurrence", "parse_occurrence"]

#: Larger events cannot be stored in a Firestore document (1 MiB) next to the rest.
MAX_EVENT_BYTES = 512 * 1024
_REQUIRED_STRINGS = ("event_id", "issue_id", "service", "fingerprint", "timestamp", "title")


@dataclasses.dataclass(slots=True)
class Occurrence:
    """One decoded event: ``count`` identical occurrences at ``timestamp``.

    Never changed once made; not ``frozen``, whose ``__init__`` costs three times as
    much, once per event.
    """

    event_id: str
    issue_id: str
    timestamp: _dt.datetime
    count: int
    event: dict[str, Any]


def _check_issue_id(issue_id: str) -> None:
    if (
        "/" in issue_id
        or issue_id in (".", "..")
        or (len(issue_id) >= 4 and issue_id.startswith("__") and issue_id.endswith("__"))
        or (len(issue_id) > 375 and len(issue_id.encode()) > 1500)  # 4 bytes a char at most
    ):
        raise PoisonMessage("invalid_field", f"issue_id {issue_id[:80]!r} is not a valid document id")


def parse_occurrence(value: bytes | None) -> Occurrence:
    """Decode and validate a message value; ``PoisonMessage`` names what is wrong."""
    if value is None:
        raise PoisonMessage("undecodable", "message has no value")
    if len(value) > MAX_EVENT_BYTES:
        raise PoisonMessage("too_large", f"event is {len(value)} bytes, limit {MAX_EVENT_BYTES}")
    try:
        # Strict UTF-8 first: json.loads(bytes) decodes with 'surrogatepass' and would
        # let encoded lone surrogates through, which Firestore refuses at flush time.
        event = json.loads(value.decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise PoisonMessage("undecodable", f"not UTF-8 JSON: {exc}") from None
    if not isinstance(event, dict):
        raise PoisonMessage("undecodable", f"event must be a JSON object, got {type(event).__name__}")
    for name in _REQUIRED_STRINGS:
        field = event.get(name)
        if field is None:
            raise PoisonMessage("missing_field", f"field {name!r} is missing")
        if not isinstance(field, str) or not field:
            raise PoisonMessage("invalid_field", f"field {name!r} must be a non-empty string")
    if "\n" in event["event_id"]:
        raise PoisonMessage("invalid_field", "field 'event_id' must not contain a newline")
    _check_issue_id(event["issue_id"])
    try:
        timestamp = parse_timestamp(event["timestamp"])
    except ValueError as exc:
        raise PoisonMessage("invalid_field", f"field 'timestamp': {exc}") from None
    count = event.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise PoisonMessage("invalid_field", f"field 'count' must be an integer >= 1, got {count!r}")
    return Occurrence(
        event_id=event["event_id"],
        issue_id=event["issue_id"],
        timestamp=timestamp,
        count=count,
        event=event,
    )
