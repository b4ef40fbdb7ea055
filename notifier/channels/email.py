"""Email through SMTP (stdlib :mod:`smtplib`), STARTTLS optional.

The ``Message-ID`` is derived from the idempotency id, so a message sent twice (a retry
after a lost answer) has the same id and mail clients show it once; the id is also in
``X-Afissue-Idempotency-Id``. Subjects are one line (no header injection from a title).
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP

from notifier.channels import DeliveryError
from notifier.message import AlertMessage, Digest, one_line

__all__ = ["EmailSender", "email_message"]

_BODY_LIMIT = 100_000
#: Headers up to RFC 5322's line limit stay unfolded (subjects are at most 200 characters).
_POLICY = SMTP.clone(max_line_length=998)


def _message_id(idempotency_id: str, sender: str) -> str:
    domain = sender.rpartition("@")[2] or "afissue"
    digest = hashlib.sha256(idempotency_id.encode()).hexdigest()[:32]
    return f"<afissue.{digest}@{one_line(domain, 100).replace(' ', '')}>"


def _alert_text(message: AlertMessage) -> str:
    issue = message.issue
    lines = [message.headline, "", str(message.title)[:_BODY_LIMIT], ""]
    for label, key in (
        ("Culprit", "culprit"), ("Service", "service"), ("Environment", "environment"),
        ("Level", "level"), ("Release", "release"), ("Count", "count"),
        ("First seen", "first_seen"), ("Last seen", "last_seen"),
    ):
        if issue.get(key) not in (None, ""):
            lines.append(f"{label}: {one_line(issue[key], 500)}")
    lines += ["", f"Issue page: {message.url}", f"Alert id: {message.idempotency_id}"]
    return "\n".join(lines)


def _digest_text(digest: Digest) -> str:
    lines = [digest.headline, ""]
    lines += [f"- {alert.summary(300)}\n  {alert.url}" for alert in digest.alerts]
    lines += ["", f"Digest id: {digest.idempotency_id}"]
    lines += [f"  {alert.idempotency_id}" for alert in digest.alerts]
    return "\n".join(lines)


def email_message(message: AlertMessage | Digest, sender: str, to: Sequence[str]) -> EmailMessage:
    """The email of *message* from *sender* to *to*."""
    mail = EmailMessage(policy=_POLICY)
    if isinstance(message, Digest):
        subject, text = f"[afissue] {message.headline}", _digest_text(message)
    else:
        subject, text = f"[afissue] {message.summary(180)}", _alert_text(message)
    mail["Subject"] = one_line(subject, 200)
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail["Message-ID"] = _message_id(message.idempotency_id, sender)
    mail["X-Afissue-Idempotency-Id"] = one_line(message.idempotency_id, 900)
    mail.set_content(text.replace("\x00", "")[:_BODY_LIMIT])
    return mail


class EmailSender:
    """Sends through the SMTP server *host*:*port*, with STARTTLS when *starttls*."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        to: Sequence[str],
        *,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.to = list(to)
        self.starttls = starttls
        self.username = username
        self.password = password
        self.timeout = timeout

    def send(self, message: AlertMessage | Digest) -> None:
        mail = email_message(message, self.sender, self.to)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(mail)
        except (smtplib.SMTPException, OSError, ValueError) as error:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {error}") from None
        if refused:
            raise DeliveryError(f"SMTP {self.host}:{self.port} refused {sorted(refused)}")
