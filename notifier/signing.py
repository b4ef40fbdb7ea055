"""Standard Webhooks signatures (https://www.standardwebhooks.com/): the three headers of
a signed generic webhook.

The signed content is ``f"{webhook_id}.{timestamp}.{body}"``; the key is the channel's
secret, ``whsec_`` + base64 of its bytes; the signature header is ``v1,`` + base64 of the
HMAC-SHA256. A receiver recomputes it from the raw body and compares in constant time
(:func:`verify`, and the snippet in ``docs/alerts.md``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

__all__ = ["SECRET_PREFIX", "SignatureError", "new_secret", "secret_bytes", "sign", "verify"]

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret


class SignatureError(ValueError):
    """A secret that is not ``whsec_`` + base64, or a signature that does not verify."""


def secret_bytes(secret: str) -> bytes:
    """The HMAC key of *secret* (``whsec_`` + base64; the prefix is optional)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(
            "webhook secret: expected 'whsec_' followed by base64, got something else"
        ) from None
    if not key:
        raise SignatureError("webhook secret: expected at least one byte of key, got none")
    return key


def new_secret() -> str:
    """A fresh 24-byte secret in the Standard Webhooks format."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _signature(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers of
    *body* sent at *timestamp* (Unix seconds)."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": _signature(secret_bytes(secret), webhook_id, timestamp, body),
    }


def verify(
    secret: str, headers: dict[str, str], body: bytes, *, now: int, tolerance: int = 300
) -> None:
    """Raise :class:`SignatureError` unless *headers* sign *body* with *secret* and the
    timestamp is within *tolerance* seconds of *now* (replay protection)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    webhook_id = lowered.get("webhook-id", "")
    raw_timestamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    if not (webhook_id and raw_timestamp and signatures):
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise SignatureError(f"webhook-timestamp {raw_timestamp!r}: expected Unix seconds") from None
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"webhook-timestamp {timestamp} is more than {tolerance} s from now")
    expected = _signature(secret_bytes(secret), webhook_id, timestamp, body)
    if not any(hmac.compare_digest(expected, given) for given in signatures.split(" ")):
        raise SignatureError("no webhook-signature matches the body")
