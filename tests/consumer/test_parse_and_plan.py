"""Fuzz of the consumer's parse-and-plan path: whatever a raw record on the topic holds,
it is either refused as poison with a reason, or becomes writes that Firestore takes
(checked against Firestore's documented rules, ``tests/firestore_rules.py``)."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from afissue_logging import wire
from consumer import firestore_writes
from consumer.coalesce import IssueDelta
from consumer.document import Increment, plan_issue_write
from consumer.errors import PoisonMessage
from consumer.occurrence import ClockWindow, Occurrence, parse_occurrence
from tests.consumer.helpers import BASE_TIME, make_event
from tests.firestore_rules import violations

NOW = _dt.datetime.now(_dt.UTC)
PATH = "projects/p/databases/(default)/documents/issues/x"

_keys = st.one_of(
    st.text(max_size=8), st.sampled_from(["", "__x__", "__name__", "a.b", "`", "~"]),
    st.text(min_size=300, max_size=400),
)
_scalars = st.one_of(
    st.none(), st.booleans(), st.floats(allow_nan=True), st.text(max_size=30),
    st.integers(), st.integers(min_value=2**63 - 10, max_value=2**70),
    st.integers(min_value=-(2**70), max_value=-(2**63) + 10),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=40,
)
_fields = st.sampled_from([
    "event_id", "issue_id", "service", "fingerprint", "timestamp", "title", "count", "level",
    "type", "priority", "environment", "release", "message", "exception", "extra", "tags",
    "received_at", "logger", "description", "pid", "context", "breadcrumbs",
])
_paths_in_exception = st.sampled_from([
    ("exception",), ("exception", "frames"), ("exception", "type"), ("exception", "chain"),
    ("exception", "frames", 0), ("exception", "frames", 1, "module"),
    ("exception", "frames", 1, "in_app"), ("exception", "value"),
])
_timestamps = st.one_of(
    st.sampled_from([
        "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z", "2026-13-01T00:00:00Z", "", "now", "1970-01-01T00:00:00Z",
    ]),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
)
_counts = st.one_of(
    st.integers(), st.sampled_from([wire.MAX_COUNT, wire.MAX_COUNT + 1, 2**63, 2**64, -1, 0]),
    st.booleans(), st.floats(), st.text(max_size=3),
)


def _put(event: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    target: Any = event
    for step in path[:-1]:
        try:
            target = target[step]
        except (KeyError, IndexError, TypeError):
            return
    with contextlib.suppress(IndexError, TypeError):
        target[path[-1]] = value


@st.composite
def raw_records(draw: st.DrawFn) -> bytes:
    """A valid event as ingest writes it, then damaged the ways a raw producer could."""
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "json", "bytes", "deep"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "json":
        return json.dumps(draw(_json)).encode()
    if kind == "deep":
        depth = draw(st.integers(min_value=10, max_value=200_000))
        return b'{"extra": ' + b"[" * depth + b"]" * depth + b"}"
    event = make_event("issue-" + draw(st.text("ab", min_size=1, max_size=2)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        choice = draw(st.integers(min_value=0, max_value=5))
        if choice == 0:
            _put(event, (draw(_fields),), draw(_json))
        elif choice == 1:
            _put(event, draw(_paths_in_exception), draw(_json))
        elif choice == 2:
            event["timestamp"] = draw(_timestamps)
        elif choice == 3:
            event["count"] = draw(_counts)
        elif choice == 4:
            event["extra"] = {"matrix": draw(st.lists(st.lists(st.floats(), max_size=3),
                                                      max_size=3)), **draw(st.dictionaries(_keys, _json, max_size=3))}
        else:
            event["message"] = "x" * draw(st.sampled_from([10, 400_000, 600_000]))
    return json.dumps(event, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


def _stored(existing: dict[str, Any] | None, fields: dict[str, Any]) -> dict[str, Any]:
    document = dict(existing or {})
    for name, value in fields.items():
        document[name] = (document.get(name, 0) + value.value) if isinstance(value, Increment) else value
    return document


class TestParseAndPlan:
    """parse_occurrence() → coalesce → plan_issue_write() → Firestore writes."""

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(records=st.lists(raw_records(), min_size=1, max_size=4),
           entered=st.one_of(st.none(), st.integers(min_value=-1, max_value=2**62)))
    def test_any_record_is_poison_or_a_write_firestore_takes(
        self, records: list[bytes], entered: int | None
    ) -> None:
        """Every raw record is refused as poison with a reason, or planned into writes
        that encode and that break none of Firestore's rules, alone and merged."""
        occurrences: list[Occurrence] = []
        for value in records:
            try:
                occurrences.append(parse_occurrence(value, entered, ClockWindow()))
            except PoisonMessage as poison:
                assert poison.reason in {"undecodable", "missing_field", "invalid_field",
                                         "too_large"}
                assert poison.detail
        deltas: dict[str, IssueDelta] = {}
        for occurrence in occurrences:
            seen = deltas.get(occurrence.issue_id)
            if seen is None:
                deltas[occurrence.issue_id] = IssueDelta.start(occurrence)
            else:
                seen.add(occurrence)
        for delta in deltas.values():
            assert 0 < delta.count <= wire.MAX_COUNT * len(records)
            created = plan_issue_write(None, delta, NOW, 20, 20)
            firestore_writes.create(PATH, created.fields)
            firestore_writes.replace(PATH, created.occurrence)
            assert violations(created.fields) == []
            assert violations(created.occurrence) == []
            existing = _stored(None, created.fields)
            updated = plan_issue_write(existing, delta, NOW, 20, 20)
            firestore_writes.update(PATH, updated.fields, NOW)
            assert violations(_stored(existing, updated.fields)) == []

    @given(timestamp=_timestamps)
    def test_occurrence_times_stay_near_the_receive_time(self, timestamp: str) -> None:
        """An accepted occurrence time is within the clock window of the receive time;
        a time outside it is replaced and the client's kept as ``client_timestamp``."""
        entered = BASE_TIME + 3600
        try:
            occurrence = parse_occurrence(
                wire.encode_event(make_event(timestamp=timestamp)), int(entered * 1000),
                ClockWindow(),
            )
        except PoisonMessage as poison:
            assert poison.reason == "invalid_field"
            return
        offset = occurrence.timestamp.timestamp() - entered
        assert -ClockWindow().max_age <= offset <= ClockWindow().max_ahead
        if "client_timestamp" in occurrence.event:
            assert occurrence.event["client_timestamp"] == timestamp
            assert offset == 0
