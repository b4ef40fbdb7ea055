"""CSRF: the API is exempt, browser forms are not."""

from __future__ import annotations

from typing import Any

from flask import Flask

from ingest_service import IngestSettings
from tests.ingest_service.conftest import SEED_BODY


class TestCSRF:
    """The CSRF hook of create_app."""

    def test_api_post_needs_no_csrf_token(self, make_app: Any, settings: IngestSettings) -> None:
        """POST /api/v1/issues works without any CSRF token (it is token-authenticated)."""
        app: Flask = make_app(settings)

        assert app.test_client().post("/api/v1/issues", json=SEED_BODY).status_code == 202

    def test_web_ui_mounts_beside_the_api(self, make_app: Any, settings: IngestSettings) -> None:
        """With UI settings the app serves /issues too; the API and /issues/recent are
        unchanged and still CSRF-exempt."""
        from ingest_service.ui.settings import UISettings

        app: Flask = make_app(settings, ui_settings=UISettings.from_env({}))
        client = app.test_client()

        assert client.get("/issues/login").status_code == 200
        recent = client.get("/issues/recent", headers={"Accept": "application/json"})
        assert recent.status_code == 200
        assert client.post("/api/v1/issues", json=SEED_BODY).status_code == 202

    def test_no_csrf_hook_runs_on_api_requests(self, make_app: Any, settings: IngestSettings) -> None:
        """The app installs no request hook for CSRF: nothing runs on every API POST that
        protects nothing (the UI's forms carry and check their own token)."""
        app: Flask = make_app(settings)
        hooks = [f.__qualname__ for funcs in app.before_request_funcs.values() for f in funcs]
        assert not [name for name in hooks if "csrf" in name.lower() or "protect" in name.lower()]
        assert "afissue_csrf" not in app.extensions
