"""CSRF: every form post carries the session's token; others are refused with 403."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask
from flask.testing import FlaskClient

from issue_store.reader import IssueReader
from tests.ingest_service.ui.conftest import OPERATOR_TOKEN, csrf_of
from tests.issue_store import seed


class TestCsrf:
    def test_action_without_token_is_403(
        self, operator: FlaskClient, db: Any, reader: IssueReader
    ) -> None:
        """A resolve without the token is refused and changes nothing."""
        seed.put(db, "issues", seed.issue("a"))
        response = operator.post("/issues/a/resolve", data={})
        assert response.status_code == 403
        assert "CSRF" in response.get_data(as_text=True)
        issue = reader.get("a")
        assert issue is not None and issue["status"] == "open"

    def test_action_with_wrong_token_is_403(self, operator: FlaskClient, db: Any) -> None:
        """A token from elsewhere is refused."""
        seed.put(db, "issues", seed.issue("a"))
        response = operator.post("/issues/a/resolve", data={"csrf_token": "forged"})
        assert response.status_code == 403

    def test_login_form_needs_the_token(self, client: FlaskClient) -> None:
        """Login itself is CSRF-protected (no logging a victim into an attacker's account)."""
        response = client.post("/issues/login", data={"token": OPERATOR_TOKEN})
        assert response.status_code == 403

    def test_token_changes_at_login(self, client: FlaskClient) -> None:
        """A token seen before login is useless after it."""
        before = csrf_of(client)
        client.post("/issues/login", data={"csrf_token": before, "token": OPERATOR_TOKEN})
        assert csrf_of(client, "/issues") != before

    def test_other_blueprints_are_not_affected(self, app: Flask) -> None:
        """An API blueprint on the same app takes JSON posts without any token."""
        api = Blueprint("api_probe", __name__)

        @api.post("/api/v1/probe")
        def probe() -> dict[str, bool]:
            return {"ok": True}

        app.register_blueprint(api)
        response = app.test_client().post("/api/v1/probe", json={})
        assert response.status_code == 200
