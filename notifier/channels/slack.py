"""Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat, Discord's /slack):
``text`` for notifications and clients without blocks, ``blocks`` with a link to the
issue page.

Slack has no idempotency header of its own: the message's id is sent as
``Idempotency-Key`` and shown in the message's context line, so a duplicate after a
retry can be recognised by a person. Texts are cut to Slack's block limits.
"""

from __future__ import annotations

from typing import Any

from notifier.channels.http import post
from notifier.message import AlertMessage, Digest, dumps, one_line

__all__ = ["SlackSender", "slack_body"]

_SECTION_LIMIT = 2900  # Slack refuses section texts over 3,000 characters
_DIGEST_LINES = 20


def _escape(text: str) -> str:
    """Slack mrkdwn escaping: ``&``, ``<`` and ``>`` are control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, text: str) -> str:
    return f"<{_escape(url).replace('|', '%7C')}|{_escape(text)}>"


def _alert_blocks(message: AlertMessage) -> list[dict[str, Any]]:
    issue = message.issue
    lines = [f"*{_link(message.url, one_line(message.title, 300))}*"]
    if issue.get("culprit"):
        lines.append(f"`{_escape(one_line(issue['culprit'], 300))}`")
    fields = [
        {"type": "mrkdwn", "text": f"*{label}*\n{_escape(one_line(issue.get(key), 100))}"}
        for label, key in (
            ("Service", "service"), ("Environment", "environment"), ("Level", "level"),
            ("Count", "count"), ("Release", "release"),
        )
        if issue.get(key) not in (None, "")
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": one_line(message.headline, 150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:_SECTION_LIMIT]}},
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields[:10]})
    blocks.append(
        {"type": "context", "elements": [
            {"type": "mrkdwn", "text": _escape(f"afissue · {message.idempotency_id}"[:300])}
        ]}
    )
    return blocks


def _digest_blocks(digest: Digest) -> list[dict[str, Any]]:
    lines = [
        f"• {_link(alert.url, alert.summary(150))}" for alert in digest.alerts[:_DIGEST_LINES]
    ]
    if len(digest.alerts) > _DIGEST_LINES:
        lines.append(f"… and {len(digest.alerts) - _DIGEST_LINES} more")
    return [
        {"type": "header", "text": {"type": "plain_text", "text": one_line(digest.headline, 150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:_SECTION_LIMIT]}},
        {"type": "context", "elements": [
            {"type": "mrkdwn", "text": _escape(f"afissue · {digest.idempotency_id}"[:300])}
        ]},
    ]


def slack_body(message: AlertMessage | Digest) -> dict[str, Any]:
    """The JSON body of *message*."""
    if isinstance(message, Digest):
        return {"text": one_line(message.headline, 300), "blocks": _digest_blocks(message)}
    text = f"{message.summary(300)} {message.url}"
    return {"text": text, "blocks": _alert_blocks(message)}


class SlackSender:
    """POSTs *message* as Slack ``text`` + ``blocks`` to the incoming webhook *url*."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, message: AlertMessage | Digest) -> None:
        body = dumps(slack_body(message))
        post(self.url, body, {"Idempotency-Key": message.idempotency_id}, self.timeout)
