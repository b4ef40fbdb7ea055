"""The outbox document: deterministic ids and the documented layout."""

from __future__ import annotations

import datetime as _dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerting.outbox import (
    CHANNEL_PENDING,
    ISSUE_FIELDS,
    STATE_PENDING,
    alert_id,
    idempotency_id,
    new_outbox_document,
)
from issue_store.ids import issue_id_problem

NOW = _dt.datetime(2026, 12, 2, 9, 0, tzinfo=_dt.UTC)


class TestAlertId:
    """alert_id()"""

    def test_documented_shapes(self) -> None:
        """Ids are issue:trigger:n, and issue:velocity:rule:n for velocity."""
        assert alert_id("abc", "new", 0) == "abc:new:0"
        assert alert_id("abc", "regression", 2) == "abc:regression:2"
        assert alert_id("abc", "count", 3) == "abc:count:3"
        assert alert_id("abc", "velocity", 1, "prod") == "abc:velocity:prod:1"

    def test_slug_only_for_velocity(self) -> None:
        """A slug without velocity, or velocity without a slug, is a programming error."""
        with pytest.raises(ValueError, match="slug"):
            alert_id("abc", "velocity", 1)
        with pytest.raises(ValueError, match="slug"):
            alert_id("abc", "new", 0, "prod")

    @given(issue_id=st.text(min_size=1, max_size=1500).filter(lambda i: issue_id_problem(i) is None))
    def test_always_a_valid_document_id(self, issue_id: str) -> None:
        """Any valid issue id gives a valid, deterministic document id, even near the size limit."""
        made = alert_id(issue_id, "regression", 12)
        assert issue_id_problem(made) is None
        assert made == alert_id(issue_id, "regression", 12)
        assert made.endswith(":regression:12")

    def test_long_ids_are_hashed_apart(self) -> None:
        """Two long issue ids sharing a prefix still get different alert ids."""
        first, second = "x" * 1499 + "a", "x" * 1499 + "b"
        assert alert_id(first, "new", 0) != alert_id(second, "new", 0)
        assert alert_id(first, "new", 0).startswith("sha256-")


class TestIdempotencyId:
    """idempotency_id()"""

    def test_alert_and_channel(self) -> None:
        """The message id is the alert id and the channel name."""
        assert idempotency_id("abc:new:0", "ops") == "abc:new:0/ops"


class TestNewOutboxDocument:
    """new_outbox_document()"""

    def test_layout(self) -> None:
        """A new alert is pending on every channel, unleased, with the issue's summary."""
        document = new_outbox_document(
            issue_id="i/1", trigger="count", n=2, rule_names=["a", "b", "a"],
            channels=["ops", "team"], created_at=NOW,
            issue={"title": "boom", "service": "pricing", "count": 150, "extra": 1},
            detail={"threshold": 100},
        )
        assert document["alert_id"] == "i/1:count:2"
        assert (document["trigger"], document["n"], document["state"]) == ("count", 2, STATE_PENDING)
        assert document["rule_names"] == ["a", "b"]
        assert document["created_at"] == NOW and document["lease"] is None
        assert document["detail"] == {"threshold": 100}
        assert set(document["issue"]) == {*ISSUE_FIELDS, "path"}
        assert document["issue"]["title"] == "boom" and document["issue"]["release"] is None
        assert document["issue"]["path"] == "/issues/i%2F1"
        assert document["channels"]["ops"] == {
            "state": CHANNEL_PENDING, "attempts": 0, "next_attempt_at": NOW,
            "last_error": "", "delivered_at": None,
        }
        assert list(document["channels"]) == ["ops", "team"]

    def test_velocity_document_id_names_the_rule(self) -> None:
        """A velocity alert's id carries the rule slug."""
        document = new_outbox_document(
            issue_id="i", trigger="velocity", n=1, rule_names=["prod"], channels=["ops"],
            created_at=NOW, issue={}, detail={"events": 150, "minutes": 5}, rule_slug="prod",
        )
        assert document["alert_id"] == "i:velocity:prod:1"
