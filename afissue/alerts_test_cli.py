"""``afissue alerts test CHANNEL``: send a sample alert through one configured channel.

The channel comes from the same configuration the notifier reads (``AFISSUE_ALERTS_FILE``
and the webhook shortcut, so ``webhook`` names the shortcut's channel); the message goes
straight through the channel's sender, not through the outbox, and the command says
whether the receiver took it. ``afissue.alerts_cli`` registers it beside ``afissue alerts
list`` with :func:`add_alerts_test_command`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["add_alerts_test_command", "alerts_test"]


def alerts_test(channel_name: str, environ: Mapping[str, str]) -> int:
    """Send the sample to *channel_name*; 0 when delivered, 1 when the receiver did not
    take it, 2 when the configuration is unusable or names no such channel."""
    from afissue_logging.config import SettingsError
    from alerting.rules import RulesError, load_rules
    from notifier.channels import DeliveryError
    from notifier.channels.registry import build_sender
    from notifier.sample import sample_message
    from notifier.settings import NotifierSettings

    prog = "afissue alerts test"
    try:
        settings = NotifierSettings.from_env(environ)
        config = load_rules(
            settings.rules_path, settings.webhook_url, settings.webhook_secret, environ
        )
    except (SettingsError, RulesError, ValueError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    channel = config.channels.get(channel_name)
    if channel is None:
        known = ", ".join(sorted(config.channels)) or "none (set AFISSUE_ALERTS_FILE)"
        print(f"{prog}: no channel {channel_name!r}; configured: {known}", file=sys.stderr)
        return 2
    message = sample_message(channel_name, settings.base_url)
    try:
        build_sender(channel, settings.send_timeout).send(message)
    except DeliveryError as error:
        print(f"{prog}: {channel_name} ({channel.type}) did not take it: {error}", file=sys.stderr)
        return 1
    print(f"sent a test alert to {channel_name} ({channel.type}), id {message.idempotency_id}")
    return 0


def _run(args: argparse.Namespace) -> int:
    return alerts_test(args.channel, os.environ)


def add_alerts_test_command(alerts_sub: Any) -> None:
    """Add ``test CHANNEL`` to the ``afissue alerts`` subparsers *alerts_sub*."""
    test = alerts_sub.add_parser("test", help="send a sample alert through CHANNEL")
    test.add_argument("channel", help="a channel name of the rules file, or 'webhook'")
    test.set_defaults(func=_run)
