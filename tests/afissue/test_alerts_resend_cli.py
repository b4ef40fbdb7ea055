"""``afissue alerts resend`` re-queues dead alerts for the notifier."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from afissue.services import FirestoreEmulator
from issue_store.client import firestore_client
from notifier.delivery import RetryPolicy, failed
from tests.notifier.conftest import outbox_document


@pytest.fixture
def db(firestore_emulator: FirestoreEmulator, firestore_project: str) -> Iterator[Any]:
    client = firestore_client(firestore_project, firestore_emulator.host_port)
    yield client
    client.close()


def _resend(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AFISSUE_")}
    return subprocess.run(
        [sys.executable, "-m", "afissue", "alerts", "resend", *args],
        env=base | env, capture_output=True, text=True, timeout=60, check=False,
    )


class TestAlertsResend:
    def test_dead_alerts_of_the_last_day_are_requeued(
        self, db: Any, firestore_emulator: FirestoreEmulator, firestore_project: str
    ) -> None:
        """`resend --dead` re-queues each recent dead delivery and says which; exit 0."""
        document = outbox_document(issue="i1")
        now = datetime.datetime.now(datetime.UTC)
        document["channels"]["ops"] = failed(
            document["channels"]["ops"], "HTTP 500", now, RetryPolicy(max_attempts=1)
        )
        document["state"] = "done"
        db.collection("alerts").document(document["alert_id"]).set(document)
        env = {"FIRESTORE_EMULATOR_HOST": firestore_emulator.host_port,
               "AFISSUE_FIRESTORE_PROJECT": firestore_project}
        result = _resend(env, "--dead")
        assert result.returncode == 0, result.stderr
        assert f"{document['alert_id']}: ops" in result.stdout
        stored = db.collection("alerts").document(document["alert_id"]).get().to_dict()
        assert stored["state"] == "pending" and stored["channels"]["ops"]["attempts"] == 0
        again = _resend(env, "--dead")
        assert again.returncode == 1
        assert "re-queued 0 dead deliveries of 0 alerts" in again.stdout

    def test_ids_and_dead_together_are_refused(self) -> None:
        """Giving both ALERT_IDs and --dead is exit 2 with one line."""
        result = _resend({}, "a:new:0", "--dead")
        assert result.returncode == 2
        assert "not both or neither" in result.stderr
