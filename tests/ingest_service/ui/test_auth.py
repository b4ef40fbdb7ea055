"""Operator login: pages and actions need an operator unless the UI runs open."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask.testing import FlaskClient

from ingest_service.ui import UISettings
from issue_store.reader import IssueReader
from tests.ingest_service.ui.conftest import OPERATOR_TOKEN, build_app, csrf_of
from tests.issue_store import seed


class TestOperators:
    def test_pages_redirect_to_login(self, client: FlaskClient) -> None:
        """Without a session, a page sends the browser to the login form and back."""
        response = client.get("/issues?status=all")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/issues/login?next=")

    def test_login_with_operator_token_then_back(self, client: FlaskClient) -> None:
        """A valid token logs in and returns to the page asked for."""
        token = csrf_of(client)
        response = client.post(
            "/issues/login",
            data={"csrf_token": token, "token": OPERATOR_TOKEN, "next": "/issues?status=all"},
        )
        assert response.status_code == 303
        assert response.headers["Location"] == "/issues?status=all"
        assert "alice" in client.get("/issues").get_data(as_text=True)

    def test_wrong_token_is_refused(self, client: FlaskClient) -> None:
        """An unknown token stays on the login form with 401."""
        token = csrf_of(client)
        response = client.post("/issues/login", data={"csrf_token": token, "token": "nope"})
        assert response.status_code == 401
        assert client.get("/issues").status_code == 302

    def test_next_never_leaves_the_site(self, client: FlaskClient) -> None:
        """An off-site ``next`` is replaced by the issue list."""
        token = csrf_of(client)
        for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
            response = client.post(
                "/issues/login",
                data={"csrf_token": token, "token": OPERATOR_TOKEN, "next": target},
            )
            assert response.headers["Location"] == "/issues"
            client.post("/issues/logout", data={"csrf_token": csrf_of(client, "/issues")})
            token = csrf_of(client)

    def test_action_without_login_is_401(self, client: FlaskClient, db: Any) -> None:
        """A resolve with a valid CSRF token but no operator changes nothing."""
        seed.put(db, "issues", seed.issue("a"))
        token = csrf_of(client)
        assert client.post("/issues/a/resolve", data={"csrf_token": token}).status_code == 401

    def test_logout_ends_the_session(self, operator: FlaskClient) -> None:
        """After logging out pages need a login again."""
        token = csrf_of(operator, "/issues")
        assert operator.post("/issues/logout", data={"csrf_token": token}).status_code == 303
        assert operator.get("/issues").status_code == 302

    def test_open_access_records_anonymous(
        self, ui_settings: UISettings, db: Any, reader: IssueReader
    ) -> None:
        """With ``AFISSUE_UI_OPEN`` anyone acts, recorded as ``anonymous``."""
        app = build_app(dataclasses.replace(ui_settings, open_access=True, operators_file=None))
        client = app.test_client()
        seed.put(db, "issues", seed.issue("a"))
        token = csrf_of(client, "/issues/a")
        assert client.post("/issues/a/ignore", data={"csrf_token": token}).status_code == 303
        issue = reader.get("a")
        assert issue is not None
        assert issue["status_history"][-1]["by"] == "anonymous"

    def test_no_operators_configured_explains_how(self, ui_settings: UISettings) -> None:
        """Without operators and not open, the login page names the settings to use."""
        app = build_app(dataclasses.replace(ui_settings, operators_file=None))
        html = app.test_client().get("/issues/login").get_data(as_text=True)
        assert "AFISSUE_UI_OPERATORS_FILE" in html
        assert "AFISSUE_UI_OPEN" in html
