"""Pruning old resolved issues with their subcollections, on the real Firestore emulator."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import pytest

from issue_store.prune import PruneProgress, Pruner, parse_age
from tests.issue_store import seed

DAYS_90 = _dt.timedelta(days=90)


def _resolved(issue_id: str, *, seen_days: float, resolved_days: float, **fields: Any) -> dict[str, Any]:
    return seed.issue(
        issue_id, status="resolved", last_seen=seed.ago(days=seen_days),
        status_history=[{"status": "resolved", "at": seed.ago(days=resolved_days), "by": "t",
                         "reason": "fixed"}],
        **fields,
    )


def _exists(db: Any, issue_id: str) -> bool:
    return bool(db.collection("issues").document(issue_id).get().exists)


def _occurrences(db: Any, issue_id: str) -> int:
    return len(list(db.collection("issues").document(issue_id).collection("occurrences").stream()))


class TestParseAge:
    @pytest.mark.parametrize(("text", "days"), [("90d", 90), ("2w", 14), ("36h", 1.5)])
    def test_ages(self, text: str, days: float) -> None:
        """Hours, days and weeks."""
        assert parse_age(text) == _dt.timedelta(days=days)

    @pytest.mark.parametrize("text", ["", "90", "d", "0d", "-1d", "1y", "1.5d", "999999d"])
    def test_bad_ages_are_named(self, text: str) -> None:
        """Anything else is a ValueError naming the text."""
        with pytest.raises(ValueError, match="is not an age"):
            parse_age(text)


class TestPruner:
    def test_prunes_only_old_resolved_issues_with_their_occurrences(self, db: Any) -> None:
        """Resolved, unseen and resolved for 90 days: gone with every occurrence; open,
        recently seen or recently resolved issues stay."""
        seed.put(db, "issues", _resolved("old", seen_days=120, resolved_days=100), occurrences=7)
        seed.put(db, "issues", _resolved("seen", seen_days=10, resolved_days=100), occurrences=1)
        seed.put(db, "issues", _resolved("late", seen_days=120, resolved_days=30), occurrences=1)
        seed.put(db, "issues", seed.issue("open", last_seen=seed.ago(days=200)), occurrences=1)
        done = Pruner(db, batch_size=3).run(DAYS_90)
        assert (done.issues, done.documents, done.pruned_ids) == (1, 8, ["old"])
        assert not _exists(db, "old") and _occurrences(db, "old") == 0
        assert all(_exists(db, i) for i in ("seen", "late", "open"))

    def test_dry_run_counts_and_deletes_nothing(self, db: Any) -> None:
        """``dry_run`` reports the issues and documents and leaves them."""
        seed.put(db, "issues", _resolved("old", seen_days=120, resolved_days=100), occurrences=4)
        done = Pruner(db).run(DAYS_90, dry_run=True)
        assert (done.issues, done.documents) == (1, 5)
        assert _exists(db, "old") and _occurrences(db, "old") == 4

    def test_an_interrupted_run_is_resumed_by_the_next(self, db: Any) -> None:
        """A run stopped after its second batch leaves the issue findable; the next run
        finishes it and every other one."""
        for n in range(3):
            seed.put(db, "issues", _resolved(f"old{n}", seen_days=120 + n, resolved_days=100),
                     occurrences=5)
        batches = 0

        def stop_after_two(done: PruneProgress) -> None:
            nonlocal batches
            batches += 1
            if batches == 2:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            Pruner(db, batch_size=2).run(DAYS_90, progress=stop_after_two)
        left = [n for n in range(3) if _exists(db, f"old{n}")]
        assert len(left) == 3 and _occurrences(db, "old0") == 1
        done = Pruner(db, batch_size=2).run(DAYS_90)
        assert sorted(done.pruned_ids) == ["old0", "old1", "old2"]
        assert not any(_exists(db, f"old{n}") or _occurrences(db, f"old{n}") for n in range(3))

    def test_an_issue_written_meanwhile_is_kept(self, db: Any) -> None:
        """If the consumer writes the issue while its occurrences are deleted (a
        regression), the issue document is not deleted."""
        seed.put(db, "issues", _resolved("old", seen_days=120, resolved_days=100), occurrences=2)

        def regress(done: PruneProgress) -> None:
            db.collection("issues").document("old").update({"status": "open", "count": 4})

        done = Pruner(db, batch_size=5).run(DAYS_90, progress=regress)
        assert (done.issues, done.kept_changed) == (0, 1)
        assert db.collection("issues").document("old").get().get("status") == "open"
