"""CSRF protection for browser forms; the JSON API is exempt.

API clients authenticate with a bearer token, which a browser never sends on its own,
so cross-site requests cannot ride on ambient credentials there. Browser forms (the UI's
resolve / ignore / reopen actions) must carry the session's token, either as the
``csrf_token`` form field or the ``X-CSRF-Token`` header; templates get ``csrf_token()``.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, Flask, request, session

from ingest_service.errors import ApiError

__all__ = ["FIELD", "SESSION_KEY", "CSRFError", "CSRFProtect", "csrf_token"]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
#: Where the token lives in the signed session, and the form field that carries it back.
SESSION_KEY = "csrf_token"
FIELD = "csrf_token"


class CSRFError(ApiError):
    """400: a state-changing browser request without a valid CSRF token."""

    status = 400
    code = "csrf_failed"


def csrf_token() -> str:
    """The session's CSRF token (created on first use)."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


class CSRFProtect:
    """Checks the token on unsafe methods, except on exempt blueprints."""

    def __init__(self, app: Flask | None = None) -> None:
        self._exempt: set[str] = set()
        if app is not None:
            self.init_app(app)

    def exempt(self, blueprint: Blueprint) -> Blueprint:
        """Exempt every route of *blueprint* (token-authenticated APIs)."""
        self._exempt.add(blueprint.name)
        return blueprint

    def init_app(self, app: Flask) -> None:
        app.extensions["afissue_csrf"] = self
        app.jinja_env.globals["csrf_token"] = csrf_token
        app.before_request(self._protect)

    def _protect(self) -> None:
        if request.method in _SAFE_METHODS:
            return
        blueprint = request.blueprint  # a property behind a proxy: read it once
        if blueprint is not None and blueprint.partition(".")[0] in self._exempt:
            return
        if request.endpoint is None:
            return  # 404/405 follow; nothing would be changed
        expected = session.get(SESSION_KEY)
        sent = request.headers.get("X-CSRF-Token") or request.form.get(FIELD, "")
        if not isinstance(expected, str) or not hmac.compare_digest(expected, sent):
            raise CSRFError("missing or invalid CSRF token", field=FIELD)
