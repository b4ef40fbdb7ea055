"""``afissue alerts list`` against the real Firestore emulator."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from afissue.alerts_cli import add_alerts_commands
from issue_store.client import firestore_client
from tests.issue_store import seed

ROOT = Path(__file__).resolve().parents[2]
Run = Callable[[Sequence[str]], tuple[int, str, str]]


@pytest.fixture
def db(firestore_project: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The emulator project the CLI is pointed at through its environment variables."""
    monkeypatch.setenv("AFISSUE_FIRESTORE_PROJECT", firestore_project)
    monkeypatch.delenv("AFISSUE_ALERTS_COLLECTION", raising=False)
    return firestore_client(firestore_project, None)


@pytest.fixture
def run(db: Any, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run ``afissue alerts ARGS``: (exit status, stdout, stderr)."""

    def invoke(argv: Sequence[str]) -> tuple[int, str, str]:
        parser = argparse.ArgumentParser(prog="afissue")
        add_alerts_commands(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(["alerts", *argv])
        code: int = args.func(args)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


class TestList:
    def test_table_of_recent_alerts_with_delivery(self, run: Run, db: Any) -> None:
        """The table lists alerts newest first with each channel's state, tries and error."""
        seed.put_alert(db, seed.alert("a", "new", 0, 30, ops={"state": "delivered", "attempts": 1}))
        seed.put_alert(db, seed.alert("b", "regression", 1, 5, ops={"state": "delivered"},
                                      mail={"state": "dead", "attempts": 8, "last_error": "timeout"}))
        code, out, _ = run(["list"])
        assert code == 0
        header, first, second = out.splitlines()
        assert header.split() == ["CREATED", "STATE", "ALERT", "ISSUE_ID", "DELIVERY", "TITLE"]
        assert "Regression #1" in first and "mail dead (8 tries: timeout), ops delivered" in first
        assert "New issue" in second and "ops delivered" in second

    def test_json_and_issue_filter(self, run: Run, db: Any) -> None:
        """--issue keeps one issue's alerts; --json prints every field and channel."""
        seed.put_alert(db, seed.alert("a", "new", 0, 30))
        seed.put_alert(db, seed.alert("a", "count", 2, 20))
        seed.put_alert(db, seed.alert("b", "new", 0, 5))
        code, out, _ = run(["list", "--issue", "a", "--json"])
        data = json.loads(out)["alerts"]
        assert code == 0
        assert [a["alert_id"] for a in data] == ["a:count:2", "a:new:0"]
        assert data[0]["summary"] == "Count passed 100"
        assert data[0]["channels"][0]["state"] == "pending"
        assert data[0]["created_at"].endswith("Z")

    def test_none(self, run: Run) -> None:
        """No alerts: says so."""
        assert run(["list"])[1].strip() == "no alerts"

    def test_bad_limit_is_exit_2(self, run: Run) -> None:
        """A limit that is not a number from 1 to 1000 is refused by the parser."""
        with pytest.raises(SystemExit) as exit_:
            run(["list", "--limit", "0"])
        assert exit_.value.code == 2


class TestImports:
    def test_no_server_packages(self, firestore_project: str) -> None:
        """``afissue alerts list`` imports neither Flask nor the Kafka client."""
        probe = (
            "import sys, runpy; sys.argv = ['afissue', 'alerts', 'list'];\n"
            "from afissue.cli import main\n"
            "code = main(['alerts', 'list'])\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'confluent_kafka'}),"
            " file=sys.stderr); sys.exit(code)"
        )
        env = {**os.environ, "AFISSUE_FIRESTORE_PROJECT": firestore_project, "PYTHONPATH": str(ROOT)}
        result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                                text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        assert result.stderr.strip().splitlines()[-1] == "[]"
