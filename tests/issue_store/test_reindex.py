"""Search tokens for issues stored before the field, on the real Firestore emulator."""

from __future__ import annotations

from typing import Any

from issue_store.query import IssueQuery
from issue_store.reader import IssueReader
from issue_store.reindex import planned_tokens_of, reindex
from tests.issue_store import seed


class TestReindex:
    def test_same_tokens_as_the_consumer(self) -> None:
        """A stored document's tokens are the ones the consumer planned for it."""
        doc = seed.issue("a", title="KeyError: 'order_id'")
        assert planned_tokens_of(doc) == doc["search_tokens"]

    def test_old_documents_become_searchable(self, db: Any, reader: IssueReader) -> None:
        """Documents without tokens are found after a reindex; others are not rewritten."""
        for n in range(5):
            doc = seed.issue(f"old{n}", title=f"NeedleError number {n}")
            del doc["search_tokens"]
            seed.put(db, "issues", doc)
        seed.put(db, "issues", seed.issue("new", title="NeedleError", search_tokens=["needleerror", "needle"]))
        assert dry_run_count(db) == 5
        done = reindex(db, "issues", page_size=2)
        assert (done.read, done.updated) == (6, 5)
        found = reader.find(IssueQuery.build(search="needle", status="all")).issues
        assert sorted(r["issue_id"] for r in found) == ["new"] + [f"old{n}" for n in range(5)]
        assert reindex(db, "issues").updated == 0
        assert reindex(db, "issues", everything=True).updated == 1  # "new" differs

    def test_cli(self, db: Any, firestore_project: str, monkeypatch: Any, capsys: Any) -> None:
        """``afissue reindex`` updates and says how many."""
        from afissue.cli import main

        monkeypatch.setenv("AFISSUE_FIRESTORE_PROJECT", firestore_project)
        monkeypatch.delenv("AFISSUE_FIRESTORE_COLLECTION", raising=False)
        doc = seed.issue("old", title="x")
        del doc["search_tokens"]
        seed.put(db, "issues", doc)
        assert main(["reindex"]) == 0
        assert "read 1 issues, updated 1" in capsys.readouterr().out


def dry_run_count(db: Any) -> int:
    """How many documents a dry run would update (and it changes nothing)."""
    return reindex(db, "issues", dry_run=True).updated
