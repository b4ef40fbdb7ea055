"""Security headers on the UI's responses."""

from __future__ import annotations

from flask.testing import FlaskClient

from ingest_service.ui.headers import CONTENT_SECURITY_POLICY


class TestSecurityHeaders:
    def test_pages_forbid_script_and_framing(self, operator: FlaskClient) -> None:
        """Pages send a CSP without any script source, and the usual hardening headers."""
        response = operator.get("/issues")
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert "default-src 'none'" in CONTENT_SECURITY_POLICY
        assert "script-src" not in CONTENT_SECURITY_POLICY
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"

    def test_error_and_login_pages_too(self, client: FlaskClient) -> None:
        """The login page and error pages carry the same policy."""
        assert "Content-Security-Policy" in client.get("/issues/login").headers
        assert "Content-Security-Policy" in client.post("/issues/x/resolve").headers

    def test_session_cookie_is_httponly_and_samesite(self, client: FlaskClient) -> None:
        """The session cookie cannot be read by script nor sent on cross-site posts."""
        cookie = client.get("/issues/login").headers["Set-Cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie

    def test_stylesheet_is_served(self, client: FlaskClient) -> None:
        """The one stylesheet is served without login."""
        response = client.get("/issues/static/ui.css")
        assert response.status_code == 200
        assert response.mimetype == "text/css"
