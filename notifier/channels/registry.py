"""A configured channel (``alerting.rules.Channel``) made into its :class:`Sender`."""

from __future__ import annotations

from alerting.rules import Channel
from notifier.channels import Sender
from notifier.channels.email import EmailSender
from notifier.channels.slack import SlackSender
from notifier.channels.webhook import WebhookSender

__all__ = ["build_sender", "build_senders"]


def build_sender(channel: Channel, timeout: float) -> Sender:
    """The sender of *channel*, each network call bounded by *timeout* seconds."""
    if channel.type == "webhook":
        return WebhookSender(channel.url, channel.secret, timeout)
    if channel.type == "slack":
        return SlackSender(channel.url, timeout)
    if channel.type == "email":
        return EmailSender(
            channel.host, channel.port, channel.sender, channel.to,
            starttls=channel.starttls, username=channel.username, password=channel.password,
            timeout=timeout,
        )
    raise ValueError(f"channel {channel.name!r}: unknown type {channel.type!r}")


def build_senders(channels: dict[str, Channel], timeout: float) -> dict[str, Sender]:
    """One sender per configured channel, by name."""
    return {name: build_sender(channel, timeout) for name, channel in channels.items()}
