"""CSRF protection of the UI's forms: a per-session secret token in every form.

The token lives in the signed session cookie and is compared in constant time with
the ``csrf_token`` field of each POST the UI's blueprint receives; a missing or wrong
token is refused with 403. The JSON API is a different blueprint and is not affected
(its clients authenticate with a bearer token, which a browser never sends by itself).
The token itself (session key, field name, creation) is ``ingest_service.csrf``'s, so one
token satisfies both checks when the app-wide protection is installed too.
"""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

from ingest_service.csrf import FIELD, SESSION_KEY, csrf_token

__all__ = ["FIELD", "csrf_token", "protect", "rotate"]

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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
