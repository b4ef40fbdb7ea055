"""Outbox documents become messages, whatever they hold."""

from __future__ import annotations

import datetime
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from notifier.channels.email import email_message
from notifier.channels.slack import slack_body
from notifier.channels.webhook import webhook_body
from notifier.message import Digest, alert_message, idempotency_id, one_line
from tests.notifier.conftest import outbox_document

_ODD_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=50) | st.builds(
    lambda c, n: c * n, st.sampled_from(["x", "\n", "\x00", "é", "\u2028", "<&>|*"]),
    st.integers(0, 200_000),
)
_VALUES = st.none() | st.booleans() | st.integers() | st.floats() | _ODD_TEXT | st.datetimes()
_ODD_DOCUMENTS = st.fixed_dictionaries(
    {"alert_id": _ODD_TEXT},
    optional={
        "trigger": _VALUES | st.sampled_from(["new", "regression", "count", "velocity"]),
        "n": _VALUES,
        "issue_id": _VALUES,
        "rule_names": st.lists(_VALUES, max_size=3) | _VALUES,
        "created_at": _VALUES,
        "issue": st.dictionaries(
            st.sampled_from(["title", "culprit", "service", "environment", "level", "count",
                             "path", "release", "first_seen"]),
            _VALUES | st.lists(_VALUES, max_size=3),
        ) | _VALUES,
        "detail": st.dictionaries(st.sampled_from(["threshold", "events", "minutes"]), _VALUES)
        | _VALUES,
    },
)


class TestAlertMessage:
    def test_links_to_the_issue_page_under_the_base_url(self) -> None:
        """The message's URL is the base URL plus the document's issue path."""
        message = alert_message(outbox_document(issue="abc"), "ops", "https://afissue.example/")
        assert message.url == "https://afissue.example/issues/abc"
        assert message.idempotency_id == idempotency_id("abc:new:0", "ops") == "abc:new:0/ops"

    def test_headlines_name_the_trigger(self) -> None:
        """Each trigger has its own words: new, regression number, threshold, velocity."""
        def headline(trigger: str, n: int, detail: dict[str, Any]) -> str:
            doc = {**outbox_document(trigger=trigger, n=n), "detail": detail}
            return alert_message(doc, "ops", "http://x").headline

        assert headline("new", 0, {}) == "New issue"
        assert headline("regression", 2, {}) == "Regression #2"
        assert headline("count", 3, {"threshold": 1000}) == "Count crossed 1000"
        assert headline("velocity", 1, {"events": 153, "minutes": 5}) == (
            "Velocity: 153 events in 5 min"
        )

    @given(_ODD_DOCUMENTS)
    def test_odd_documents_render_on_every_channel(self, document: dict[str, Any]) -> None:
        """Any document with an alert_id becomes a webhook, Slack and email message without
        raising; subjects and Slack headers stay one line."""
        message = alert_message(document, "ops", "http://127.0.0.1:6001")
        json.loads(webhook_body(message, 1_700_000_000.0))
        slack = slack_body(message)
        assert "\n" not in slack["blocks"][0]["text"]["text"]
        assert all(len(b["text"]["text"]) <= 3000 for b in slack["blocks"] if "text" in b)
        mail = email_message(message, "afissue@example.com", ["oncall@example.com"])
        assert "\n" not in str(mail["Subject"])
        mail.as_bytes()
        digest = Digest("ops", (message, message))
        json.loads(webhook_body(digest, 1_700_000_000.0))
        email_message(digest, "afissue@example.com", ["oncall@example.com"]).as_bytes()


class TestOneLine:
    @given(st.text(), st.integers(2, 300))
    def test_one_printable_line_within_the_limit(self, text: str, limit: int) -> None:
        """No line breaks or control characters, at most *limit* characters."""
        line = one_line(text, limit)
        assert len(line) <= limit
        assert not any(ch in line for ch in "\r\n\x00\x1b\u2028")


class TestDigest:
    def test_id_is_stable_for_the_same_alerts(self) -> None:
        """A digest of the same alerts, in any order, keeps its idempotency id."""
        now = datetime.datetime.now(datetime.UTC)
        a = alert_message(outbox_document(issue="a", created_at=now), "ops", "http://x")
        b = alert_message(outbox_document(issue="b", created_at=now), "ops", "http://x")
        assert Digest("ops", (a, b)).idempotency_id == Digest("ops", (b, a)).idempotency_id
        assert Digest("ops", (a,)).idempotency_id != Digest("ops", (a, b)).idempotency_id
