"""Fixtures for the client tests: a real local HTTP capture server, isolated spools."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from afissue_logging.testing import reset
from tests.afissue_logging.capture_server import CaptureServer


@pytest.fixture(autouse=True)
def _reset_senders(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts without process-wide senders or AFISSUE_* variables."""
    for name in list(__import__("os").environ):
        if name.startswith("AFISSUE_"):
            monkeypatch.delenv(name)
    reset()
    yield
    reset()


@pytest.fixture
def capture() -> Iterator[CaptureServer]:
    """A running capture server."""
    with CaptureServer() as server:
        yield server


@pytest.fixture
def spool_dir(tmp_path: Path) -> str:
    """An empty spool directory."""
    path = tmp_path / "spool"
    path.mkdir()
    return str(path)
