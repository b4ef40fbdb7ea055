"""The Firestore layout of an issue: flat, console-readable fields.

``{collection}/{issue_id}``::

    issue_id, service, fingerprint, title, culprit, level, type, priority,
    status ("open" | "resolved" | "ignored"), count,
    first_seen, last_seen (timestamps), environments, releases (bounded lists),
    latest {event_id, timestamp, received_at, message, message_template, description,
            level, logger, exception {type, value, module, chain}, frames, context {...}},
    created_at, updated_at, regressed_at, status_history [{status, at, by, reason}],
    occurrence_seq (ring position of the next ``occurrences`` document)

``{collection}/{issue_id}/occurrences/{00..N-1}``: a ring of the most recent flush
windows' latest occurrence, each with ``coalesced_count`` (occurrences in that window).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from collections.abc import Mapping
from typing import Any

from google.cloud.firestore_v1.transforms import Increment

from consumer import lifecycle
from consumer.coalesce import IssueDelta
from consumer.occurrence import Occurrence

__all__ = ["READ_FIELDS", "IssueWrite", "bounded", "culprit", "latest_payload", "plan_issue_write"]

#: The stored fields :func:`plan_issue_write` reads: a flush reads only these (a field
#: mask), not the latest occurrence it is about to replace.
READ_FIELDS = (
    "status", "status_history", "occurrence_seq", "first_seen", "last_seen", "level",
    "environments", "releases",
)

#: Deeper values are stored as JSON text: Firestore nests maps 20 levels at most.
_MAX_DEPTH = 6
_CONTEXT_FIELDS = (
    "environment", "release", "host", "pid", "thread", "logger", "tags", "extra",
    "trace_id", "request_id", "reporter_id",
)


def culprit(event: Mapping[str, Any]) -> str:
    """``"module in function"`` of the innermost in-app frame, else the logger, else the service."""
    exception = event.get("exception")
    if isinstance(exception, dict):
        frames = [f for f in exception.get("frames") or [] if isinstance(f, dict)]
        chosen = next((f for f in reversed(frames) if f.get("in_app")), None)
        if chosen is None and frames:
            chosen = frames[-1]
        if chosen is not None:
            return f"{chosen.get('module') or chosen.get('filename', '?')} in {chosen.get('function', '?')}"
    logger = event.get("logger")
    if isinstance(logger, str) and logger:
        return logger
    return str(event.get("service", ""))


def bounded(value: Any, depth: int = 0) -> Any:
    """JSON values nested deeper than Firestore likes are kept as JSON text."""
    if isinstance(value, dict):
        if depth >= _MAX_DEPTH:
            return json.dumps(value, default=str)[:4096]
        return {str(k): bounded(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        if depth >= _MAX_DEPTH:
            return json.dumps(value, default=str)[:4096]
        return [bounded(v, depth + 1) for v in value]
    return value


def latest_payload(occurrence: Occurrence) -> dict[str, Any]:
    """The occurrence in full, laid out for reading in the console."""
    event = bounded(occurrence.event)
    payload: dict[str, Any] = {
        "event_id": occurrence.event_id,
        "timestamp": occurrence.timestamp,
        "count": occurrence.count,
    }
    for name in (
        "received_at", "message", "message_template", "description", "level", "logger",
    ):
        if name in event:
            payload[name] = event[name]
    exception = event.get("exception")
    if isinstance(exception, dict):
        payload["exception"] = {k: v for k, v in exception.items() if k != "frames"}
        payload["frames"] = exception.get("frames") or []
    payload["context"] = {name: event[name] for name in _CONTEXT_FIELDS if name in event}
    return payload


def _merged(existing: Any, new: list[str], bound: int) -> list[str] | None:
    """*existing* plus unseen *new* values (most recent kept), or ``None`` if unchanged."""
    values = [v for v in existing if isinstance(v, str)] if isinstance(existing, list) else []
    added = [v for v in new if v not in values]
    if not added:
        return None
    return (values + added)[-bound:]


@dataclasses.dataclass(frozen=True)
class IssueWrite:
    """The write one window makes to one issue document."""

    fields: dict[str, Any]
    created: bool
    regressed: bool
    occurrence_slot: str
    occurrence: dict[str, Any]


def plan_issue_write(
    existing: Mapping[str, Any] | None,
    delta: IssueDelta,
    now: _dt.datetime,
    max_list_values: int,
    ring_size: int,
) -> IssueWrite:
    """Fields to create or update so that the document includes *delta*."""
    event = delta.latest.event
    latest = latest_payload(delta.latest)
    occurrence = {**latest, "coalesced_count": delta.count, "coalesced_records": delta.records}
    if existing is None:
        fields: dict[str, Any] = {
            "issue_id": delta.issue_id,
            "service": event["service"],
            "fingerprint": event["fingerprint"],
            "title": event["title"],
            "culprit": culprit(event),
            "level": event.get("level", "error"),
            "type": event.get("type", "bug"),
            "priority": event.get("priority", "medium"),
            "status": lifecycle.OPEN,
            "count": delta.count,
            "first_seen": delta.first_seen,
            "last_seen": delta.last_seen,
            "environments": delta.environments[:max_list_values],
            "releases": delta.releases[:max_list_values],
            "latest": latest,
            "created_at": now,
            "updated_at": now,
            "regressed_at": None,
            "status_history": [lifecycle.status_entry(lifecycle.OPEN, now, "consumer", "first seen")],
            "occurrence_seq": 1,
        }
        return IssueWrite(fields, True, False, "00", occurrence)

    seq = existing.get("occurrence_seq")
    slot = (seq if isinstance(seq, int) else 0) % ring_size
    fields = {"count": Increment(delta.count), "updated_at": now, "occurrence_seq": Increment(1)}
    first_seen = existing.get("first_seen")
    if not isinstance(first_seen, _dt.datetime) or delta.first_seen < first_seen:
        fields["first_seen"] = delta.first_seen
    last_seen = existing.get("last_seen")
    if not isinstance(last_seen, _dt.datetime) or delta.last_seen >= last_seen:
        fields["last_seen"] = delta.last_seen
        fields["latest"] = latest
        fields["title"] = event["title"]
        fields["culprit"] = culprit(event)
        fields["level"] = event.get("level", existing.get("level", "error"))
    for name, new in (("environments", delta.environments), ("releases", delta.releases)):
        merged = _merged(existing.get(name), new, max_list_values)
        if merged is not None:
            fields[name] = merged
    change = lifecycle.on_occurrence(existing, now, max_list_values)
    if change is not None:
        fields.update(change.fields)
    return IssueWrite(fields, False, change is not None, f"{slot:02d}", occurrence)
