"""to_wire(): the wire event's bytes are exactly the validated event plus the server's
fields, whatever the event holds."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afissue_logging import wire
from afissue_logging.fingerprint import GROUPING_VERSION, compute_fingerprint, issue_id_for
from ingest_service import events as events_module
from ingest_service.errors import Forbidden
from ingest_service.events import DEFAULT_SERVICE, receive_time, to_wire
from ingest_service.models import IssueEvent

RECEIVED = "2026-11-26T19:42:00.123456Z"


def _reference(event: IssueEvent, token_service: str | None) -> dict[str, Any]:
    """The wire event built the plain way: the event as JSON, then the server's fields."""
    body: dict[str, Any] = event.model_dump(mode="json", exclude_none=True)
    body["service"] = token_service or event.service or DEFAULT_SERVICE
    body.setdefault("timestamp", RECEIVED)
    if "fingerprint" not in body:
        body["fingerprint"] = compute_fingerprint(body)
        body["grouping_version"] = GROUPING_VERSION
    body["issue_id"] = issue_id_for(body["service"], body["fingerprint"])
    body["received_at"] = RECEIVED
    body["wire_version"] = wire.WIRE_VERSION
    return body


text = st.text(max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
events = st.fixed_dictionaries(
    {"title": st.text(min_size=1, max_size=40)},
    optional={
        "event_id": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,20}", fullmatch=True),
        "timestamp": st.just("2026-01-02T03:04:05.000006Z"),
        "message": text,
        "level": st.sampled_from(["debug", "info", "warning", "error", "critical"]),
        "service": st.sampled_from(["checkout", "billing"]),
        "fingerprint": st.from_regex(r"[a-f0-9]{8,32}", fullmatch=True),
        "count": st.integers(1, 1000),
        "tags": st.dictionaries(text, text, max_size=3),
        "extra": st.dictionaries(text, json_values, max_size=3),
        "grouping_version": st.integers(1, 3),
        "exception": st.recursive(
            st.fixed_dictionaries(
                {"type": st.text(min_size=1, max_size=20), "value": text},
                optional={
                    "frames": st.lists(
                        st.fixed_dictionaries(
                            {"filename": text, "lineno": st.integers(0, 10**6),
                             "context_line": text}
                        ),
                        max_size=3,
                    ),
                    "children_omitted": st.integers(0, 100),
                },
            ),
            lambda inner: st.fixed_dictionaries(
                {"type": st.just("ExceptionGroup"), "value": text,
                 "children": st.lists(inner, min_size=1, max_size=3)},
            ),
            max_leaves=6,
        ),
    },
)


class TestToWire:
    """The event as published to Kafka."""

    @settings(max_examples=200, deadline=None)
    @given(events)
    def test_bytes_decode_to_the_event_plus_the_server_fields(self, raw: dict[str, Any]) -> None:
        """Any valid event: the published JSON equals the event dumped and completed by
        hand, the summary agrees with it, and non-ASCII text stays UTF-8."""
        event = IssueEvent.model_validate(raw)

        summary, value = to_wire(event, None, RECEIVED)

        published = json.loads(value.decode("utf-8"))
        expected = _reference(event, None)
        if "event_id" not in raw:
            assert len(published.pop("event_id")) == 32
        assert published == expected
        assert summary["issue_id"] == expected["issue_id"]
        assert summary["service"] == expected["service"]
        assert summary["event_id"] == raw.get("event_id", summary["event_id"])
        assert summary["count"] == event.count
        assert b"\\u" not in value or "\\u" in json.dumps(raw, ensure_ascii=False)

    def test_token_service_replaces_an_absent_one(self) -> None:
        """With a token, the token's service is written, once."""
        event = IssueEvent.model_validate({"title": "boom", "fingerprint": "abc123"})

        summary, value = to_wire(event, "checkout", RECEIVED)

        assert value.count(b'"service"') == 1
        assert json.loads(value)["service"] == "checkout" == summary["service"]
        assert summary["issue_id"] == issue_id_for("checkout", "abc123")

    def test_service_differing_from_the_token_is_forbidden(self) -> None:
        """A body naming another service than its token's is refused (403)."""
        event = IssueEvent.model_validate({"title": "boom", "service": "billing"})

        with pytest.raises(Forbidden, match="billing"):
            to_wire(event, "checkout", RECEIVED)

    def test_server_computes_a_missing_fingerprint(self) -> None:
        """Without a client fingerprint the server's matches the client library's."""
        event = IssueEvent.model_validate(
            {"title": "boom", "exception": {"type": "ValueError", "value": "x"}}
        )

        _, value = to_wire(event, "checkout", RECEIVED)

        published = json.loads(value)
        assert published["fingerprint"] == _reference(event, "checkout")["fingerprint"]
        assert published["grouping_version"] == GROUPING_VERSION

    def test_a_computed_fingerprint_names_the_servers_grouping_version(self) -> None:
        """A body naming another grouping version but no fingerprint is published with
        the version of the rules the server used, once."""
        event = IssueEvent.model_validate({"title": "boom", "grouping_version": 1})

        _, value = to_wire(event, "checkout", RECEIVED)

        assert value.count(b'"grouping_version"') == 1
        assert json.loads(value)["grouping_version"] == GROUPING_VERSION

    def test_a_group_and_its_children_are_published_and_fingerprinted(self) -> None:
        """An exception group's children reach Kafka as sent and split the fingerprint
        like the client's: other children, another issue; reordered ones, the same."""
        def group(*types: str) -> IssueEvent:
            children = [{"type": t, "value": "", "frames": [
                {"module": "app.jobs", "function": "fetch", "in_app": True,
                 "context_line": "raise error"}]} for t in types]
            return IssueEvent.model_validate({"title": "boom", "exception": {
                "type": "ExceptionGroup", "value": "unhandled errors in a TaskGroup",
                "children": children, "children_omitted": 2}})

        published = [json.loads(to_wire(group(*types), "checkout", RECEIVED)[1])
                     for types in (("ValueError", "KeyError"), ("KeyError", "ValueError"),
                                   ("KeyError",))]

        assert [c["type"] for c in published[0]["exception"]["children"]] == [
            "ValueError", "KeyError"]
        assert published[0]["exception"]["children_omitted"] == 2
        assert published[0]["fingerprint"] == published[1]["fingerprint"]
        assert published[0]["fingerprint"] != published[2]["fingerprint"]


class TestServerFields:
    """The pieces to_wire() and the API format by hand, against the library's output."""

    @settings(max_examples=300, deadline=None)
    @given(st.dictionaries(st.text(max_size=12), st.text(max_size=30) | st.integers(0, 99),
                           min_size=1, max_size=7))
    def test_tail_is_what_json_dumps_writes(self, added: dict[str, Any]) -> None:
        """Quotes, backslashes, control and non-ASCII characters: byte for byte json.dumps."""
        expected = json.dumps(added, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        assert events_module._tail(added) == expected

    @pytest.mark.parametrize(
        "ns",
        [0, 1_795_000_000_000_000_000, 1_795_000_000_999_999_999, 1_795_000_001_000_000_001],
    )
    def test_receive_time_is_format_timestamp_of_now(
        self, ns: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Same text as wire.format_timestamp for the same microsecond, across second
        boundaries (the cached date and time of day follow the clock)."""
        monkeypatch.setattr(time, "time_ns", lambda: ns)
        seconds, rest = divmod(ns, 1_000_000_000)
        assert receive_time() == wire.format_timestamp(seconds + (rest // 1000) / 1e6)
