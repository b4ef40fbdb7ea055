"""Runs the real servers as child processes, the way they are deployed:
``afissue ingest`` (gunicorn) and ``afissue consumer``, configured by environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from afissue.services import free_port
from afissue.services._process import stop_process_group, wait_until


class Pipeline:
    """Ingest + consumers against the given Kafka, Redis and Firestore project."""

    def __init__(
        self, *, kafka_bootstrap: str, topic: str, redis_url: str, firestore_host: str, project: str
    ) -> None:
        self.port = free_port()
        self.env = dict(os.environ)
        self.env.update(
            {
                "AFISSUE_KAFKA_BOOTSTRAP": kafka_bootstrap,
                "AFISSUE_KAFKA_TOPIC": topic,
                "AFISSUE_REDIS_URL": redis_url,
                "FIRESTORE_EMULATOR_HOST": firestore_host,
                "AFISSUE_FIRESTORE_PROJECT": project,
                "AFISSUE_CONSUMER_GROUP": f"group-{project}",
                "AFISSUE_INGEST_HOST": "127.0.0.1",
                "AFISSUE_INGEST_PORT": str(self.port),
            }
        )
        self.project = project
        self._logs = Path(tempfile.mkdtemp(prefix="afissue-pipeline-"))
        self._procs: list[subprocess.Popen[bytes]] = []
        self.urls: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self._logs / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "afissue", *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._procs.append(proc)
        return proc

    def start_ingest(self, port: int | None = None) -> str:
        """Start one ingest server (gunicorn, 2 workers); its base URL."""
        port = port or self.port
        self._spawn(
            f"ingest-{port}", "ingest", "--allow-open", "--workers", "2", "--port", str(port)
        )
        url = f"http://127.0.0.1:{port}"
        self.urls.append(url)
        wait_until(lambda: _live(url), 60, f"ingest on {url}; logs in {self._logs}")
        return url

    def start_consumer(self) -> subprocess.Popen[bytes]:
        return self._spawn(f"consumer-{len(self._procs)}", "consumer")

    def post(
        self, path: str, body: Any, headers: dict[str, str] | None = None, base: str | None = None
    ) -> tuple[int, Any]:
        request = urllib.request.Request(
            (base or self.url) + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        return _send(request)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        return _send(urllib.request.Request(self.url + path, headers=headers or {}))

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self._logs.glob("*.log"))
        )

    def stop(self) -> None:
        for proc in self._procs:
            stop_process_group(proc, timeout=20)
        self._procs.clear()


@contextmanager
def running_pipeline(
    *,
    kafka_bootstrap: str,
    topic: str,
    redis_url: str,
    firestore_host: str,
    project: str,
    ingests: int = 1,
    consumers: int = 1,
) -> Iterator[Pipeline]:
    """*ingests* ingest servers and *consumers* consumers; their logs are printed on failure."""
    pipeline = Pipeline(
        kafka_bootstrap=kafka_bootstrap,
        topic=topic,
        redis_url=redis_url,
        firestore_host=firestore_host,
        project=project,
    )
    try:
        for index in range(ingests):
            pipeline.start_ingest(None if index == 0 else free_port())
        for _ in range(consumers):
            pipeline.start_consumer()
        yield pipeline
    except BaseException:
        print(pipeline.logs())
        raise
    finally:
        pipeline.stop()


def _live(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/api/health/live", timeout=2) as response:
        return bool(response.status == 200)


def _send(request: urllib.request.Request) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_for(predicate: Any, timeout: float = 60.0, interval: float = 0.3) -> Any:
    """Poll *predicate* until it returns a truthy value; that value, or the last one."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def service_issues(pipeline: Pipeline, service: str) -> list[dict[str, Any]]:
    """The issue documents of *service* in *pipeline*'s Firestore, each with its ``id``."""
    from issue_store.client import firestore_client

    db = firestore_client(pipeline.project, pipeline.env["FIRESTORE_EMULATOR_HOST"])
    issues = [s.to_dict() | {"id": s.id} for s in db.collection("issues").stream()]
    return [issue for issue in issues if issue.get("service") == service]
