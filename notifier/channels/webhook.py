"""The generic webhook: a JSON body signed the Standard Webhooks way.

The body is ``{"type": "afissue.alert.<trigger>", "timestamp": ..., "data": {...}}`` (the
envelope the Standard Webhooks spec recommends); ``webhook-id`` is the message's
idempotency id (``<alert_id>/<channel>``), the same on every retry, so a receiver can
drop a repeat it has already seen.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable

from notifier.channels.http import post
from notifier.message import AlertMessage, Digest, dumps
from notifier.signing import sign

__all__ = ["WebhookSender", "webhook_body"]


def webhook_body(message: AlertMessage | Digest, now: float) -> bytes:
    """The JSON body of *message* sent at *now*."""
    trigger = "digest" if isinstance(message, Digest) else message.trigger
    stamp = datetime.datetime.fromtimestamp(now, datetime.UTC).isoformat().replace("+00:00", "Z")
    return dumps(
        {"type": f"afissue.alert.{trigger}", "timestamp": stamp, "data": message.payload()}
    )


class WebhookSender:
    """POSTs signed JSON to *url*; unsigned when the channel has no *secret*."""

    def __init__(
        self,
        url: str,
        secret: str | None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self._clock = clock

    def send(self, message: AlertMessage | Digest) -> None:
        now = self._clock()
        body = webhook_body(message, now)
        if self.secret:
            headers = sign(self.secret, message.idempotency_id, int(now), body)
        else:
            headers = {"webhook-id": message.idempotency_id, "webhook-timestamp": str(int(now))}
        post(self.url, body, headers, self.timeout)
