"""Validation of message values: good events pass, poison is named."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afissue_logging.wire import encode_event, is_identifier
from consumer import occurrence
from consumer.errors import PoisonMessage
from consumer.occurrence import MAX_EVENT_BYTES, parse_occurrence
from issue_store.ids import issue_id_problem
from tests.consumer.helpers import BASE_TIME, make_event


def _reason(value: bytes | None) -> str:
    with pytest.raises(PoisonMessage) as caught:
        parse_occurrence(value)
    return caught.value.reason


class TestParseOccurrence:
    """parse_occurrence()"""

    def test_valid_event(self) -> None:
        """A valid event yields its id, issue, time and count."""
        event = make_event("issue-x", count=3)
        occurrence = parse_occurrence(encode_event(event))
        assert (occurrence.event_id, occurrence.issue_id, occurrence.count) == (
            event["event_id"], "issue-x", 3)
        assert occurrence.timestamp.timestamp() == pytest.approx(BASE_TIME)

    def test_count_defaults_to_one(self) -> None:
        """An event without ``count`` is one occurrence."""
        event = make_event()
        del event["count"]
        assert parse_occurrence(encode_event(event)).count == 1

    @pytest.mark.parametrize(
        "value", [b"\xff\xfe", b'{"title": "\xed\xa0\x80"}', b"not json", b"[1,2]", None]
    )
    def test_undecodable(self, value: bytes | None) -> None:
        """Non-UTF-8 (an encoded lone surrogate too), non-JSON, non-object and empty values
        are ``undecodable``."""
        assert _reason(value) == "undecodable"

    @pytest.mark.parametrize("field", ["event_id", "issue_id", "service", "fingerprint",
                                       "timestamp", "title"])
    def test_missing_required_field(self, field: str) -> None:
        """Each required field, when missing, is named as ``missing_field``."""
        event = make_event()
        del event[field]
        with pytest.raises(PoisonMessage, match=field) as caught:
            parse_occurrence(encode_event(event))
        assert caught.value.reason == "missing_field"

    @pytest.mark.parametrize(
        ("field", "value"),
        [("count", 0), ("count", -2), ("count", "3"), ("count", True), ("timestamp", "yesterday"),
         ("timestamp", "2026-01-01T00:00:00"), ("issue_id", "a/b"), ("issue_id", "__x__"),
         ("event_id", 7), ("event_id", "a\nb"), ("title", "")],
    )
    def test_invalid_field(self, field: str, value: Any) -> None:
        """Wrong types, bad times and ids that cannot name a document are ``invalid_field``."""
        event = make_event()
        event[field] = value
        assert _reason(encode_event(event)) == "invalid_field"

    def test_too_large(self) -> None:
        """An event over the size limit is ``too_large``."""
        event = make_event(message="x" * MAX_EVENT_BYTES)
        assert _reason(encode_event(event)) == "too_large"


class TestValidNameMemo:
    """The memo of valid service names, fingerprints and issue ids."""

    @settings(max_examples=200, deadline=None)
    @given(names=st.lists(st.text(min_size=0, max_size=12), min_size=1, max_size=30))
    def test_memo_never_changes_a_verdict(self, names: list[str]) -> None:
        """Each name is accepted or refused as the wire rules say, however often it and
        others were seen before, and the memo stays within its bound."""
        for name in names + names:
            for field in ("service", "fingerprint", "issue_id"):
                event = make_event()
                event[field] = name
                valid = (
                    issue_id_problem(name) is None if field == "issue_id" else is_identifier(name)
                )
                try:
                    parse_occurrence(encode_event(event))
                except PoisonMessage as poison:
                    assert not valid, (field, name, poison)
                else:
                    assert valid, (field, name)
        assert len(occurrence._valid_identifiers) <= occurrence._VALID_NAMES_MAX
        assert len(occurrence._valid_issue_ids) <= occurrence._VALID_NAMES_MAX

    def test_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A full memo is emptied rather than grown."""
        monkeypatch.setattr(occurrence, "_VALID_NAMES_MAX", 3)
        for n in range(10):
            parse_occurrence(encode_event(make_event(service=f"svc-{n}")))
            assert len(occurrence._valid_identifiers) <= 3
