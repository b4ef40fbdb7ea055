"""Standard Webhooks signatures: the documented algorithm, and the reference library."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.signing import SignatureError, new_secret, secret_bytes, sign, verify
from tests.notifier.conftest import SECRET

NOW = 1_700_000_000


def _documented(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The algorithm as docs/alerts.md states it, written out independently."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = webhook_id.encode() + b"." + str(timestamp).encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class TestSign:
    @given(
        webhook_id=st.text(min_size=1, max_size=80).filter(lambda s: "\x00" not in s),
        body=st.binary(max_size=2000),
    )
    def test_signature_is_the_documented_hmac(self, webhook_id: str, body: bytes) -> None:
        """The signature header is v1, + base64(HMAC-SHA256(key, id.timestamp.body))."""
        headers = sign(SECRET, webhook_id, NOW, body)
        assert headers["webhook-id"] == webhook_id
        assert headers["webhook-timestamp"] == str(NOW)
        assert headers["webhook-signature"] == _documented(SECRET, webhook_id, NOW, body)

    @settings(max_examples=50)
    @given(webhook_id=st.from_regex(r"[a-z0-9:/_-]{1,60}", fullmatch=True), text=st.text(max_size=500))
    def test_reference_library_verifies_it(self, webhook_id: str, text: str) -> None:
        """The standardwebhooks reference implementation accepts what sign() produces."""
        standardwebhooks = pytest.importorskip("standardwebhooks")
        body = text.encode()
        now = int(datetime.datetime.now(datetime.UTC).timestamp())
        headers = sign(SECRET, webhook_id, now, body)
        standardwebhooks.Webhook(SECRET).verify(body.decode(), headers, json_parse=False)

    def test_new_secrets_are_in_the_standard_format(self) -> None:
        """A fresh secret is whsec_ + base64 of 24 random bytes, different each time."""
        first, second = new_secret(), new_secret()
        assert first.startswith("whsec_") and first != second
        assert len(secret_bytes(first)) == 24

    @pytest.mark.parametrize("secret", ["whsec_", "whsec_not base64!", "whsec_@@@@"])
    def test_a_bad_secret_is_a_clear_error(self, secret: str) -> None:
        """A secret that is not whsec_ + base64 raises SignatureError naming the format."""
        with pytest.raises(SignatureError, match=r"whsec_|key"):
            sign(secret, "id", NOW, b"{}")


class TestVerify:
    def test_accepts_its_own_signature(self) -> None:
        """verify() accepts a signature made by sign() within the tolerance."""
        headers = sign(SECRET, "a:new:0/ops", NOW, b'{"x":1}')
        verify(SECRET, headers, b'{"x":1}', now=NOW + 10)

    @pytest.mark.parametrize(
        ("change", "match"),
        [
            ("body", "no webhook-signature"),
            ("secret", "no webhook-signature"),
            ("old", "more than 300"),
            ("missing", "missing"),
        ],
    )
    def test_rejects_tampering_replay_and_missing_headers(self, change: str, match: str) -> None:
        """A changed body, another secret, an old timestamp or a missing header fail."""
        body = b'{"x":1}'
        headers = sign(SECRET, "a:new:0/ops", NOW, body)
        secret, now = SECRET, NOW
        if change == "body":
            body = b'{"x":2}'
        elif change == "secret":
            secret = new_secret()
        elif change == "old":
            now = NOW + 301
        else:
            del headers["webhook-signature"]
        with pytest.raises(SignatureError, match=match):
            verify(secret, headers, body, now=now)
