"""Fixtures of the issue-store tests: a Firestore client and a reader on a fresh emulator project."""

from __future__ import annotations

from typing import Any

import pytest

from issue_store.client import firestore_client
from issue_store.reader import IssueReader


@pytest.fixture
def db(firestore_project: str) -> Any:
    """A Firestore client on the test's project (the emulator, through the session's
    ``FIRESTORE_EMULATOR_HOST``)."""
    return firestore_client(firestore_project)


@pytest.fixture
def reader(db: Any) -> IssueReader:
    """A reader of the ``issues`` collection keeping five status-history entries."""
    return IssueReader(db, "issues", history_limit=5)
