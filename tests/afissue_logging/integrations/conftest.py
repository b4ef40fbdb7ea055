"""Fixtures of the web integration tests: an ``IssueHandler`` on the root logger, where a
framework's error records end up, delivering to a capturing transport."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from afissue_logging import IssueHandler
from afissue_logging.testing import CapturingTransport
from afissue_logging.wire import EventDict


class Reported:
    """The events an ``IssueHandler`` on the root logger delivered."""

    def __init__(self, handler: IssueHandler, transport: CapturingTransport) -> None:
        self.handler = handler
        self.transport = transport

    def events(self) -> list[EventDict]:
        """Everything reported so far (flushed first)."""
        assert self.handler.flush(10)
        return self.transport.events


@pytest.fixture
def reported(tmp_path: Path) -> Iterator[Reported]:
    """An ``IssueHandler`` on the root logger for the test's duration."""
    transport = CapturingTransport()
    handler = IssueHandler(service="web", transport=transport, spool_dir=str(tmp_path / "spool"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield Reported(handler, transport)
    finally:
        root.removeHandler(handler)
