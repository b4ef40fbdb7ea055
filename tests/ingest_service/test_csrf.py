"""CSRF: the API is exempt, browser forms are not."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask

from ingest_service import IngestSettings
from ingest_service.csrf import CSRFProtect
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

    def test_form_posts_need_the_session_token(
        self, make_app: Any, settings: IngestSettings
    ) -> None:
        """A non-exempt blueprint's POST is 400 without the token and passes with it."""
        app: Flask = make_app(settings)
        forms = Blueprint("forms", __name__)

        @forms.post("/form")
        def form() -> str:
            return "done"

        @forms.get("/form")
        def page() -> str:
            token: str = app.jinja_env.globals["csrf_token"]()  # type: ignore[operator]
            return token

        app.register_blueprint(forms)
        client = app.test_client()

        refused = client.post("/form", data={"x": "1"})
        token = client.get("/form").get_data(as_text=True)
        allowed = client.post("/form", data={"csrf_token": token})

        assert refused.status_code == 400
        assert refused.get_json()["error"]["field"] == "csrf_token"
        assert allowed.status_code == 200
        assert isinstance(app.extensions["afissue_csrf"], CSRFProtect)
