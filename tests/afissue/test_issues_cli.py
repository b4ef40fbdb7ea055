"""``afissue issues`` against the real Firestore emulator, through a parser built here."""

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

from afissue.issues_cli import add_issues_commands
from issue_store.client import firestore_client
from tests.issue_store import seed

ROOT = Path(__file__).resolve().parents[2]
#: What a terminal command that only reads Firestore has no use for.
_SERVER_PACKAGES = ("flask", "confluent_kafka", "ingest_service")
_LOADED = (
    "import sys; print(sorted({m.split('.')[0] for m in sys.modules} & "
    f"set({_SERVER_PACKAGES!r})), file=sys.stderr)"
)

Run = Callable[[Sequence[str]], tuple[int, str, str]]


@pytest.fixture
def db(firestore_project: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The emulator project the CLI is pointed at through its environment variables."""
    monkeypatch.setenv("AFISSUE_FIRESTORE_PROJECT", firestore_project)
    monkeypatch.delenv("AFISSUE_FIRESTORE_COLLECTION", raising=False)
    return firestore_client(firestore_project, None)


@pytest.fixture
def run(db: Any, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run ``afissue issues ARGS``: (exit status, stdout, stderr)."""

    def invoke(argv: Sequence[str]) -> tuple[int, str, str]:
        parser = argparse.ArgumentParser(prog="afissue")
        add_issues_commands(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(["issues", *argv])
        code: int = args.func(args)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


class TestList:
    def test_table_of_open_issues(self, run: Run, db: Any) -> None:
        """The default table lists open issues with count, status and relative times."""
        seed.put(db, "issues", seed.issue("a1", title="Open thing", count=7))
        seed.put(db, "issues", seed.issue("b2", title="Done thing", status="resolved"))
        code, out, _ = run(["list"])
        assert code == 0
        header, *rows = out.splitlines()
        assert header.split() == [
            "ISSUE_ID", "STATUS", "LEVEL", "COUNT", "LAST_SEEN", "FIRST_SEEN", "SERVICE", "TITLE",
        ]
        assert len(rows) == 1
        assert rows[0].split()[:7] == ["a1", "open", "error", "7", "5m", "ago", "2h"]
        assert "Open thing" in rows[0]

    def test_filters_and_sort_in_json(self, run: Run, db: Any) -> None:
        """Filters and sort apply; --json prints the rows and the next cursor."""
        seed.put(db, "issues", seed.issue("a", count=1, environments=["prod"]))
        seed.put(db, "issues", seed.issue("b", count=5, environments=["prod"]))
        seed.put(db, "issues", seed.issue("c", count=9, environments=["dev"]))
        seed.put(db, "issues", seed.issue("d", count=9, service="web", environments=["prod"]))
        code, out, _ = run(
            ["list", "--service", "payments", "--environment", "prod", "--sort", "count", "--json"]
        )
        data = json.loads(out)
        assert code == 0
        assert [row["issue_id"] for row in data["issues"]] == ["b", "a"]
        assert data["issues"][0]["last_seen"].endswith("Z")
        assert data["next_cursor"] is None

    def test_cursor_pages(self, run: Run, db: Any) -> None:
        """--limit cuts a page and --cursor continues after it."""
        for n in range(3):
            seed.put(db, "issues", seed.issue(f"i{n}", count=n))
        _, out, _ = run(["list", "--sort", "count", "--limit", "2", "--json"])
        first = json.loads(out)
        _, out, _ = run(["list", "--sort", "count", "--limit", "2", "--json",
                         "--cursor", first["next_cursor"]])
        second = json.loads(out)
        assert [r["issue_id"] for r in first["issues"] + second["issues"]] == ["i2", "i1", "i0"]

    def test_search_all_statuses(self, run: Run, db: Any) -> None:
        """--search with --status all finds resolved issues by title text."""
        seed.put(db, "issues", seed.issue("a", title="KeyError: 'x'", status="resolved"))
        seed.put(db, "issues", seed.issue("b", title="ValueError"))
        _, out, _ = run(["list", "--status", "all", "-q", "keyerror", "--json"])
        assert [r["issue_id"] for r in json.loads(out)["issues"]] == ["a"]

    def test_search_with_filters_as_in_the_web_ui(self, run: Run, db: Any) -> None:
        """``-q`` takes the web UI's search text: its ``is:`` wins over ``--status``."""
        seed.put(db, "issues", seed.issue("a", title="KeyError: 'x'", status="resolved"))
        seed.put(db, "issues", seed.issue("b", title="KeyError: 'y'"))
        _, out, _ = run(["list", "-q", "is:resolved key", "--json"])
        assert [r["issue_id"] for r in json.loads(out)["issues"]] == ["a"]
        code, _, err = run(["list", "-q", "servce:web"])
        assert code == 2 and "servce: is not a filter" in err

    def test_bad_cursor_is_exit_2(self, run: Run) -> None:
        """A cursor that is not one is refused with a message and exit status 2."""
        code, _, err = run(["list", "--cursor", "garbage"])
        assert code == 2
        assert "cursor" in err

    def test_control_characters_are_escaped(self, run: Run, db: Any) -> None:
        """A title cannot send escape sequences to the terminal."""
        seed.put(db, "issues", seed.issue("a", title="evil\x1b[2J title\nsecond line"))
        _, out, _ = run(["list"])
        assert "\x1b" not in out
        assert "evil\\x1b[2J title second line" in out


class TestShow:
    def test_shows_latest_occurrence(self, run: Run, db: Any) -> None:
        """``show`` prints the fields, the traceback with in-app frames marked, and history."""
        seed.put(db, "issues", seed.issue("a"), occurrences=2)
        code, out, _ = run(["show", "a"])
        assert code == 0
        for text in (
            "status:       open",
            "Payment failed for order 1234",
            "TimeoutError: gateway timed out",
            "The above exception was the direct cause of the following exception:",
            '> File "/srv/app/orders.py", line 42, in charge',
            '  File "/srv/lib/http.py", line 42, in handle_request',
            "ValueError: card declined",
            "region: eu-west",
            '"order_id": 1234',
            "by consumer  (first seen)",
            "recent occurrences (2):",
        ):
            assert text in out, text

    def test_shows_text_sparklines_and_releases(self, run: Run, db: Any) -> None:
        """``show`` draws the last 24 hours and 14 days as block sparklines with their
        totals, and the first- and last-seen release."""
        seed.put(db, "issues", seed.issue("a", first_release="1.4.0", last_release="1.4.2",
                                          **seed.trend_maps({0: 8, 1: 4, 30: 5})))
        code, out, _ = run(["show", "a"])
        assert code == 0
        line_24h = next(line for line in out.splitlines() if line.startswith("last 24 h:"))
        assert "▁" * 22 + "▅█  12 events" in line_24h
        line_14d = next(line for line in out.splitlines() if line.startswith("last 14 d:"))
        assert "17 events" in line_14d and len(line_14d.split()[3]) == 14
        assert "first/last release: 1.4.0 / 1.4.2" in out

    def test_shows_an_exception_groups_sub_exceptions(self, run: Run, db: Any) -> None:
        """A TaskGroup's failure lists each sub-exception's chain, numbered and indented,
        nested groups one level further."""
        seed.put(db, "issues", seed.issue("g", latest=seed.task_group_occurrence()))
        code, out, _ = run(["show", "g"])
        assert code == 0
        for text in (
            "unhandled errors in a TaskGroup (3 sub-exceptions)",
            "+-- sub-exception 1 of 3 --",
            "| OSError: disk full",
            "| The above exception was the direct cause of the following exception:",
            "| RuntimeError: save failed",
            "| KeyError: 'stock'",
            "| +-- sub-exception 1 of 1 --",
            "| | ValueError: row 3",
        ):
            assert text in out, text

    def test_shows_breadcrumbs_as_a_timeline_before_the_traceback(
        self, run: Run, db: Any
    ) -> None:
        """The latest occurrence's breadcrumbs come one a line, oldest first, above the
        exception; none, no block."""
        latest = seed.occurrence(breadcrumbs=[
            "… 2 more items omitted",
            {"timestamp": "2026-12-01T10:00:01.250000Z", "level": "info", "logger": "app.cart",
             "message": "cart loaded", "data": {"items": 3}},
            {"timestamp": "2026-12-01T10:00:02Z", "level": "warning", "logger": "app.pay",
             "message": "gateway slow\x1b[31m"},
        ])
        seed.put(db, "issues", seed.issue("a", latest=latest))
        seed.put(db, "issues", seed.issue("b"))
        _, out, _ = run(["show", "a"])
        block = out[out.index("breadcrumbs"):out.index("exception (")]
        lines = block.splitlines()
        assert lines[1] == "  [2 older omitted]"
        assert lines[2] == "  10:00:01.250  INFO     app.cart: cart loaded items=3"
        assert lines[3].startswith("  10:00:02.000  WARNING  app.pay: gateway slow")
        assert "\x1b" not in out
        assert "breadcrumbs" not in run(["show", "b"])[1]

    def test_shows_the_request(self, run: Run, db: Any) -> None:
        """The request the latest occurrence happened in is listed; none, no block."""
        latest = seed.occurrence(request={
            "method": "GET", "path": "/orders/7", "route": "/orders/{order_id}",
            "query_string": "q=1&token=[Filtered]", "status": 500,
        })
        seed.put(db, "issues", seed.issue("a", latest=latest))
        seed.put(db, "issues", seed.issue("b"))
        _, out, _ = run(["show", "a"])
        block = out[out.index("request:"):]
        for text in ("method: GET", "path: /orders/7", "route: /orders/{order_id}",
                     "query string: q=1&token=[Filtered]", "status: 500"):
            assert text in block, text
        assert "request:" not in run(["show", "b"])[1]

    def test_locals_with_the_flag_only(self, run: Run, db: Any) -> None:
        """--locals prints a frame's variables below it (by name), escaped; without, none."""
        latest = seed.occurrence()
        latest["frames"][1]["vars"] = {"order_id": "1234", "note": "'a\x1b[31m'"}
        latest["frames"][1]["vars_omitted"] = 2
        seed.put(db, "issues", seed.issue("a", latest=latest))
        code, out, _ = run(["show", "a", "--locals"])
        assert code == 0
        frame = out[out.index("in charge"):]
        assert frame.index("note = ") < frame.index("order_id = 1234")
        assert "[2 more locals not sent]" in frame
        assert "\x1b" not in out
        code, out, _ = run(["show", "a"])
        assert code == 0 and "order_id = " not in out

    def test_json_has_document_and_occurrences(self, run: Run, db: Any) -> None:
        """``show --json`` prints the whole document with its recent occurrences."""
        seed.put(db, "issues", seed.issue("a"), occurrences=1)
        _, out, _ = run(["show", "a", "--json"])
        data = json.loads(out)
        assert data["latest"]["context"]["extra"] == {"order_id": 1234, "amount": "9.99"}
        assert len(data["occurrences"]) == 1

    def test_unknown_issue_is_exit_1(self, run: Run) -> None:
        """A missing issue is an error message and exit status 1."""
        code, _, err = run(["show", "nope"])
        assert (code, err.strip()) == (1, "afissue issues: no issue 'nope'")


class TestStatusCommands:
    def test_resolve_ignore_reopen(self, run: Run, db: Any) -> None:
        """Each command sets the status and records who did it in the history."""
        seed.put(db, "issues", seed.issue("a"))
        assert run(["resolve", "a", "--by", "alice"])[1] == "a: resolved\n"
        assert run(["ignore", "a", "--by", "alice"])[1] == "a: ignored\n"
        assert run(["reopen", "a"])[1] == "a: open\n"
        history = db.collection("issues").document("a").get().to_dict()["status_history"]
        assert [(h["status"], h["by"][:4]) for h in history] == [
            ("open", "cons"), ("resolved", "alic"), ("ignored", "alic"), ("open", "cli:"),
        ]
        assert history[1]["reason"] == "resolve (CLI)"

    def test_same_status_is_reported(self, run: Run, db: Any) -> None:
        """Resolving a resolved issue says so and writes nothing."""
        seed.put(db, "issues", seed.issue("a", status="resolved"))
        code, out, _ = run(["resolve", "a", "--json"])
        assert code == 0
        assert json.loads(out)["changed"] is False

    def test_unknown_issue_is_exit_1(self, run: Run) -> None:
        """Changing a missing issue fails with exit status 1."""
        assert run(["ignore", "nope"])[0] == 1

    def test_custom_collection(
        self, run: Run, db: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """AFISSUE_FIRESTORE_COLLECTION picks the collection, as for the consumer."""
        monkeypatch.setenv("AFISSUE_FIRESTORE_COLLECTION", "team")
        seed.put(db, "team", seed.issue("t"))
        assert run(["resolve", "t"])[0] == 0
        assert db.collection("team").document("t").get().to_dict()["status"] == "resolved"


class TestFirestoreDown:
    @pytest.mark.parametrize("argv", [["list"], ["show", "a"], ["resolve", "a"]])
    def test_unreachable_firestore_is_exit_1(
        self, run: Run, monkeypatch: pytest.MonkeyPatch, argv: list[str]
    ) -> None:
        """With nothing listening at the emulator address, each command fails fast with 1."""
        from afissue.services import free_port

        monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
        monkeypatch.setenv("AFISSUE_UI_FIRESTORE_TIMEOUT", "1")
        code, _, err = run(argv)
        assert code == 1
        assert err.startswith("afissue issues: Firestore:")


def _python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120,
        env=environ, cwd=ROOT,
    )


class TestStartsLight:
    def test_import_loads_no_server_package(self) -> None:
        """Importing the CLI loads neither Flask, nor the Kafka client, nor the ingest service."""
        done = _python(f"import afissue.issues_cli; {_LOADED}")
        assert done.returncode == 0, done.stderr
        assert done.stderr.strip().splitlines()[-1] == "[]"

    def test_listing_against_firestore_loads_no_server_package(
        self, db: Any, firestore_project: str
    ) -> None:
        """``afissue issues list`` run to the end against the emulator loads none of them
        either: listing issues needs the issue store only."""
        seed.put(db, "issues", seed.issue("light", title="Listed without Flask"))
        done = _python(
            "from afissue.cli import main; code = main(['issues', 'list', '--json']); "
            f"{_LOADED}; raise SystemExit(code)",
            env={"AFISSUE_FIRESTORE_PROJECT": firestore_project},
        )
        assert done.returncode == 0, done.stderr
        assert [row["issue_id"] for row in json.loads(done.stdout)["issues"]] == ["light"]
        assert done.stderr.strip().splitlines()[-1] == "[]"
