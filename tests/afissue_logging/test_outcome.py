"""The answer-to-outcome table: every status, any header text, any 2xx body."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from afissue_logging._outcome import (
    Drop,
    Retry,
    Sent,
    Split,
    Spool,
    classify,
    halves,
    rejected_occurrences,
)
from afissue_logging._retry import parse_retry_after
from afissue_logging.wire import EventDict

_OUTCOMES = (Sent, Retry, Split, Spool, Drop)

_events = st.lists(
    st.builds(
        lambda i, count: EventDict(event_id=f"{i:032x}", title=f"e{i}", count=count),
        st.integers(0, 2**64),
        st.integers(1, 1_000_000_000),
    ),
    min_size=1,
    max_size=20,
)
_statuses = st.integers(min_value=100, max_value=999)
_header_text = st.text() | st.sampled_from(
    ["", "0", "-1", "nan", "inf", "1e999", "Sun, 06 Nov 1994 08:49:37 GMT", "Fri, 31 Dec 9999 23:59:59 +2359"]
)


def _answer(events: list[EventDict], statuses: list[str]) -> bytes:
    results = [
        {"id": e["event_id"], "issue_id": "i", "status": "accepted"}
        if status == "accepted"
        else {"index": index, "status": "rejected", "error": {"field": None, "message": "x"}}
        for index, (e, status) in enumerate(zip(events, statuses, strict=False))
    ]
    return json.dumps({"results": results}).encode()


def _json_values() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=10)
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=12,
    )


class TestClassify:
    @given(status=_statuses, retry_after=_header_text, body=st.binary(max_size=200), events=_events)
    def test_every_status_maps_to_exactly_one_outcome(
        self, status: int, retry_after: str, body: bytes, events: list[EventDict]
    ) -> None:
        """Any status with any Retry-After text and body yields one outcome, never raises."""
        outcome = classify(status, {"retry-after": retry_after}, body, events)
        assert sum(isinstance(outcome, kind) for kind in _OUTCOMES) == 1

    @given(
        status=st.integers(200, 299),
        body=st.binary(max_size=200) | _json_values().map(lambda v: json.dumps(v).encode()),
        events=_events,
    )
    @example(status=200, body=b"<!doctype html><p>Welcome to nginx!</p>", events=[EventDict(title="t")])
    @example(status=200, body=b'{"results": [{"status": []}]}', events=[EventDict(title="t")])
    @example(status=204, body=b"", events=[EventDict(title="t")])
    def test_a_2xx_that_is_not_the_api_answer_is_never_sent(
        self, status: int, body: bytes, events: list[EventDict]
    ) -> None:
        """A 2xx whose body is not one accepted/rejected result per event is spooled."""
        outcome = classify(status, {}, body, events)
        if isinstance(outcome, Sent):
            payload = json.loads(body)
            results = payload.get("results", [payload])
            assert len(results) == len(events)
            assert all(r["status"] in ("accepted", "rejected") for r in results)
        else:
            assert outcome == Spool("bad_answer")

    @given(events=_events, data=st.data())
    def test_sent_counts_exactly_the_rejected_occurrences(
        self, events: list[EventDict], data: st.DataObject
    ) -> None:
        """The API's answer splits a batch's occurrences into accepted and rejected, once."""
        statuses = data.draw(
            st.lists(
                st.sampled_from(["accepted", "rejected"]),
                min_size=len(events), max_size=len(events),
            )
        )
        outcome = classify(202, {}, _answer(events, statuses), events)
        expected = sum(e["count"] for e, s in zip(events, statuses, strict=True) if s == "rejected")
        assert outcome == Sent(expected)

    @given(events=_events)
    def test_a_413_splits_or_drops_never_both(self, events: list[EventDict]) -> None:
        """413 splits a batch of several events (nothing counted yet) and drops a single
        event as too large; the halves hold every event exactly once."""
        outcome = classify(413, {}, b"", events)
        if len(events) == 1:
            assert outcome == Drop("too_large")
            return
        assert outcome == Split()
        left, right = halves(events)
        assert left and right
        assert left + right == events

    @given(status=st.sampled_from([408, 429, 500, 502, 503, 504, 599]), retry_after=_header_text)
    def test_retryable_statuses_honour_retry_after(self, status: int, retry_after: str) -> None:
        """408/429/5xx retry, not sooner than the parsed Retry-After (when there is one)."""
        outcome = classify(status, {"retry-after": retry_after}, b"", [EventDict(title="t")])
        assert outcome == Retry("status", parse_retry_after(retry_after))

    def test_client_errors_drop_with_a_reason(self) -> None:
        """401/403 drop as auth, 422 and other statuses as rejected."""
        one = [EventDict(title="t")]
        assert classify(401, {}, b"", one) == Drop("auth")
        assert classify(403, {}, b"", one) == Drop("auth")
        assert classify(422, {}, b"", one) == Drop("rejected")
        assert classify(302, {}, b"", one) == Drop("rejected")

    def test_a_single_accepted_event_answer_counts(self) -> None:
        """The one-event answer ``{"id", "issue_id", "status"}`` is the API's answer too."""
        body = b'{"id": "e", "issue_id": "i", "status": "accepted"}'
        assert rejected_occurrences([EventDict(title="t")], body) == 0


class TestRetryAfter:
    @given(text=_header_text)
    def test_parsing_never_raises(self, text: str) -> None:
        """Any header text gives None or a delay between 0 and 300 seconds."""
        seconds = parse_retry_after(text)
        assert seconds is None or 0.0 <= seconds <= 300.0
