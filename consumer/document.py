"""The Firestore layout of an issue: flat, console-readable fields.

``{collection}/{issue_id}``::

    issue_id, service, fingerprint, title, culprit, level, type, priority,
    status ("open" | "resolved" | "ignored"), count,
    first_seen, last_seen (timestamps), environments, releases (bounded lists),
    latest {event_id, timestamp, received_at, message, message_template, description,
            level, logger, exception {type, value, module, chain}, frames, context {...},
            request {method, path, route, query_string, status, request_id, user_id},
            breadcrumbs [{timestamp, level, logger, message, thread, data}]},
    created_at, updated_at, regressed_at, regressions (times reopened),
    status_history [{status, at, by, reason}],
    occurrence_seq (ring position of the next ``occurrences`` document),
    search_tokens (bounded words and facets searched, ``consumer.search_fields``),
    alert_velocity {rule slug: {...}} (only with velocity alert rules, ``consumer.alert_triggers``),
    trend_hourly {YYYYMMDDHH: n}, trend_daily {YYYYMMDD: n} (``consumer.trends``),
    first_release, last_release, release_seen [{release, first_seen}] (bounded)

``{collection}/{issue_id}/occurrences/{00..N-1}``: a ring of the most recent flush
windows' latest occurrence, each with ``coalesced_count`` (occurrences in that window)
and ``expire_at``; ``first`` and ``regression-NNN`` are kept (``consumer.retention``).

Planning works on plain values (``None``, numbers, strings, datetimes, lists, dicts) and
:class:`Increment`; ``consumer.firestore_writes`` turns them into Firestore writes.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Mapping
from typing import Any

from afissue_logging import wire
from consumer import lifecycle, retention, trends
from consumer.coalesce import MAX_LIST_VALUE_CHARS, IssueDelta
from consumer.occurrence import Occurrence
from consumer.search_fields import planned_tokens

__all__ = [
    "BREADCRUMBS_MAX_BYTES",
    "BREADCRUMBS_MAX_ENTRIES",
    "LATEST_MAX_BYTES",
    "LATEST_MAX_ENTRIES",
    "LOCALS_MAX_BYTES",
    "LOCALS_MAX_ENTRIES",
    "MAX_TITLE_CHARS",
    "READ_FIELDS",
    "Increment",
    "IssueWrite",
    "culprit",
    "latest_payload",
    "plan_issue_write",
]

#: The stored fields :func:`plan_issue_write` reads: a flush reads only these (a field
#: mask), not the latest occurrence it is about to replace.
READ_FIELDS = (
    "status", "status_history", "occurrence_seq", "first_seen", "last_seen", "level",
    "environments", "releases",
    # what alert decisions build on (consumer.alert_triggers)
    "count", "regressions", "alert_velocity",
    # trend keys to delete once old, releases' first times (consumer.trends)
    trends.HOURLY_FIELD, trends.DAILY_FIELD, "first_release", "release_seen",
    # search (consumer.search_fields)
    "search_tokens",
)

#: Budgets of the latest occurrence, stored twice (issue and ring document): Firestore
#: storage bytes and values, far inside a document's 1 MiB and 40,000 index entries.
LATEST_MAX_BYTES = 384 * 1024
LATEST_MAX_ENTRIES = 4000
#: Budgets of the latest occurrence's breadcrumbs, on top of the above: a trail of
#: records never takes the stack trace's room, and the newest records are kept first.
BREADCRUMBS_MAX_BYTES = 96 * 1024
BREADCRUMBS_MAX_ENTRIES = 1500
#: Budgets of the frames' local variables (``vars``), spent after everything else of the
#: latest occurrence: locals are what is dropped first when an occurrence is too big.
LOCALS_MAX_BYTES = 64 * 1024
LOCALS_MAX_ENTRIES = 1000
#: Longest title and culprit stored on the issue (they are listed and indexed).
MAX_TITLE_CHARS = 1024
_CONTEXT_FIELDS = (
    "environment", "release", "host", "pid", "thread", "logger", "tags", "extra",
    "trace_id", "request_id", "reporter_id",
)


@dataclasses.dataclass(frozen=True, slots=True)
class Increment:
    """An update's value that adds *value* to the stored number (to 0 when missing)."""

    value: int


def culprit(event: Mapping[str, Any]) -> str:
    """``"module in function"`` of the innermost in-app frame, else the logger, else the service."""
    exception = event.get("exception")
    if isinstance(exception, dict):
        listed = exception.get("frames")
        frames = [f for f in listed if isinstance(f, dict)] if isinstance(listed, list) else []
        chosen = next((f for f in reversed(frames) if f.get("in_app")), None)
        if chosen is None and frames:
            chosen = frames[-1]
        if chosen is not None:
            return f"{chosen.get('module') or chosen.get('filename', '?')} in {chosen.get('function', '?')}"
    logger = event.get("logger")
    if isinstance(logger, str) and logger:
        return logger
    return str(event.get("service", ""))


def _text(value: Any, default: str, limit: int) -> str:
    """A top-level string field: *value* cut to *limit* characters, else *default*."""
    if not isinstance(value, str) or not value:
        return default
    return value[:limit]


def latest_payload(occurrence: Occurrence) -> dict[str, Any]:
    """The occurrence in full, laid out for reading in the console.

    This is the one point where event values are made Firestore-safe in the consumer
    (``wire.firestore_safe``): a raw record on the topic may hold anything JSON can.
    """
    event = occurrence.event
    payload: dict[str, Any] = {}
    for name in (
        "received_at", "client_timestamp", "message", "message_template", "description",
        "level", "logger",
    ):
        if name in event:
            payload[name] = event[name]
    if isinstance(event.get("request"), dict):  # small: before frames spend the budget
        payload["request"] = event["request"]
    exception = event.get("exception")
    local_vars: dict[str, Any] = {}
    if isinstance(exception, dict):
        payload["exception"] = {k: v for k, v in exception.items() if k != "frames"}
        frames = exception.get("frames")
        payload["frames"] = frames if isinstance(frames, list) else []
        local_vars = _split_vars(payload)
    payload["context"] = {name: event[name] for name in _CONTEXT_FIELDS if name in event}
    safe: dict[str, Any] = wire.firestore_safe(payload, LATEST_MAX_BYTES, LATEST_MAX_ENTRIES)
    breadcrumbs = _breadcrumbs(event.get("breadcrumbs"))
    if breadcrumbs:
        safe["breadcrumbs"] = breadcrumbs
    if local_vars:
        _join_vars(safe, wire.firestore_safe(local_vars, LOCALS_MAX_BYTES, LOCALS_MAX_ENTRIES))
    safe.update(
        event_id=occurrence.event_id[:256], timestamp=occurrence.timestamp,
        count=occurrence.count,
    )
    return safe


def _breadcrumbs(value: Any) -> list[Any]:
    """*value*'s breadcrumbs within their own budget, oldest first; when the budget runs
    out, the oldest give way (one ``"… N more items omitted"`` text stands first)."""
    if not isinstance(value, list) or not value:
        return []
    newest_first = wire.firestore_safe(
        value[::-1], BREADCRUMBS_MAX_BYTES, BREADCRUMBS_MAX_ENTRIES
    )
    return list(reversed(newest_first))


def _vars_frames(payload: Mapping[str, Any]) -> list[tuple[str, list[Any]]]:
    """The frame lists that may carry locals: the top frames, then each chain entry's."""
    found: list[tuple[str, list[Any]]] = []
    frames = payload.get("frames")
    if isinstance(frames, list):
        found.append(("", frames))
    exception = payload.get("exception")
    chain = exception.get("chain") if isinstance(exception, dict) else None
    if isinstance(chain, list):
        for index, entry in enumerate(chain):
            listed = entry.get("frames") if isinstance(entry, dict) else None
            if isinstance(listed, list):
                found.append((f"{index}.", listed))
    return found


def _split_vars(payload: dict[str, Any]) -> dict[str, Any]:
    """Take the frames' ``vars`` out of *payload* (copying what it changes), keyed by
    place (``"7"`` the top exception's frame 7, ``"0.3"`` frame 3 of chain entry 0),
    innermost frames first, so that a cut budget keeps the innermost frames' locals."""
    exception = payload.get("exception")
    if isinstance(exception, dict) and isinstance(exception.get("chain"), list):
        payload["exception"] = exception = dict(exception)
        exception["chain"] = [
            {**entry, "frames": list(entry["frames"])}
            if isinstance(entry, dict) and isinstance(entry.get("frames"), list) else entry
            for entry in exception["chain"]
        ]
    if isinstance(payload.get("frames"), list):
        payload["frames"] = list(payload["frames"])
    taken: dict[str, Any] = {}
    for prefix, frames in _vars_frames(payload):
        for index in range(len(frames) - 1, -1, -1):
            frame = frames[index]
            if isinstance(frame, dict) and "vars" in frame:
                frames[index] = {k: v for k, v in frame.items() if k != "vars"}
                taken[f"{prefix}{index}"] = frame["vars"]
    return taken


def _join_vars(safe: dict[str, Any], local_vars: Mapping[str, Any]) -> None:
    """Put the Firestore-safe *local_vars* back under the frames they were taken from;
    what the locals budget cut is left out (``vars_omitted`` of a frame stays)."""
    places = dict(_vars_frames(safe))
    for key, value in local_vars.items():
        prefix, _, index = key.rpartition(".")
        frames = places.get(prefix + "." if prefix else "")
        if frames is None or not index.isdigit() or not isinstance(value, dict):
            continue
        position = int(index)
        if position < len(frames) and isinstance(frames[position], dict):
            frames[position]["vars"] = value


def _merged(existing: Any, new: list[str], bound: int) -> list[str] | None:
    """*existing* plus unseen *new* values (most recent kept), or ``None`` if unchanged."""
    values = [v for v in existing if isinstance(v, str)] if isinstance(existing, list) else []
    added = [v for v in new if v not in values]
    if not added:
        return None
    return (values + added)[-bound:]


def _release_fields(
    existing: Mapping[str, Any] | None, delta: IssueDelta, latest_moved: bool, bound: int
) -> dict[str, Any]:
    """First- and last-seen release, and each release's first time (most recent kept)."""
    fields: dict[str, Any] = {}
    stored = existing.get("release_seen") if existing is not None else None
    entries = [dict(e) for e in stored if isinstance(e, dict)] if isinstance(stored, list) else []
    known = {e.get("release"): e for e in entries}
    changed = False
    for release in delta.releases:
        moment = delta.release_first.get(release, delta.first_seen)
        entry = known.get(release)
        if entry is None:
            entry = known[release] = {"release": release, "first_seen": moment}
            entries.append(entry)
            changed = True
        elif not isinstance(entry.get("first_seen"), _dt.datetime) or moment < entry["first_seen"]:
            entry["first_seen"] = moment
            changed = True
    if changed:
        fields["release_seen"] = entries[-bound:]
    if delta.release_first and (existing is None or not existing.get("first_release")):
        fields["first_release"] = min(delta.release_first, key=lambda r: delta.release_first[r])
    last = delta.latest.event.get("release")
    if latest_moved and isinstance(last, str) and last:
        fields["last_release"] = last[:MAX_LIST_VALUE_CHARS]
    return fields


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
    *,
    occurrence_ttl: _dt.timedelta | None = None,
) -> IssueWrite:
    """Fields to create or update so that the document includes *delta*; ring occurrences
    expire after *occurrence_ttl* (``consumer.retention``)."""
    event = delta.latest.event
    latest = latest_payload(delta.latest)
    occurrence = {**latest, "coalesced_count": delta.count, "coalesced_records": delta.records}
    if existing is None:
        fields: dict[str, Any] = {
            "issue_id": delta.issue_id,
            "service": event["service"],
            "fingerprint": event["fingerprint"],
            "title": _text(event["title"], "?", MAX_TITLE_CHARS),
            "culprit": _text(culprit(event), "?", MAX_TITLE_CHARS),
            "level": _text(event.get("level"), "error", 64),
            "type": _text(event.get("type"), "bug", 64),
            "priority": _text(event.get("priority"), "medium", 64),
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
            "regressions": 0,
            "status_history": [lifecycle.status_entry(lifecycle.OPEN, now, "consumer", "first seen")],
            "occurrence_seq": 1,
            **trends.plan_trends(None, delta.hourly, now, Increment),
            **_release_fields(None, delta, True, max_list_values),
        }
        fields.update(planned_tokens(None, fields, event, fields["culprit"]))
        return IssueWrite(fields, True, False, retention.FIRST_SLOT, occurrence)

    seq = existing.get("occurrence_seq")
    slot = (seq if isinstance(seq, int) else 0) % ring_size
    fields = {"count": Increment(delta.count), "updated_at": now, "occurrence_seq": Increment(1)}
    first_seen = existing.get("first_seen")
    if not isinstance(first_seen, _dt.datetime) or delta.first_seen < first_seen:
        fields["first_seen"] = delta.first_seen
    last_seen = existing.get("last_seen")
    latest_moved = not isinstance(last_seen, _dt.datetime) or delta.last_seen >= last_seen
    if latest_moved:
        # Occurrence times are kept near the receive time (occurrence.ClockWindow), so a
        # client clock far ahead cannot hold the latest occurrence still.
        fields["last_seen"] = delta.last_seen
        fields["latest"] = latest
        fields["title"] = _text(event["title"], "?", MAX_TITLE_CHARS)
        fields["culprit"] = _text(culprit(event), "?", MAX_TITLE_CHARS)
        fields["level"] = _text(event.get("level"), _text(existing.get("level"), "error", 64), 64)
    for name, new in (("environments", delta.environments), ("releases", delta.releases)):
        merged = _merged(existing.get(name), new, max_list_values)
        if merged is not None:
            fields[name] = merged
    fields.update(trends.plan_trends(existing, delta.hourly, now, Increment))
    fields.update(_release_fields(existing, delta, latest_moved, max_list_values))
    change = lifecycle.on_occurrence(existing, now, max_list_values)
    if change is not None:
        fields.update(change.fields)
    fields.update(planned_tokens(existing, fields, event, culprit(event)))
    if change is not None:
        return IssueWrite(fields, False, True, retention.regression_slot(existing), occurrence)
    occurrence.update(retention.expiry(now, occurrence_ttl))
    return IssueWrite(fields, False, False, f"{slot:02d}", occurrence)
