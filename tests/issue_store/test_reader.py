"""The issue reader on the real Firestore emulator: queries, pages, search, status changes."""

from __future__ import annotations

from typing import Any

import pytest

from issue_store.errors import IssueNotFound
from issue_store.query import IssueQuery
from issue_store.reader import IssueReader
from tests.issue_store import seed


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [row["issue_id"] for row in rows]


class TestList:
    def test_sorted_descending_by_each_sort(self, reader: IssueReader, db: Any) -> None:
        """last_seen, count and first_seen each sort newest/highest first."""
        seed.put(db, "issues", seed.issue("a", count=1, last_seen=seed.ago(minutes=1),
                                           first_seen=seed.ago(days=3)))
        seed.put(db, "issues", seed.issue("b", count=9, last_seen=seed.ago(minutes=9),
                                           first_seen=seed.ago(days=1)))
        assert ids(reader.find(IssueQuery()).issues) == ["a", "b"]
        assert ids(reader.find(IssueQuery(sort="count")).issues) == ["b", "a"]
        assert ids(reader.find(IssueQuery(sort="first_seen")).issues) == ["b", "a"]

    def test_pages_cover_every_issue_once(self, reader: IssueReader, db: Any) -> None:
        """Following cursors visits each issue exactly once, ties broken by id."""
        for n in range(7):
            seed.put(db, "issues", seed.issue(f"i{n}", count=n % 2))
        seen: list[str] = []
        query = IssueQuery(sort="count", limit=3)
        while True:
            page = reader.find(query)
            seen += ids(page.issues)
            if page.next_cursor is None:
                break
            query = IssueQuery(sort="count", limit=3, cursor=page.next_cursor)
        assert sorted(seen) == [f"i{n}" for n in range(7)]
        assert len(seen) == 7

    def test_exact_page_has_no_next(self, reader: IssueReader, db: Any) -> None:
        """When the last page is full, there is no empty page after it."""
        for n in range(3):
            seed.put(db, "issues", seed.issue(f"i{n}"))
        assert reader.find(IssueQuery(limit=3)).next_cursor is None

    def test_search_finds_words_of_title_and_message(self, reader: IssueReader, db: Any) -> None:
        """A word of the title or of the latest message finds the issue, any case."""
        seed.put(db, "issues", seed.issue("a", title="KeyError: 'order_id'", count=2))
        seed.put(db, "issues", seed.issue("b", title="hay", count=1,
                                           latest=seed.occurrence("lost the NEEDLE")))
        seed.put(db, "issues", seed.issue("c", title="other"))
        assert ids(reader.find(IssueQuery.build(search="order_id", sort="count")).issues) == ["a"]
        assert ids(reader.find(IssueQuery.build(search="needle")).issues) == ["b"]
        assert ids(reader.find(IssueQuery.build(search="KeyError")).issues) == ["a"]

    def test_search_with_every_filter(self, reader: IssueReader, db: Any) -> None:
        """Words, level, release, environment and status combine with AND on the emulator."""
        seed.put(db, "issues", seed.issue("a", title="timeout talking to bank", level="critical",
                                           releases=["2.0"], environments=["prod"]))
        seed.put(db, "issues", seed.issue("b", title="timeout talking to bank", level="error",
                                           releases=["2.0"], environments=["prod"]))
        seed.put(db, "issues", seed.issue("c", title="timeout talking to bank", level="critical",
                                           releases=["1.0"], environments=["dev"]))
        seed.put(db, "issues", seed.issue("d", title="timeout talking to bank", level="critical",
                                           releases=["2.0"], environments=["prod"], status="resolved"))
        found = reader.find(IssueQuery.build(
            search="timeout bank level:critical release:2.0 env:prod is:open"))
        assert ids(found.issues) == ["a"]
        assert ids(reader.find(IssueQuery.build(search="is:resolved bank")).issues) == ["d"]
        assert sorted(ids(reader.find(IssueQuery.build(search="level:critical is:all")).issues)) == ["a", "c", "d"]

    def test_documents_without_tokens_are_not_found(self, reader: IssueReader, db: Any) -> None:
        """An issue written before ``search_tokens`` existed is found by its next flush,
        not before (docs/consumer.md, "Search tokens")."""
        seed.put(db, "issues", seed.issue("old", title="needle", search_tokens=None))
        assert reader.find(IssueQuery.build(search="needle")).issues == []

    def test_search_stops_at_the_scan_limit_and_resumes(self, db: Any) -> None:
        """Past ``search_scan_limit`` candidates the page ends with a cursor that resumes."""
        reader = IssueReader(db, "issues", search_scan_limit=3)
        for n in range(6):
            title = "needle pin" if n == 4 else "needle"
            seed.put(db, "issues", seed.issue(f"i{n}", title=title, count=10 - n))
        seed.put(db, "issues", seed.issue("hay", title="hay", count=100))
        first = reader.find(IssueQuery.build(sort="count", search="needle pin"))
        assert (first.issues, first.scanned) == ([], 3)
        assert first.next_cursor is not None
        second = reader.find(IssueQuery.build(
            sort="count", search="needle pin", cursor=first.next_cursor.encode()))
        assert ids(second.issues) == ["i4"]

    def test_custom_collection(self, db: Any) -> None:
        """The store reads the collection it was given."""
        seed.put(db, "team_issues", seed.issue("t"))
        assert ids(IssueReader(db, "team_issues").find(IssueQuery()).issues) == ["t"]


class TestGet:
    def test_get_and_missing(self, reader: IssueReader, db: Any) -> None:
        """``get`` returns the document with its id, None when absent or unnameable."""
        seed.put(db, "issues", seed.issue("a"))
        issue = reader.get("a")
        assert issue is not None and issue["issue_id"] == "a"
        assert reader.get("b") is None
        assert reader.get("..") is None

    def test_long_ids_the_consumer_writes_are_found(self, reader: IssueReader, db: Any) -> None:
        """An id of up to 1,500 bytes, which the consumer stores, can be read back (the
        reader once refused ids over 200 characters, hiding such issues)."""
        long_id = "é" * 750  # 1,500 bytes of UTF-8
        seed.put(db, "issues", seed.issue(long_id))
        issue = reader.get(long_id)
        assert issue is not None and issue["issue_id"] == long_id
        assert reader.set_status(long_id, "resolved", "alice", "x").changed

    def test_occurrences_newest_first(self, reader: IssueReader, db: Any) -> None:
        """Ring documents come back newest first, whatever their slot names."""
        seed.put(db, "issues", seed.issue("a"), occurrences=3)
        messages = [o["message"] for o in reader.occurrences("a")]
        assert messages == ["occurrence 0", "occurrence 1", "occurrence 2"]


class TestSetStatus:
    def test_writes_status_history_and_updated_at(self, reader: IssueReader, db: Any) -> None:
        """A change sets status, appends who and why, and bumps updated_at."""
        seed.put(db, "issues", seed.issue("a"))
        change = reader.set_status("a", "resolved", "alice", "resolve (CLI)")
        assert change.changed
        stored = db.collection("issues").document("a").get().to_dict()
        assert stored["status"] == "resolved"
        assert stored["status_history"][-1]["by"] == "alice"
        assert stored["status_history"][-1]["reason"] == "resolve (CLI)"
        assert stored["updated_at"] > seed.ago(minutes=5)
        assert stored["count"] == 3

    def test_same_status_changes_nothing(self, reader: IssueReader, db: Any) -> None:
        """Resolving a resolved issue writes no history entry."""
        seed.put(db, "issues", seed.issue("a", status="resolved"))
        assert not reader.set_status("a", "resolved", "alice", "again").changed
        stored = db.collection("issues").document("a").get().to_dict()
        assert len(stored["status_history"]) == 1

    def test_history_is_bounded(self, reader: IssueReader, db: Any) -> None:
        """Only the last ``history_limit`` entries are kept."""
        seed.put(db, "issues", seed.issue("a"))
        for n in range(8):
            reader.set_status("a", "resolved" if n % 2 == 0 else "open", "bob", f"step {n}")
        history = db.collection("issues").document("a").get().to_dict()["status_history"]
        assert [h["reason"] for h in history] == [f"step {n}" for n in range(3, 8)]

    def test_keeps_fields_the_consumer_wrote_meanwhile(self, reader: IssueReader, db: Any) -> None:
        """Only status fields are written, so concurrent count increments are kept."""
        from google.cloud.firestore_v1.transforms import Increment

        seed.put(db, "issues", seed.issue("a"))
        db.collection("issues").document("a").update({"count": Increment(5)})
        reader.set_status("a", "ignored", "alice", "noise")
        assert db.collection("issues").document("a").get().to_dict()["count"] == 8

    def test_missing_issue(self, reader: IssueReader) -> None:
        """Changing an unknown issue raises ``IssueNotFound`` and creates nothing."""
        with pytest.raises(IssueNotFound):
            reader.set_status("nope", "resolved", "alice", "x")
        assert reader.get("nope") is None

    def test_unknown_status(self, reader: IssueReader) -> None:
        """Only open, resolved and ignored are statuses."""
        with pytest.raises(ValueError, match="closed"):
            reader.set_status("a", "closed", "alice", "x")
