"""CSRF protection of the UI's forms: a per-session secret token in every form.

The token lives in the signed session cookie and is compared in constant time with
the ``csrf_token`` field of each POST the UI's blueprint receives; a missing or wrong
token is refused with 403. This is the service's only CSRF check: the UI's forms are its
only browser forms, and the JSON API is exempt by construction (its clients authenticate
with a bearer token, which a browser never sends by itself), so no hook runs on API
requests.
"""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

__all__ = ["FIELD", "SESSION_KEY", "csrf_token", "protect", "rotate"]

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Where the token lives in the signed session, and the form field that carries it back.
SESSION_KEY = "csrf_token"
FIELD = "csrf_token"


def csrf_token() -> str:
    """The session's CSRF token (created on first use)."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def rotate() -> None:
    """Give the session a fresh token (after login, so a planted session is useless)."""
    session[SESSION_KEY] = secrets.token_urlsafe(32)


def protect() -> None:
    """Refuse (403) an unsafe request whose form lacks the session's token."""
    if request.method not in _UNSAFE:
        return
    expected = session.get(SESSION_KEY)
    sent = request.form.get(FIELD, "")
    if not isinstance(expected, str) or not hmac.compare_digest(
        sent.encode("utf-8", "surrogatepass"), expected.encode()
    ):
        abort(403, description="The form's CSRF token is missing or stale: reload the page.")
