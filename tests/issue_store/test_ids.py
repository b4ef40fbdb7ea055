"""The issue-id rule: exactly Firestore's document-id rule, for consumer, UI and CLI alike."""

from __future__ import annotations

import json

import pytest

from consumer.errors import PoisonMessage
from consumer.occurrence import parse_occurrence
from issue_store.ids import MAX_ISSUE_ID_BYTES, issue_id_problem, valid_issue_id
from tests.consumer.helpers import make_event

_UNNAMEABLE = [
    "", ".", "..", "a/b", "/", "__x__", "____", "x" * 1501, "é" * 751, "😀" * 376, "a\ud800b",
]
_NAMEABLE = [
    "0123456789abcdef0123456789abcdef", "x" * 201, "x" * 1500, "é" * 750, "😀" * 375,
    "__", "___", "__x", "x__", "...", "a.b", "a b", "a\\b",
]


class TestRule:
    @pytest.mark.parametrize("issue_id", _UNNAMEABLE)
    def test_unnameable(self, issue_id: str) -> None:
        """Ids Firestore cannot hold are refused, with the reason."""
        assert not valid_issue_id(issue_id)
        assert issue_id_problem(issue_id)

    @pytest.mark.parametrize("issue_id", _NAMEABLE)
    def test_nameable(self, issue_id: str) -> None:
        """Every id Firestore can hold is valid, up to 1,500 bytes of UTF-8 (not characters)."""
        assert valid_issue_id(issue_id)
        assert issue_id_problem(issue_id) is None

    def test_limit_is_firestores(self) -> None:
        """The limit is Firestore's document-id limit."""
        assert MAX_ISSUE_ID_BYTES == 1500


class TestConsumerUsesTheRule:
    @pytest.mark.parametrize("issue_id", [i for i in _UNNAMEABLE if i and "\ud800" not in i])
    def test_consumer_dead_letters_what_the_rule_refuses(self, issue_id: str) -> None:
        """The consumer refuses an event whose issue id no document can have (the empty
        id and lone surrogates are refused earlier, as a missing field and as undecodable)."""
        with pytest.raises(PoisonMessage, match="not a valid document id"):
            parse_occurrence(_encoded(make_event(issue_id, fingerprint="fp")))

    @pytest.mark.parametrize("issue_id", _NAMEABLE)
    def test_consumer_accepts_what_the_rule_accepts(self, issue_id: str) -> None:
        """... and accepts every id the reader can look up."""
        occurrence = parse_occurrence(_encoded(make_event(issue_id, fingerprint="fp")))
        assert occurrence.issue_id == issue_id


def _encoded(event: dict[str, object]) -> bytes:
    return json.dumps(event).encode()
