"""CSRF protection of the UI's forms: a per-session secret token in every form.

The token lives in the signed session cookie and is compared in constant time with
the ``csrf_token`` field of each POST the UI's blueprint receives; a missing or wrong
token is refused with 403. The JSON API is a different blueprint and is not affected
(its clients authenticate with a bearer token, which a browser never sends by itself).
Session key and field name are those of ``ingest_service.csrf``, so one token satisfies
both checks when the app-wide protection is installed too.
"""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

__all__ = ["FIELD", "csrf_token", "protect", "rotate"]

FIELD = "csrf_token"
_SESSION_KEY = "csrf_token"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def csrf_token() -> str:
    """The current session's token, created on first use."""
    token = session.get(_SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[_SESSION_KEY] = token
    return token


def rotate() -> None:
    """Give the session a fresh token (after login, so a planted session is useless)."""
    session[_SESSION_KEY] = secrets.token_urlsafe(32)


def protect() -> None:
    """Refuse (403) an unsafe request whose form lacks the session's token."""
    if request.method not in _UNSAFE:
        return
    expected = session.get(_SESSION_KEY)
    sent = request.form.get(FIELD, "")
    if not isinstance(expected, str) or not hmac.compare_digest(
        sent.encode("utf-8", "surrogatepass"), expected.encode()
    ):
        abort(403, description="The form's CSRF token is missing or stale: reload the page.")
