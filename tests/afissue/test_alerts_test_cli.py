"""``afissue alerts test CHANNEL`` sends a sample through a configured channel."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from notifier.signing import verify
from tests.notifier.conftest import SECRET
from tests.notifier.receivers import HttpReceiver, SmtpReceiver


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    """An HTTP receiver on 127.0.0.1 recording every POST."""
    server = HttpReceiver().start()
    yield server
    server.stop()


def _alerts_test(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AFISSUE_")}
    return subprocess.run(
        [sys.executable, "-m", "afissue", "alerts", "test", *args],
        env=base | env, capture_output=True, text=True, timeout=60, check=False,
    )


class TestAlertsTest:
    def test_sends_a_signed_sample_to_the_shortcut_webhook(self, receiver: HttpReceiver) -> None:
        """`test webhook` with the shortcut set: one signed test alert arrives; exit 0."""
        result = _alerts_test(
            "webhook", AFISSUE_ALERT_WEBHOOK_URL=receiver.url,
            AFISSUE_ALERT_WEBHOOK_SECRET=SECRET,
        )
        assert result.returncode == 0, result.stderr
        [request] = receiver.received()
        verify(SECRET, request.headers, request.body, now=int(time.time()))
        assert request.json()["type"] == "afissue.alert.test"
        assert request.headers["webhook-id"] in result.stdout

    def test_sends_a_sample_mail(self, tmp_path: Path) -> None:
        """An email channel of the rules file gets a test mail."""
        smtp = SmtpReceiver().start()
        try:
            rules = tmp_path / "alerts.toml"
            rules.write_text(
                f'[channels.mail]\ntype = "email"\nhost = "127.0.0.1"\nport = {smtp.port}\n'
                'sender = "afissue@example.com"\nto = ["oncall@example.com"]\n'
            )
            result = _alerts_test("mail", AFISSUE_ALERTS_FILE=str(rules))
            assert result.returncode == 0, result.stderr
            [mail] = smtp.messages
            assert "Test alert" in mail["Subject"]
        finally:
            smtp.stop()

    def test_a_receiver_that_refuses_is_exit_1(self, receiver: HttpReceiver) -> None:
        """A 500 from the receiver: exit 1 and one line saying so."""
        receiver.status = 500
        result = _alerts_test("webhook", AFISSUE_ALERT_WEBHOOK_URL=receiver.url)
        assert result.returncode == 1
        assert "did not take it: HTTP 500" in result.stderr

    def test_an_unknown_channel_names_the_configured_ones(self, receiver: HttpReceiver) -> None:
        """An unknown channel: exit 2 listing the configured channels."""
        result = _alerts_test("ops", AFISSUE_ALERT_WEBHOOK_URL=receiver.url)
        assert result.returncode == 2
        assert "no channel 'ops'; configured: webhook" in result.stderr
