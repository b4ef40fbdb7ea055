"""Authentication: the bearer token decides the service."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ingest_service import IngestSettings
from ingest_service.tokens import new_token
from tests.ingest_service.conftest import SEED_BODY
from tests.kafka_helpers import KafkaBed

URL = "/api/v1/issues"


@pytest.fixture
def tokens(tmp_path: Path) -> dict[str, str]:
    """A tokens file with two services; returns service -> plaintext token."""
    issued = {service: new_token(service) for service in ("checkout", "billing")}
    path = tmp_path / "tokens"
    path.write_text(
        "# service sha256\n" + "".join(line + "\n" for _, line in issued.values())
    )
    return {service: token for service, (token, _) in issued.items()} | {"_file": str(path)}


@pytest.fixture
def secured(make_app: Any, settings: IngestSettings, tokens: dict[str, str]) -> FlaskClient:
    """A client of an app that requires tokens."""
    app: Flask = make_app(
        dataclasses.replace(settings, allow_open=False, tokens_file=tokens["_file"])
    )
    return app.test_client()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class TestAuthentication:
    """401 and 403 answers, and the token's service on the event."""

    def test_missing_token_is_401(self, secured: FlaskClient) -> None:
        """No Authorization header is 401 naming the header."""
        response = secured.post(URL, json=SEED_BODY)

        assert response.status_code == 401
        assert response.get_json()["error"]["field"] == "Authorization"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")

    def test_unknown_token_is_401(self, secured: FlaskClient) -> None:
        """A token that is not in the file is 401 'unknown token'."""
        response = secured.post(URL, json=SEED_BODY, headers=_bearer("afi_nope"))

        assert response.status_code == 401
        assert response.get_json()["error"]["message"] == "unknown token"

    def test_non_bearer_scheme_is_401(self, secured: FlaskClient, tokens: dict[str, str]) -> None:
        """Basic or bare tokens are refused."""
        response = secured.post(
            URL, json=SEED_BODY, headers={"Authorization": f"Basic {tokens['checkout']}"}
        )

        assert response.status_code == 401

    def test_token_decides_the_service(
        self, secured: FlaskClient, tokens: dict[str, str], kafka: KafkaBed, kafka_topic: str
    ) -> None:
        """An event without a service gets the token's service."""
        response = secured.post(URL, json=SEED_BODY, headers=_bearer(tokens["billing"]))

        assert response.status_code == 202
        [message] = kafka.read_all(kafka_topic, 1)
        assert json.loads(message.value())["service"] == "billing"

    def test_service_mismatch_is_403(self, secured: FlaskClient, tokens: dict[str, str]) -> None:
        """A body naming another service than the token's is 403 naming service."""
        response = secured.post(
            URL, json={**SEED_BODY, "service": "checkout"}, headers=_bearer(tokens["billing"])
        )

        assert response.status_code == 403
        error = response.get_json()["error"]
        assert error["field"] == "service"
        assert error["message"] == (
            "service 'checkout' does not match the token's service 'billing'"
        )

    def test_batch_item_with_another_service_is_rejected_alone(
        self, secured: FlaskClient, tokens: dict[str, str]
    ) -> None:
        """In a batch only the mismatching item is rejected."""
        events = [SEED_BODY, {**SEED_BODY, "service": "checkout"}]

        response = secured.post(URL, json={"events": events}, headers=_bearer(tokens["billing"]))

        assert response.status_code == 202
        results = response.get_json()["results"]
        assert [r["status"] for r in results] == ["accepted", "rejected"]
        assert results[1]["error"]["field"] == "events[1].service"

    def test_tokens_file_changes_are_picked_up(
        self, secured: FlaskClient, tokens: dict[str, str]
    ) -> None:
        """A token appended to the file works without a restart."""
        token, line = new_token("search")
        with open(tokens["_file"], "a", encoding="utf-8") as handle:
            handle.write(line + "  \n")

        assert secured.post(URL, json=SEED_BODY, headers=_bearer(token)).status_code == 202


class TestTokensFileReload:
    """The app reloads the tokens file without keeping revoked tokens alive."""

    def test_revoking_with_a_malformed_line_left_in_the_file_is_401(
        self, make_app: Any, settings: IngestSettings, tmp_path: Path
    ) -> None:
        """The revoked token is refused; the token of an intact line still posts."""
        revoked, revoked_line = new_token("checkout")
        kept, kept_line = new_token("billing")
        path = tmp_path / "tokens"
        path.write_text(f"{revoked_line}\n{kept_line}\n")
        app: Flask = make_app(
            dataclasses.replace(settings, allow_open=False, tokens_file=str(path))
        )
        client = app.test_client()
        assert client.post(URL, json=SEED_BODY, headers=_bearer(revoked)).status_code == 202

        path.write_text(f"{kept_line}\ncheckout {revoked_line.split()[1][:-1]}\n")
        time.sleep(1.1)  # past the store's recheck interval (a known token does not look)

        refused = client.post(URL, json=SEED_BODY, headers=_bearer(revoked))
        assert refused.status_code == 401, refused.get_data(as_text=True)
        assert client.post(URL, json=SEED_BODY, headers=_bearer(kept)).status_code == 202

    def test_unreadable_tokens_file_is_503_and_not_ready(
        self, make_app: Any, settings: IngestSettings, tmp_path: Path
    ) -> None:
        """No token is accepted while the file cannot be read; clients are told to retry
        (503 + Retry-After, so they keep their events) and readiness fails."""
        token, line = new_token("checkout")
        path = tmp_path / "tokens"
        path.write_text(line + "\n")
        app: Flask = make_app(
            dataclasses.replace(settings, allow_open=False, tokens_file=str(path))
        )
        client = app.test_client()
        path.unlink()
        path.mkdir()
        time.sleep(1.1)  # past the store's recheck interval

        response = client.post(URL, json=SEED_BODY, headers=_bearer(token))

        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.headers["Retry-After"]
        assert response.get_json()["error"]["field"] == "Authorization"
        ready = client.get("/api/health/ready")
        assert ready.status_code == 503
        assert ready.get_json()["dependencies"]["tokens"]["ok"] is False
