"""Fixtures of the notifier tests: real receivers, the emulator's outbox, Redis."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from afissue.services import FirestoreEmulator
from alerting.outbox import new_outbox_document
from issue_store.client import firestore_client
from tests.notifier.receivers import HttpReceiver, SmtpReceiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    """An HTTP receiver on 127.0.0.1 recording every POST."""
    server = HttpReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    """An SMTP server on 127.0.0.1 (aiosmtpd) keeping every message."""
    server = SmtpReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def db(firestore_emulator: FirestoreEmulator, firestore_project: str) -> Iterator[Any]:
    """A Firestore client of the test's empty project on the emulator."""
    client = firestore_client(firestore_project, firestore_emulator.host_port)
    yield client
    client.close()


def outbox_document(
    issue: str = "issue-1",
    trigger: str = "new",
    n: int = 0,
    channels: tuple[str, ...] = ("ops",),
    created_at: datetime.datetime | None = None,
    title: str = "ZeroDivisionError: division by zero",
) -> dict[str, Any]:
    """A pending outbox document as the consumer writes it."""
    return new_outbox_document(
        issue_id=issue,
        trigger=trigger,
        n=n,
        rule_names=["default"],
        channels=channels,
        rule_slug="default" if trigger == "velocity" else None,
        created_at=created_at or datetime.datetime.now(datetime.UTC),
        issue={"title": title, "culprit": "pricing.quote", "service": "pricing",
               "level": "error", "environment": "production", "release": "1.2.3",
               "count": 1},
    )


@pytest.fixture
def write_alert(db: Any) -> Callable[..., str]:
    """Writes a pending outbox document into ``alerts``; its id."""

    def write(**fields: Any) -> str:
        document = outbox_document(**fields)
        db.collection("alerts").document(document["alert_id"]).set(document)
        return str(document["alert_id"])

    return write
