"""The notifier: delivers the alert outbox documents the consumers write.

After the consumer in the data's path: ``alerts/{alert_id}`` (pending) → claim with a
lease (:mod:`notifier.lease`) → rate limit per channel (:mod:`notifier.ratelimit`) →
send through the channel (:mod:`notifier.channels`: signed webhook, Slack, email) →
record delivered / retry with backoff / dead (:mod:`notifier.delivery`). The loop is
:mod:`notifier.loop`; the process, ``afissue notifier``, is :mod:`notifier.main`.
"""

from __future__ import annotations

from notifier.channels import DeliveryError, Sender
from notifier.delivery import RetryPolicy
from notifier.message import AlertMessage, Digest
from notifier.settings import NotifierSettings
from notifier.signing import sign, verify

__all__ = [
    "AlertMessage",
    "DeliveryError",
    "Digest",
    "NotifierSettings",
    "RetryPolicy",
    "Sender",
    "sign",
    "verify",
]
