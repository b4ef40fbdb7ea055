"""firestore.rules on the real emulator: clients cannot write issues (or anything); only
signed-in operators read issues; the server SDKs' admin access still writes."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from afissue.services import FirestoreEmulator
from tests.deploy.compose import ROOT

RULES = ROOT / "firestore.rules"
#: What the server SDKs send to the emulator: admin access, rules bypassed.
ADMIN = {"Authorization": "Bearer owner"}


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _id_token(project: str, **claims: Any) -> dict[str, str]:
    """A header with an unsigned Firebase ID token, which the emulator accepts as a signed-in user."""
    now = int(time.time())
    payload = {
        "iss": f"https://securetoken.google.com/{project}",
        "aud": project,
        "iat": now,
        "exp": now + 3600,
        "auth_time": now,
        "sub": "operator-1",
        "user_id": "operator-1",
        "firebase": {"sign_in_provider": "custom", "identities": {}},
        **claims,
    }
    return {"Authorization": f"Bearer {_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."}


class Emulator:
    """REST access to one project of an emulator with the repository's rules loaded."""

    def __init__(self, host_port: str, project: str) -> None:
        self.base = f"http://{host_port}"
        self.project = project

    def load_rules(self, text: str) -> None:
        body = {"rules": {"files": [{"name": "firestore.rules", "content": text}]}}
        status, _ = self._send(
            "PUT", f"/emulator/v1/projects/{self.project}:securityRules", body, {}
        )
        assert status == 200

    def create(self, path: str, doc_id: str, headers: dict[str, str]) -> tuple[int, Any]:
        body = {"fields": {"count": {"integerValue": "1"}, "title": {"stringValue": "x"}}}
        return self._send("POST", f"{self._docs}/{path}?documentId={doc_id}", body, headers)

    def update(self, path: str, headers: dict[str, str]) -> tuple[int, Any]:
        body = {"fields": {"count": {"integerValue": "1000000"}}}
        return self._send("PATCH", f"{self._docs}/{path}", body, headers)

    def delete(self, path: str, headers: dict[str, str]) -> tuple[int, Any]:
        return self._send("DELETE", f"{self._docs}/{path}", None, headers)

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, Any]:
        return self._send("GET", f"{self._docs}/{path}", None, headers)

    @property
    def _docs(self) -> str:
        return f"/v1/projects/{self.project}/databases/(default)/documents"

    def _send(
        self, method: str, path: str, body: Any, headers: dict[str, str]
    ) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json", **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")


@pytest.fixture(scope="module")
def rules_emulator() -> Iterator[FirestoreEmulator]:
    """An emulator of this module's own, so that loading rules touches no other test."""
    with FirestoreEmulator() as emulator:
        yield emulator


@pytest.fixture
def emulator(rules_emulator: FirestoreEmulator) -> Emulator:
    """A fresh project with firestore.rules loaded and one issue written by an admin."""
    api = Emulator(rules_emulator.host_port, f"rules-{uuid.uuid4().hex[:10]}")
    api.load_rules(RULES.read_text(encoding="utf-8"))
    status, _ = api.create("issues", "existing", ADMIN)
    assert status == 200
    return api


def _denied(result: tuple[int, Any]) -> bool:
    status, body = result
    return status == 403 and body.get("error", {}).get("status") == "PERMISSION_DENIED"


class TestClientWrites:
    def test_unauthenticated_client_cannot_create_an_issue(self, emulator: Emulator) -> None:
        """A write without credentials is refused with PERMISSION_DENIED."""
        assert _denied(emulator.create("issues", "forged", {}))

    def test_unauthenticated_client_cannot_change_an_issue(self, emulator: Emulator) -> None:
        """An anonymous update of an existing issue's count is refused."""
        assert _denied(emulator.update("issues/existing", {}))

    def test_unauthenticated_client_cannot_delete_an_issue(self, emulator: Emulator) -> None:
        """An anonymous delete of an issue is refused."""
        assert _denied(emulator.delete("issues/existing", {}))

    def test_operator_cannot_write_either(self, emulator: Emulator) -> None:
        """Even a signed-in operator cannot create or change issues: only the consumer writes."""
        operator = _id_token(emulator.project, afissue_operator=True)
        assert _denied(emulator.create("issues", "forged", operator))
        assert _denied(emulator.update("issues/existing", operator))

    def test_client_cannot_write_occurrences(self, emulator: Emulator) -> None:
        """The occurrences subcollection is closed to client writes too."""
        assert _denied(emulator.create("issues/existing/occurrences", "00", {}))

    def test_client_cannot_write_other_collections(self, emulator: Emulator) -> None:
        """Collections the rules do not name, like the consumer's checkpoints, are closed."""
        assert _denied(emulator.create("issues_checkpoints", "p0", {}))
        assert _denied(emulator.create("anything", "x", {}))


class TestAdminWrites:
    def test_admin_write_succeeds(self, emulator: Emulator) -> None:
        """The privileged access the server SDKs use still writes through the rules."""
        status, body = emulator.create("issues", "by-admin", ADMIN)
        assert status == 200
        assert body["name"].endswith("/documents/issues/by-admin")


    def test_consumer_client_writes_through_the_rules(
        self, emulator: Emulator, rules_emulator: FirestoreEmulator
    ) -> None:
        """The consumer's own Firestore client writes issues and checkpoints with the rules loaded,
        as in the compose stack."""
        from consumer.settings import ConsumerSettings
        from issue_store.client import firestore_client

        settings = ConsumerSettings(
            firestore_project=emulator.project, firestore_emulator_host=rules_emulator.host_port
        )
        db = firestore_client(settings.firestore_project, settings.firestore_emulator_host)
        db.collection(settings.firestore_collection).document("by-consumer").set({"count": 3})
        db.collection(settings.checkpoint_collection).document("p0").set({"next_offset": 1})
        status, body = emulator.get("issues/by-consumer", ADMIN)
        assert status == 200
        assert body["fields"]["count"] == {"integerValue": "3"}


class TestReads:
    def test_operator_reads_issues(self, emulator: Emulator) -> None:
        """A signed-in user with the afissue_operator claim can read an issue."""
        status, body = emulator.get(
            "issues/existing", _id_token(emulator.project, afissue_operator=True)
        )
        assert status == 200
        assert body["fields"]["count"] == {"integerValue": "1"}

    def test_signed_in_user_without_the_claim_cannot_read(self, emulator: Emulator) -> None:
        """Being signed in is not enough: the operator claim is required."""
        assert _denied(emulator.get("issues/existing", _id_token(emulator.project)))

    def test_unauthenticated_client_cannot_read(self, emulator: Emulator) -> None:
        """Issues are not public."""
        assert _denied(emulator.get("issues/existing", {}))

    def test_operator_cannot_read_checkpoints(self, emulator: Emulator) -> None:
        """The consumer's checkpoints are internal, even for operators."""
        operator = _id_token(emulator.project, afissue_operator=True)
        assert _denied(emulator.get("issues_checkpoints/p0", operator))


class TestFirebaseConfig:
    def test_references_the_rules_and_indexes_files(self) -> None:
        """firebase.json deploys firestore.rules and firestore.indexes.json, and both exist."""
        config = json.loads((ROOT / "firebase.json").read_text())["firestore"]
        assert config == {"rules": "firestore.rules", "indexes": "firestore.indexes.json"}
        assert (ROOT / config["rules"]).is_file()
        assert (ROOT / config["indexes"]).is_file()
