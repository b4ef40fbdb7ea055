"""firestore.indexes.json declares a composite index for every query the store can make.

The emulator runs any query without indexes, so this is what keeps production (where a
missing index is an error) honest.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from issue_store.query import SORTS, IssueQuery

INDEXES = Path(__file__).resolve().parents[3] / "firestore.indexes.json"
FieldSpec = tuple[str, str]


def declared(group: str = "issues") -> list[tuple[frozenset[FieldSpec], FieldSpec]]:
    """Each declared index of collection *group* as (equality fields, sort field)."""
    data = json.loads(INDEXES.read_text())
    result = []
    for index in data["indexes"]:
        assert index["queryScope"] == "COLLECTION"
        if index["collectionGroup"] != group:
            continue
        specs = [
            (f["fieldPath"], f.get("order") or f["arrayConfig"]) for f in index["fields"]
        ]
        result.append((frozenset(specs[:-1]), specs[-1]))
    return result


def needed(query: IssueQuery) -> tuple[frozenset[FieldSpec], FieldSpec] | None:
    """The composite index *query* needs, or None when single-field indexes serve it."""
    mode = {"==": "ASCENDING", "array_contains": "CONTAINS", "array_contains_any": "CONTAINS"}
    equality = frozenset((field, mode[op]) for field, op, _ in query.equality_filters())
    return (equality, (query.sort, "DESCENDING")) if equality else None


#: Each array clause a search can give Firestore (words, release, levels), also with an
#: environment and a level that are then checked on the documents read.
SEARCHES = ("", "KeyError order", "release:1.2", "level:[error,critical]", "word level:error")
QUERIES = [
    IssueQuery.build(status=status, service=service, environment=env, search=search, sort=sort)
    for status, service, env, search, sort in itertools.product(
        ("all", "open"), ("", "web"), ("", "prod"), SEARCHES, SORTS
    )
]


class TestIndexes:
    @pytest.mark.parametrize("query", QUERIES, ids=repr)
    def test_query_has_its_index(self, query: IssueQuery) -> None:
        """Every filter combination with every sort has a declared composite index."""
        index = needed(query)
        assert index is None or index in declared()

    def test_no_unused_index(self) -> None:
        """Every declared index serves some query (indexes cost writes)."""
        used = {needed(q) for q in QUERIES}
        assert [i for i in declared() if i not in used] == []

    def test_big_fields_are_not_indexed(self) -> None:
        """The full latest occurrence, the history, the trend maps (426 keys, each an index
        entry otherwise) and the releases' first times are exempt from single-field indexes;
        the tokens keep only the array index a search uses."""
        overrides = json.loads(INDEXES.read_text())["fieldOverrides"]
        assert {(o["fieldPath"], json.dumps(o["indexes"])) for o in overrides} == {
            ("latest", "[]"),
            ("status_history", "[]"),
            ("trend_hourly", "[]"),
            ("trend_daily", "[]"),
            ("release_seen", "[]"),
            # array-contains only: no ascending/descending entries per token
            ("search_tokens", json.dumps([{"queryScope": "COLLECTION", "arrayConfig": "CONTAINS"}])),
            # the TTL field: a timestamp always near now, which Google advises not to index
            ("expire_at", "[]"),
        }


class TestPruneIndex:
    def test_the_prune_query_has_its_index(self) -> None:
        """``afissue prune`` (status ==, last_seen < cutoff, newest first) uses the
        (status, last_seen descending) index the list has."""
        assert (frozenset({("status", "ASCENDING")}), ("last_seen", "DESCENDING")) in declared()


class TestAlertIndexes:
    def test_an_issues_alerts_query_has_its_index(self) -> None:
        """The issue page's alerts (issue_id ==, newest first) has its composite index;
        the recent alerts of all issues need only the single-field one."""
        assert (frozenset({("issue_id", "ASCENDING")}), ("created_at", "DESCENDING")) in declared("alerts")
