"""The ``afissue`` command line: refusals are clear messages, and tokens work as documented."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _afissue(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AFISSUE_")}
    return subprocess.run(
        [sys.executable, "-m", "afissue", *args],
        env=environment | (env or {}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class TestIngestCommand:
    def test_refuses_to_run_open_without_the_flag(self) -> None:
        """Without a tokens file or --allow-open, `afissue ingest` exits 2 with a message, no traceback."""
        result = _afissue("ingest", "--port", "1")
        assert result.returncode == 2
        assert result.stderr.startswith("afissue ingest: ")
        assert "Traceback" not in result.stderr


class TestTokenCommand:
    def test_new_token_line_holds_only_the_hash(self, tmp_path: Path) -> None:
        """`token new --append` writes `service sha256(token)` and prints the token once."""
        tokens = tmp_path / "tokens"
        result = _afissue("token", "new", "pricing", "--append", str(tokens))
        assert result.returncode == 0, result.stderr
        token = result.stdout.splitlines()[0].removeprefix("token: ").strip()
        line = tokens.read_text().strip()
        assert line == f"pricing {hashlib.sha256(token.encode()).hexdigest()}"
        assert token not in tokens.read_text()

    @pytest.mark.parametrize("service", ["ñame", "two words", "", "x" * 129, "#ops", "tab\there"])
    def test_unusable_service_name_is_a_clear_error(self, tmp_path: Path, service: str) -> None:
        """A name the tokens file cannot hold exits 2 with one line naming it; nothing is
        appended."""
        tokens = tmp_path / "tokens"
        result = _afissue("token", "new", service, "--append", str(tokens))
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.startswith("afissue token new: service name "), result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert not tokens.exists()
