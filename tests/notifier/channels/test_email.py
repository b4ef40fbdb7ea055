"""The email channel against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import pytest

from notifier.channels import DeliveryError
from notifier.channels.email import EmailSender
from notifier.message import alert_message
from tests.notifier.conftest import outbox_document
from tests.notifier.receivers import SmtpReceiver


def _sender(smtp: SmtpReceiver, **kwargs: object) -> EmailSender:
    return EmailSender(
        "127.0.0.1", smtp.port, "afissue@example.com", ["oncall@example.com"], **kwargs  # type: ignore[arg-type]
    )


class TestEmailSender:
    def test_delivers_a_mail_with_the_issue_link(self, smtp: SmtpReceiver) -> None:
        """The SMTP server receives one mail: subject, link, idempotency id."""
        message = alert_message(outbox_document(issue="i3"), "mail", "https://ui.example")
        _sender(smtp).send(message)
        [mail] = smtp.messages
        assert mail["Subject"] == (
            "[afissue] [pricing/production] New issue: ZeroDivisionError: division by zero"
        )
        assert mail["To"] == "oncall@example.com"
        assert mail["X-Afissue-Idempotency-Id"] == "i3:new:0/mail"
        assert "https://ui.example/issues/i3" in str(mail.get_payload())

    def test_a_retry_has_the_same_message_id(self, smtp: SmtpReceiver) -> None:
        """Sent twice, a mail keeps its Message-ID, so mail clients show it once."""
        message = alert_message(outbox_document(issue="i3"), "mail", "http://x")
        _sender(smtp).send(message)
        _sender(smtp).send(message)
        assert smtp.messages[0]["Message-ID"] == smtp.messages[1]["Message-ID"]

    def test_a_title_cannot_inject_headers(self, smtp: SmtpReceiver) -> None:
        """Line breaks in a title stay out of the headers."""
        title = "boom\r\nBcc: attacker@example.com\r\n\r\nbody"
        message = alert_message(outbox_document(title=title), "mail", "http://x")
        _sender(smtp).send(message)
        [mail] = smtp.messages
        assert mail["Bcc"] is None
        assert "\n" not in mail["Subject"]

    def test_starttls_is_required_when_configured(self, smtp: SmtpReceiver) -> None:
        """With starttls on, a server that does not offer STARTTLS fails the delivery
        (the mail is never sent in clear)."""
        message = alert_message(outbox_document(), "mail", "http://x")
        with pytest.raises(DeliveryError, match="STARTTLS"):
            _sender(smtp, starttls=True).send(message)
        assert smtp.messages == []

    def test_a_server_that_is_down_is_a_delivery_error(self) -> None:
        """Connection refused raises DeliveryError naming the server."""
        from afissue.services import free_port

        port = free_port()
        sender = EmailSender("127.0.0.1", port, "a@example.com", ["b@example.com"], timeout=2)
        with pytest.raises(DeliveryError, match=f"127.0.0.1:{port}"):
            sender.send(alert_message(outbox_document(), "mail", "http://x"))
