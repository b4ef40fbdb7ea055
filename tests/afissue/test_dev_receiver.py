"""The local alert receiver of `afissue dev`: verifies signatures, prints one line each."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest

from afissue.dev_receiver import AlertReceiver, describe_alert
from notifier.channels.webhook import WebhookSender, webhook_body
from notifier.message import Digest, alert_message
from notifier.signing import new_secret, sign
from tests.notifier.conftest import outbox_document


class TestAlertReceiver:
    def test_prints_each_verified_alert_and_marks_repeats(self) -> None:
        """A signed alert is printed; the same id again is printed as a repeat."""
        lines: list[str] = []
        receiver = AlertReceiver(lines.append).start()
        try:
            message = alert_message(outbox_document(issue="x"), "webhook", "http://ui")
            sender = WebhookSender(receiver.url, receiver.secret)
            sender.send(message)
            sender.send(message)
        finally:
            receiver.stop()
        assert lines[0].startswith("alert | New issue: ZeroDivisionError")
        assert lines[1].endswith("(repeat of a delivered id)")
        assert receiver.count() == 1

    def test_a_bad_signature_is_refused(self) -> None:
        """A request signed with another secret gets 400 and is not counted."""
        lines: list[str] = []
        receiver = AlertReceiver(lines.append).start()
        try:
            body = webhook_body(alert_message(outbox_document(), "w", "http://ui"), time.time())
            headers = sign(new_secret(), "a/w", int(time.time()), body)
            request = urllib.request.Request(receiver.url, data=body, headers=headers)
            with pytest.raises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(request, timeout=5)
            assert caught.value.code == 400
        finally:
            receiver.stop()
        assert receiver.count() == 0
        assert lines == ["alert | rejected: no webhook-signature matches the body"]


class TestDescribeAlert:
    def test_a_digest_is_one_line(self) -> None:
        """A digest prints its headline and id."""
        alerts = tuple(alert_message(outbox_document(issue=f"i{k}"), "w", "http://u")
                       for k in range(3))
        digest = Digest("w", alerts)
        line = describe_alert({"data": digest.payload()})
        assert line.startswith("3 alerts held back by the rate limit of w (digest digest/w/")
