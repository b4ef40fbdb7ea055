"""Issue queries from text, and page cursors."""

from __future__ import annotations

import base64
import datetime as _dt
import json
from typing import Any

import pytest

from issue_store.query import Cursor, InvalidQuery, IssueQuery


class TestCursor:
    def test_timestamp_cursor_round_trips(self) -> None:
        """A timestamp cursor decodes to the same instant and id."""
        moment = _dt.datetime(2026, 11, 26, 19, 42, 0, 123456, tzinfo=_dt.UTC)
        cursor = Cursor("last_seen", moment, "abc")
        assert Cursor.decode(cursor.encode()) == cursor

    def test_count_cursor_round_trips(self) -> None:
        """A count cursor decodes to the same number."""
        cursor = Cursor("count", 17, "abc")
        assert Cursor.decode(cursor.encode()) == cursor

    @pytest.mark.parametrize("token", ["", "%%%", "bm90IGpzb24", "eyJzIjogInRpdGxlIn0"])
    def test_garbage_is_invalid(self, token: str) -> None:
        """Anything not made by ``encode`` is an ``InvalidQuery``."""
        with pytest.raises(InvalidQuery, match="cursor"):
            Cursor.decode(token)


    @pytest.mark.parametrize(
        "document",
        [
            {"s": "count", "k": "n", "v": 2**63, "id": "a"},
            {"s": "count", "k": "n", "v": -(2**63) - 1, "id": "a"},
            {"s": "count", "k": "n", "v": float("inf"), "id": "a"},
            {"s": "count", "k": "n", "v": float("nan"), "id": "a"},
            {"s": "last_seen", "k": "t", "v": "0001-01-01T00:00:00+01:00", "id": "a"},
            {"s": "count", "k": "n", "v": 1, "id": ".."},
            {"s": "count", "k": "n", "v": 1, "id": "a/b"},
            {"s": "count", "k": "n", "v": 1, "id": "__name__"},
            {"s": "count", "k": "n", "v": 1, "id": "\ud800"},
            {"s": "count", "k": "n", "v": 1, "id": "x" * 1501},
        ],
    )
    def test_values_no_document_can_hold_are_invalid(self, document: dict[str, Any]) -> None:
        """A cursor Firestore could not resume from (beyond int64 or timestamps, not
        finite, an id no document can have) is refused before any query is made."""
        token = base64.urlsafe_b64encode(json.dumps(document).encode()).decode()
        with pytest.raises(InvalidQuery, match="cursor"):
            Cursor.decode(token)


class TestIssueQuery:
    def test_defaults_to_open_by_last_seen(self) -> None:
        """An empty query string asks for open issues, most recently seen first."""
        query = IssueQuery.from_args({}, limit=50)
        assert (query.status, query.sort, query.cursor) == ("open", "last_seen", None)

    def test_all_means_any_status(self) -> None:
        """``status=all`` removes the status filter."""
        assert IssueQuery.build(status="all").status is None

    def test_blank_filters_are_unset(self) -> None:
        """Blank inputs of the filter form filter nothing."""
        query = IssueQuery.build(service=" ", environment="", search=None)
        assert query.equality_filters() == [("status", "==", "open")]

    def test_equality_filters(self) -> None:
        """Service, status and environment become Firestore where clauses."""
        query = IssueQuery.build(service="web", status="resolved", environment="prod")
        assert query.equality_filters() == [
            ("service", "==", "web"),
            ("status", "==", "resolved"),
            ("environments", "array_contains", "prod"),
        ]

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"status": "closed"}, "status 'closed'"),
            ({"sort": "title"}, "sort 'title'"),
            ({"limit": 0}, "limit 0"),
            ({"service": "x" * 201}, "service is 201 characters"),
        ],
    )
    def test_invalid_values_are_named(self, kwargs: dict[str, object], message: str) -> None:
        """A bad value raises ``InvalidQuery`` naming it."""
        with pytest.raises(InvalidQuery, match=message):
            IssueQuery.build(**kwargs)  # type: ignore[arg-type]

    def test_cursor_of_another_sort_is_refused(self) -> None:
        """A cursor made for count cannot page a list sorted by last seen."""
        token = Cursor("count", 3, "a").encode()
        with pytest.raises(InvalidQuery, match="belongs to sort"):
            IssueQuery.build(sort="last_seen", cursor=token)

    def test_args_rebuild_the_query(self) -> None:
        """``to_args`` gives a query string that builds the same query at a cursor."""
        query = IssueQuery.build(status="all", service="web", search="Key", sort="count")
        cursor = Cursor("count", 5, "b")
        rebuilt = IssueQuery.from_args(query.to_args(cursor), limit=50)
        assert rebuilt == IssueQuery.build(
            status=None, service="web", search="Key", sort="count", cursor=cursor.encode()
        )
        assert query.to_args()["q"] == "is:all service:web key"

    def test_typed_filters_win_over_the_separate_ones(self) -> None:
        """``is:``, ``service:`` and ``env:`` in the search box override the form's fields."""
        query = IssueQuery.build(status="open", service="api", search="is:resolved service:web env:prod")
        assert (query.status, query.service, query.environment) == ("resolved", "web", "prod")

    def test_a_sent_search_box_without_is_means_any_status(self) -> None:
        """``/issues?q=`` lists every status; ``/issues`` only open ones."""
        assert IssueQuery.from_args({"q": ""}, limit=50).status is None
        assert IssueQuery.from_args({"q": "is:ignored"}, limit=50).status == "ignored"

    def test_words_query_one_token_and_check_the_rest(self) -> None:
        """Firestore gets the longest word as ``array_contains_any``; the others are
        checked on the documents read, so all words are required."""
        query = IssueQuery.build(search="order KeyError")
        assert query.equality_filters()[-1] == ("search_tokens", "array_contains_any", ["keyerror"])
        assert query.matches({"search_tokens": ["keyerror", "key", "order"]})
        assert not query.matches({"search_tokens": ["keyerror"]})
        assert not query.matches({})

    def test_one_array_clause_per_query(self) -> None:
        """Words and an environment: the words go to Firestore, the environment is checked
        on each document (Firestore allows one array clause)."""
        query = IssueQuery.build(search="env:prod timeout level:[error,critical]")
        clauses = [c for c in query.equality_filters() if c[1].startswith("array")]
        assert clauses == [("search_tokens", "array_contains_any", ["timeout"])]
        row = {"search_tokens": ["timeout", "level:critical"], "environments": ["prod"]}
        assert query.matches(row)
        assert not query.matches({**row, "environments": ["dev"]})
        assert not query.matches({**row, "search_tokens": ["timeout", "level:warning"]})

    def test_levels_alone_are_one_any_clause(self) -> None:
        """``level:[error,critical]`` alone is answered by Firestore entirely."""
        query = IssueQuery.build(status="all", search="level:[error,critical]")
        assert query.equality_filters() == [
            ("search_tokens", "array_contains_any", ["level:error", "level:critical"])
        ]
        assert not query.filtered

    def test_release_is_matched_by_its_facet(self) -> None:
        """``release:`` asks Firestore for the release facet token."""
        query = IssueQuery.build(search="release:1.4.2 card")
        assert ("search_tokens", "array_contains_any", ["release:1.4.2"]) in query.equality_filters()
        assert query.matches({"search_tokens": ["card", "release:1.4.2"]})

    def test_search_errors_are_invalid_queries(self) -> None:
        """A search the parser refuses is an ``InvalidQuery`` naming the part."""
        with pytest.raises(InvalidQuery, match="search servce: is not a filter"):
            IssueQuery.build(search="servce:web")
