"""``afissue notifier`` as a process: clear refusals at start, delivery, clean SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from afissue.services import FirestoreEmulator, free_port
from tests.notifier.conftest import SECRET, outbox_document
from tests.notifier.receivers import HttpReceiver
from tests.pipeline import wait_for


def _environment(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AFISSUE_", "FIRESTORE_"))}
    return base | extra


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "afissue", "notifier"], env=env, capture_output=True,
        text=True, timeout=60, check=False,
    )


class TestStart:
    def test_a_bad_rules_file_is_one_clear_line(self, tmp_path: Path) -> None:
        """A rules file naming an undefined channel: exit 2, one line naming file and rule."""
        rules = tmp_path / "alerts.toml"
        rules.write_text('[[rules]]\nname = "prod"\ntriggers = ["new"]\nchannels = ["nowhere"]\n')
        result = _run(_environment(AFISSUE_ALERTS_FILE=str(rules)))
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("notifier: ")
        assert str(rules) in result.stderr and "nowhere" in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1

    def test_a_bad_setting_is_one_clear_line(self) -> None:
        """An unparsable number: exit 2 naming the variable."""
        result = _run(_environment(AFISSUE_NOTIFIER_MAX_ATTEMPTS="many"))
        assert result.returncode == 2
        assert "AFISSUE_NOTIFIER_MAX_ATTEMPTS" in result.stderr
        assert "Traceback" not in result.stderr


class TestProcess:
    def test_delivers_through_the_webhook_shortcut_and_stops_on_sigterm(
        self, db: Any, firestore_emulator: FirestoreEmulator, firestore_project: str,
        redis_url: str, receiver: HttpReceiver,
    ) -> None:
        """With only AFISSUE_ALERT_WEBHOOK_URL/SECRET set, a pending alert reaches the
        receiver, its document ends done, /metrics counts it, and SIGTERM exits 0."""
        metrics_port = free_port()
        env = _environment(
            FIRESTORE_EMULATOR_HOST=firestore_emulator.host_port,
            AFISSUE_FIRESTORE_PROJECT=firestore_project,
            AFISSUE_REDIS_URL=redis_url,
            AFISSUE_ALERT_WEBHOOK_URL=receiver.url,
            AFISSUE_ALERT_WEBHOOK_SECRET=SECRET,
            AFISSUE_NOTIFIER_POLL_INTERVAL="0.2",
            AFISSUE_UI_BASE_URL="https://afissue.example",
            AFISSUE_NOTIFIER_METRICS_PORT=str(metrics_port),
        )
        document = outbox_document(channels=("webhook",))
        db.collection("alerts").document(document["alert_id"]).set(document)
        proc = subprocess.Popen(
            [sys.executable, "-m", "afissue", "notifier"], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not receiver.received():
                assert proc.poll() is None, proc.communicate()[0]
                time.sleep(0.2)
            [request] = receiver.received()
            assert request.headers["webhook-id"] == f"{document['alert_id']}/webhook"
            assert request.json()["data"]["url"].startswith("https://afissue.example/issues/")
            url = f"http://127.0.0.1:{metrics_port}/metrics"

            def exposition() -> str:
                with urllib.request.urlopen(url, timeout=5) as response:
                    return str(response.read().decode())

            sample = 'afissue_notifier_delivered_total{channel="webhook"} 1.0'
            assert wait_for(lambda: sample in exposition(), timeout=10), exposition()
        finally:
            proc.send_signal(signal.SIGTERM)
            output = proc.communicate(timeout=30)[0]
        assert proc.returncode == 0, output
        assert f"Delivered alert {document['alert_id']} to webhook" in output
        stored = db.collection("alerts").document(document["alert_id"]).get().to_dict()
        assert stored["state"] == "done"
