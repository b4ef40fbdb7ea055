"""`afissue ingest` and `afissue consumer` start from exactly the environment that
docker-compose.yml gives them, with only the addresses swapped for the local test services."""

from __future__ import annotations

import http.client
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from afissue.services import FirestoreEmulator, free_port
from afissue.services._process import stop_process_group, wait_until
from tests.deploy.compose import (
    ROOT,
    bind_mounts,
    dockerfile_instructions,
    service_environment,
    services,
)
from tests.kafka_helpers import KafkaBed

#: The variable holding the port each service's compose health check calls.
_PORT_VARIABLE = {
    "ingest": "AFISSUE_INGEST_PORT",
    "consumer": "AFISSUE_CONSUMER_METRICS_PORT",
    "notifier": "AFISSUE_NOTIFIER_METRICS_PORT",
}
SERVERS = ("ingest", "consumer", "notifier")


def _servers_exist() -> bool:
    try:
        ingest = importlib.import_module("ingest_service")
        consumer = importlib.import_module("consumer")
    except ImportError:
        return False
    return hasattr(ingest, "serve") and hasattr(consumer, "run_consumer")


pytestmark = pytest.mark.skipif(
    not _servers_exist(), reason="needs ingest_service.serve and consumer.run_consumer"
)


def _afissue_script() -> str:
    """The `afissue` console script of this interpreter's environment (the image's ENTRYPOINT)."""
    beside = Path(sys.executable).with_name("afissue")
    found = str(beside) if beside.exists() else shutil.which("afissue")
    assert found, "the afissue console script is not installed"
    return found


def _base_environment(tmp: Path) -> dict[str, str]:
    """What a container has besides compose's variables: a PATH, a home, a temp dir; and
    the test run's PYTHONPATH, so that the servers run the checkout under test even where
    the installed console script belongs to another one."""
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
    }
    if os.environ.get("PYTHONPATH"):
        base["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return base


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return f"--- {self.name} ({self.log})\n" + self.log.read_text(errors="replace")[-4000:]


@dataclass
class ComposeStack:
    """Ingest, one consumer and one notifier running from compose's environment."""

    env: dict[str, dict[str, str]]
    token: str
    ingest_url: str
    metrics_url: str
    firestore_host: str
    servers: list[Server] = field(default_factory=list)

    def logs(self) -> str:
        return "\n".join(server.output() for server in self.servers)

    def server(self, name: str) -> Server:
        return next(s for s in self.servers if s.name == name)


def _http(
    url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def _status(url: str) -> int:
    return _http(url)[0]


@pytest.fixture
def compose_stack(
    tmp_path: Path,
    kafka: KafkaBed,
    redis_url: str,
    firestore_emulator: FirestoreEmulator,
    firestore_project: str,
) -> Iterator[ComposeStack]:
    """`afissue ingest`, `afissue consumer` and `afissue notifier` as compose runs them,
    on local services."""
    from ingest_service.tokens import new_token

    topic = kafka.new_topic(partitions=3)
    kafka.create_topic(f"{topic}.dlq", 3)
    token, line = new_token("deploy-test")
    tokens_file = tmp_path / "tokens"
    shipped = ROOT / "deploy" / "tokens"
    tokens_file.write_text(shipped.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
    ingest_port, metrics_port, notifier_port = free_port(), free_port(), free_port()
    local = {
        "AFISSUE_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "AFISSUE_KAFKA_TOPIC": topic,
        "AFISSUE_REDIS_URL": redis_url,
        "FIRESTORE_EMULATOR_HOST": firestore_emulator.host_port,
        "AFISSUE_FIRESTORE_PROJECT": firestore_project,
        "AFISSUE_INGEST_HOST": "127.0.0.1",
        "AFISSUE_INGEST_PORT": str(ingest_port),
        "AFISSUE_TOKENS_FILE": str(tokens_file),
        "AFISSUE_CONSUMER_GROUP": f"deploy-{uuid.uuid4().hex[:8]}",
        "AFISSUE_CONSUMER_METRICS_PORT": str(metrics_port),
        "AFISSUE_NOTIFIER_METRICS_PORT": str(notifier_port),
    }
    envs = {name: _localised(name, local) for name in SERVERS}
    # Only addresses are swapped: every local value replaces a variable compose sets.
    assert set(local) <= set(envs["ingest"]) | set(envs["consumer"]) | set(envs["notifier"])
    stack = ComposeStack(
        env=envs,
        token=token,
        ingest_url=f"http://127.0.0.1:{ingest_port}",
        metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
        firestore_host=firestore_emulator.host_port,
    )
    try:
        for name in SERVERS:
            log = tmp_path / f"{name}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [_afissue_script(), *[str(p) for p in services()[name]["command"]]],
                    env={**_base_environment(tmp_path), **envs[name]},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            stack.servers.append(Server(name, proc, log))
        try:
            wait_until(lambda: _status(f"{stack.ingest_url}/api/health/live") == 200, 60, "ingest")
            wait_until(lambda: _status(stack.metrics_url) == 200, 60, "consumer metrics")
            notifier_metrics = f"http://127.0.0.1:{notifier_port}/metrics"
            wait_until(lambda: _status(notifier_metrics) == 200, 60, "notifier metrics")
        except Exception as exc:
            raise AssertionError(f"{exc}\n{stack.logs()}") from None
        yield stack
    finally:
        for server in stack.servers:
            stop_process_group(server.proc, timeout=20)


def _localised(name: str, local: dict[str, str]) -> dict[str, str]:
    """Compose's environment of service *name*: addresses from *local*, and container paths
    of bind mounts replaced by the repository files they mount."""
    mounts = bind_mounts(name)
    env = {}
    for key, value in service_environment(name).items():
        if key in local:
            env[key] = local[key]
        elif value in mounts:
            env[key] = str(mounts[value])
        else:
            env[key] = value
    return env


def _terminate(server: Server) -> int:
    server.proc.send_signal(signal.SIGTERM)
    try:
        return server.proc.wait(60)
    except subprocess.TimeoutExpired:
        return -999


class TestServersFromComposeEnvironment:
    def test_ingest_answers_its_liveness_probe(self, compose_stack: ComposeStack) -> None:
        """Ingest serves /api/health/live on the port compose's variables name."""
        assert _status(f"{compose_stack.ingest_url}/api/health/live") == 200

    def test_image_healthcheck_passes_against_it(self, compose_stack: ComposeStack) -> None:
        """The Dockerfile's HEALTHCHECK command, run with ingest's environment, exits 0."""
        (check,) = [args for name, args in dockerfile_instructions() if name == "HEALTHCHECK"]
        command = json.loads(check.split("CMD", 1)[1].strip())
        command[0] = sys.executable
        env = {**os.environ, **compose_stack.env["ingest"]}
        assert subprocess.run(command, env=env, timeout=30, check=False).returncode == 0

    @pytest.mark.parametrize("service", SERVERS)
    def test_compose_healthcheck_passes_against_it(
        self, service: str, compose_stack: ComposeStack
    ) -> None:
        """The service's compose health check, with its port swapped for the local one, exits 0."""
        command = [str(part) for part in services()[service]["healthcheck"]["test"]]
        assert command[0] == "CMD"
        compose_port = service_environment(service)[_PORT_VARIABLE[service]]
        local_port = compose_stack.env[service][_PORT_VARIABLE[service]]
        command = [part.replace(f":{compose_port}/", f":{local_port}/") for part in command[1:]]
        command[0] = sys.executable if command[0] == "python" else command[0]
        assert subprocess.run(command, timeout=30, check=False).returncode == 0

    def test_consumer_stays_up(self, compose_stack: ComposeStack) -> None:
        """The consumer keeps running a few seconds after it came up."""
        time.sleep(3)
        consumer = compose_stack.server("consumer")
        assert consumer.proc.poll() is None, compose_stack.logs()

    def test_refuses_events_without_a_token(self, compose_stack: ComposeStack) -> None:
        """Compose's defaults authenticate: a request without a token is 401."""
        status, _ = _http(f"{compose_stack.ingest_url}/api/v1/issues", {"title": "t"})
        assert status == 401

    def test_web_ui_asks_for_an_operator_login(self, compose_stack: ComposeStack) -> None:
        """Compose's web UI is closed: an anonymous visit to /issues is sent to the login page."""
        host, port = compose_stack.ingest_url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request("GET", "/issues", headers={"Accept": "text/html"})
            response = connection.getresponse()
            location = response.getheader("Location") or ""
        finally:
            connection.close()
        assert response.status in (302, 303)
        assert location.split("?")[0].endswith("/issues/login")

    def test_an_event_reaches_firestore(self, compose_stack: ComposeStack) -> None:
        """An authenticated event goes through Kafka and the consumer into its issue document."""
        body = {
            "title": "deploy smoke",
            "description": "compose environment end to end",
            "type": "bug",
            "priority": "medium",
            "reporter_id": "tests.deploy",
        }
        status, answer = _http(
            f"{compose_stack.ingest_url}/api/v1/issues",
            body,
            {"Authorization": f"Bearer {compose_stack.token}"},
        )
        assert status == 202, answer
        env = compose_stack.env["consumer"]
        url = (
            f"http://{compose_stack.firestore_host}/v1/projects/"
            f"{env['AFISSUE_FIRESTORE_PROJECT']}/databases/(default)/documents/"
            f"{env['AFISSUE_FIRESTORE_COLLECTION']}/{answer['issue_id']}"
        )

        def stored() -> bool:
            code, doc = _http(url, headers={"Authorization": "Bearer owner"})
            return code == 200 and doc["fields"]["count"]["integerValue"] == "1"

        try:
            wait_until(stored, 60, f"issue {answer['issue_id']} in Firestore")
        except Exception as exc:
            raise AssertionError(f"{exc}\n{compose_stack.logs()}") from None

    def test_all_exit_cleanly_on_sigterm(self, compose_stack: ComposeStack) -> None:
        """SIGTERM, what `docker compose stop` sends, stops ingest, consumer and notifier
        with status 0."""
        codes = {server.name: _terminate(server) for server in compose_stack.servers}
        assert codes == {"ingest": 0, "consumer": 0, "notifier": 0}, compose_stack.logs()
