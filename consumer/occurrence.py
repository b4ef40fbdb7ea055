"""Validate one Kafka message value into an :class:`Occurrence`, or reject it as poison.

Everything a raw record can hold is checked here, before it is counted: the wire size
limit, required fields and their types, the event's ``count`` (``wire.MAX_COUNT``), the
service and fingerprint (``wire.IDENTIFIER``), the issue id (a Firestore document id,
``issue_store.ids``), and the occurrence time, which is kept within a window around the
time the event entered Kafka (:class:`ClockWindow`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import time
from typing import Any

from afissue_logging import wire
from afissue_logging.wire import parse_timestamp
from consumer.errors import PoisonMessage
from issue_store.ids import issue_id_problem

__all__ = ["MAX_EVENT_BYTES", "ClockWindow", "Occurrence", "parse_occurrence"]

#: The wire's one size limit (client, ingest and consumer).
MAX_EVENT_BYTES = wire.MAX_EVENT_BYTES
#: Service names, fingerprints and issue ids already found valid, each memo bounded
#: (cleared when full): a topic carries few of them, each in many records, and this
#: runs for every record.
_VALID_NAMES_MAX = 10_000
_valid_identifiers: set[str] = set()
_valid_issue_ids: set[str] = set()
_REQUIRED_STRINGS = ("event_id", "issue_id", "service", "fingerprint", "timestamp", "title")


@dataclasses.dataclass(frozen=True, slots=True)
class ClockWindow:
    """How far an occurrence time may stray from the time its event entered Kafka.

    A time outside it is replaced by that receive time (the client's value is kept in
    the event as ``client_timestamp``), so one client with a wrong clock can neither
    pin ``first_seen`` to the year 1 nor freeze ``last_seen`` in the year 9999.
    """

    max_age: float = 30 * 24 * 3600.0
    max_ahead: float = 60.0


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
    problem = issue_id_problem(issue_id)
    if problem is not None:
        raise PoisonMessage(
            "invalid_field", f"issue_id {issue_id[:80]!r} is not a valid document id: {problem}"
        )


def _within(
    event: dict[str, Any], moment: _dt.datetime, entered_ms: int | None, window: ClockWindow
) -> _dt.datetime:
    """*moment*, or when it strays outside *window*, the time the event entered Kafka
    (its record timestamp, never later than now). Compared as POSIX seconds: this runs
    for every record, and a datetime subtraction costs three times as much."""
    now = time.time()
    received = entered_ms / 1000 if entered_ms is not None and entered_ms > 0 else now
    received = min(received, now)
    offset = moment.timestamp() - received
    if -window.max_age <= offset <= window.max_ahead:
        return moment
    event["client_timestamp"] = event["timestamp"]
    return _dt.datetime.fromtimestamp(received, _dt.UTC)


def _remember(valid: set[str], name: str) -> None:
    if len(valid) >= _VALID_NAMES_MAX:
        valid.clear()
    valid.add(name)


def parse_occurrence(
    value: bytes | None, entered_ms: int | None = None, window: ClockWindow | None = None
) -> Occurrence:
    """Decode and validate a message value; ``PoisonMessage`` names what is wrong.

    *entered_ms* is the record's Kafka timestamp (ms since the epoch); with a *window*,
    the occurrence time is kept within it around that time (around now when unknown).
    """
    if value is None:
        raise PoisonMessage("undecodable", "message has no value")
    if len(value) > MAX_EVENT_BYTES:
        raise PoisonMessage("too_large", f"event is {len(value)} bytes, limit {MAX_EVENT_BYTES}")
    try:
        # Strict UTF-8 first: json.loads(bytes) decodes with 'surrogatepass' and would
        # let encoded lone surrogates through, which Firestore refuses at flush time.
        event = json.loads(value.decode())
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
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
    for name in ("service", "fingerprint"):
        if event[name] not in _valid_identifiers:
            if not wire.is_identifier(event[name]):
                raise PoisonMessage(
                    "invalid_field", f"field {name!r} {event[name][:80]!r} is not {wire.IDENTIFIER}"
                )
            _remember(_valid_identifiers, event[name])
    if event["issue_id"] not in _valid_issue_ids:
        _check_issue_id(event["issue_id"])
        _remember(_valid_issue_ids, event["issue_id"])
    try:
        timestamp = parse_timestamp(event["timestamp"])
    except ValueError as exc:
        raise PoisonMessage("invalid_field", f"field 'timestamp': {exc}") from None
    count = event.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= wire.MAX_COUNT:
        raise PoisonMessage(
            "invalid_field",
            f"field 'count' must be an integer from 1 to {wire.MAX_COUNT}, got {str(count)[:40]}",
        )
    return Occurrence(
        event_id=event["event_id"],
        issue_id=event["issue_id"],
        timestamp=timestamp if window is None else _within(event, timestamp, entered_ms, window),
        count=count,
        event=event,
    )
