"""Fixtures of the UI tests: a bare Flask app with only the UI, on a fresh emulator project.

The UI is tested on its own app (not ``create_app``), so these tests need neither Kafka
nor Redis; the ingest app's fixtures of the parent directory are overridden here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ingest_service.tokens import hash_token
from ingest_service.ui import UISettings, init_app
from issue_store.client import firestore_client
from issue_store.reader import IssueReader

OPERATOR_TOKEN = "afi_operator-token-for-tests"


@pytest.fixture
def operators_file(tmp_path: Path) -> Path:
    """A tokens-format file naming operator ``alice``."""
    path = tmp_path / "operators"
    path.write_text(f"# operators\nalice {hash_token(OPERATOR_TOKEN)}\n")
    return path


@pytest.fixture
def ui_settings(firestore_project: str, operators_file: Path) -> UISettings:
    """Settings on a fresh emulator project with one operator and small pages."""
    return UISettings.from_env(
        os.environ,
        firestore_project=firestore_project,
        operators_file=str(operators_file),
        open_access=False,
        secret_key="test-secret",
        page_size=3,
    )


@pytest.fixture
def db(ui_settings: UISettings) -> object:
    """A Firestore client on the test's project."""
    issues = ui_settings.issues
    return firestore_client(issues.firestore_project, issues.firestore_emulator_host)


@pytest.fixture
def reader(db: object, ui_settings: UISettings) -> IssueReader:
    """A reader of the issues the app shows."""
    return IssueReader(db, ui_settings.issues.firestore_collection, history_limit=5)


def build_app(settings: UISettings) -> Flask:
    """A bare app serving only the UI."""
    app = Flask(__name__)
    app.config["TESTING"] = True
    init_app(app, settings)
    return app


@pytest.fixture
def app(ui_settings: UISettings) -> Flask:
    """The UI on its own app, operator login required."""
    return build_app(ui_settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client that is not logged in."""
    return app.test_client()


def csrf_of(client: FlaskClient, path: str = "/issues/login") -> str:
    """The CSRF token the page at *path* puts in its forms."""
    html = client.get(path).get_data(as_text=True)
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


@pytest.fixture
def operator(client: FlaskClient) -> FlaskClient:
    """The test client, logged in as operator ``alice``."""
    token = csrf_of(client)
    response = client.post("/issues/login", data={"csrf_token": token, "token": OPERATOR_TOKEN})
    assert response.status_code == 303
    return client
