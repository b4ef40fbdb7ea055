"""``afissue prune`` against the real Firestore emulator, through the real ``afissue`` parser."""

from __future__ import annotations

import json
from typing import Any

import pytest

from afissue.cli import main
from issue_store.client import firestore_client
from tests.issue_store import seed


@pytest.fixture
def db(firestore_project: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The emulator project the CLI is pointed at through its environment variables."""
    monkeypatch.setenv("AFISSUE_FIRESTORE_PROJECT", firestore_project)
    monkeypatch.delenv("AFISSUE_FIRESTORE_COLLECTION", raising=False)
    return firestore_client(firestore_project, None)


def _old_resolved(db: Any, issue_id: str) -> None:
    seed.put(db, "issues", seed.issue(
        issue_id, status="resolved", last_seen=seed.ago(days=100),
        status_history=[{"status": "resolved", "at": seed.ago(days=95), "by": "t", "reason": "x"}],
    ), occurrences=3)


class TestPruneCommand:
    def test_dry_run_then_prune(self, db: Any, capsys: pytest.CaptureFixture[str]) -> None:
        """``--dry-run`` says what would go and keeps it; the real run deletes it."""
        _old_resolved(db, "old")
        seed.put(db, "issues", seed.issue("new"))
        assert main(["prune", "--resolved-older-than", "90d", "--dry-run", "-v"]) == 0
        out = capsys.readouterr().out
        assert "would prune old" in out and "would delete 1 issues (4 documents)" in out
        assert db.collection("issues").document("old").get().exists
        assert main(["prune", "--resolved-older-than", "90d", "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert (summary["issues"], summary["documents"]) == (1, 4)
        assert not db.collection("issues").document("old").get().exists
        assert db.collection("issues").document("new").get().exists

    @pytest.mark.parametrize("age", ["90", "ninety", "0d"])
    def test_bad_age_is_exit_2(self, db: Any, age: str, capsys: pytest.CaptureFixture[str]) -> None:
        """An age that is not one is refused by the parser with exit status 2."""
        with pytest.raises(SystemExit) as stopped:
            main(["prune", "--resolved-older-than", age])
        assert stopped.value.code == 2
        assert "is not an age" in capsys.readouterr().err
