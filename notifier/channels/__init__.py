"""Channels: where an alert is sent. One module per kind, each a :class:`Sender`.

Errors (the only exception a sender raises)::

    DeliveryError            the receiver did not take the message; retried with backoff
"""

from __future__ import annotations

from typing import Protocol

from notifier.message import AlertMessage, Digest

__all__ = ["DeliveryError", "Sender"]


class DeliveryError(Exception):
    """The receiver did not take the message: refused, unreachable or too slow.

    *retry_after* (seconds) is the receiver's own request (``Retry-After``), if any.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Sender(Protocol):
    """Sends one message, or raises :class:`DeliveryError`."""

    def send(self, message: AlertMessage | Digest) -> None: ...
