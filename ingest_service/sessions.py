"""Cookie sessions for the browser pages only.

The API and the probes are token-authenticated or anonymous and never use a session,
yet Flask's default session interface builds a signing serializer on every request
once a secret key is set. Here those paths get Flask's null session instead, which
costs nothing; browser pages (and their CSRF tokens) keep the signed cookie session.
"""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

__all__ = ["SESSIONLESS_PREFIXES", "BrowserOnlySessionInterface", "init_app"]

SESSIONLESS_PREFIXES = ("/api/", "/metrics")


class BrowserOnlySessionInterface(SecureCookieSessionInterface):
    """The signed cookie session, except on :data:`SESSIONLESS_PREFIXES`."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(SESSIONLESS_PREFIXES):
            return None  # Flask then uses its (read-only) null session
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    app.session_interface = BrowserOnlySessionInterface()
