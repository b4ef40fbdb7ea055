"""serve(): gunicorn serves the very app the API routes are registered on."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from afissue.services import free_port
from afissue.services._process import stop_process_group
from ingest_service import IngestConfigError, IngestSettings
from ingest_service.server import check_startable
from ingest_service.tokens import new_token
from tests.ingest_service.conftest import SEED_BODY
from tests.kafka_helpers import KafkaBed

_SERVE = (
    "import os; from ingest_service import IngestSettings, serve; "
    "serve(IngestSettings.from_env(os.environ))"
)


def _wait_live(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/api/health/live", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not come up")


@pytest.fixture
def served(
    kafka: KafkaBed, kafka_topic: str, redis_url: str, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """``serve()`` running in a child process (2 workers); yields (base url, token)."""
    token, line = new_token("checkout")
    tokens = tmp_path / "tokens"
    tokens.write_text(line + "\n")
    port = free_port()
    env = {
        **os.environ,
        "AFISSUE_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "AFISSUE_KAFKA_TOPIC": kafka_topic,
        "AFISSUE_REDIS_URL": redis_url,
        "AFISSUE_TOKENS_FILE": str(tokens),
        "AFISSUE_INGEST_PORT": str(port),
        "AFISSUE_INGEST_WORKERS": "2",
        "AFISSUE_INGEST_THREADS": "4",
    }
    proc = subprocess.Popen([sys.executable, "-c", _SERVE], env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_live(url, proc)
        yield url, token
    finally:
        stop_process_group(proc, timeout=30)


def _post(url: str, body: object, token: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"{url}/api/v1/issues", data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class TestServe:
    """The production server as ``afissue ingest`` runs it."""

    def test_api_route_is_live_on_the_served_app(
        self, served: tuple[str, str], kafka: KafkaBed, kafka_topic: str
    ) -> None:
        """The seed body POSTed to gunicorn is answered 202 and is on the topic."""
        url, token = served

        status, body = _post(url, SEED_BODY, token)

        assert status == 202, body
        [message] = kafka.read_all(kafka_topic, 1)
        assert message.key().decode() == body["issue_id"]
        assert json.loads(message.value())["service"] == "checkout"

    def test_metrics_sum_every_worker(self, served: tuple[str, str]) -> None:
        """/metrics counts the events accepted by all workers, whichever one answers."""
        url, token = served
        for _ in range(6):
            assert _post(url, SEED_BODY, token)[0] == 202

        scrapes = []
        for _ in range(4):
            with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
                scrapes.append(response.read().decode())

        for text in scrapes:
            assert "afissue_ingest_events_accepted_total 6.0" in text

    def test_web_ui_is_served_next_to_the_api(self, served: tuple[str, str]) -> None:
        """serve() mounts the web UI (its login page answers) and keeps /issues/recent."""
        url, _ = served

        with urllib.request.urlopen(f"{url}/issues/login", timeout=10) as login:
            assert login.status == 200
        request = urllib.request.Request(
            f"{url}/issues/recent", headers={"Accept": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as recent:
            assert "issues" in json.loads(recent.read())

    def test_served_app_requires_the_token(self, served: tuple[str, str]) -> None:
        """Without a token the served app answers 401."""
        url, _ = served

        status, body = _post(url, SEED_BODY, None)

        assert status == 401
        assert body["error"]["field"] == "Authorization"

    def test_sigterm_stops_the_server_cleanly(
        self, kafka: KafkaBed, kafka_topic: str, redis_url: str
    ) -> None:
        """serve() returns (exit code 0) on SIGTERM."""
        port = free_port()
        env = {
            **os.environ,
            "AFISSUE_KAFKA_BOOTSTRAP": kafka.bootstrap,
            "AFISSUE_KAFKA_TOPIC": kafka_topic,
            "AFISSUE_REDIS_URL": redis_url,
            "AFISSUE_ALLOW_OPEN": "1",
            "AFISSUE_INGEST_PORT": str(port),
            "AFISSUE_INGEST_WORKERS": "1",
        }
        proc = subprocess.Popen([sys.executable, "-c", _SERVE], env=env, start_new_session=True)
        try:
            _wait_live(f"http://127.0.0.1:{port}", proc)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _socket_inodes(port: int, state: str) -> set[str]:
    """Inodes of the TCP sockets on local *port* in *state* (hex, as in /proc/net/tcp)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                    inodes.add(fields[9])
    return inodes


def _established_per_pid(port: int, pids: list[int]) -> dict[int, int]:
    """Established TCP connections to local *port* held by each of *pids* (from /proc)."""
    inodes = _socket_inodes(port, "01")  # ESTABLISHED
    counts = {}
    for pid in pids:
        held = 0
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                held += 1
        counts[pid] = held
    return counts


def _stalled_post(port: int, token: str) -> tuple[socket.socket, bytes]:
    """A connection whose POST lacks its last body byte (a thread waits on it); returns
    the socket and the missing byte."""
    body = json.dumps(SEED_BODY).encode()
    head = (
        f"POST /api/v1/issues HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(head + body[:-1])
    return sock, body[-1:]


def _status_of(sock: socket.socket) -> int:
    reply = b""
    while b"\r\n" not in reply:
        chunk = sock.recv(4096)
        if not chunk:
            break
        reply += chunk
    return int(reply.split(b" ", 2)[1])


class TestWorkerBalance:
    """A worker takes a new connection only while one of its threads is idle."""

    def test_busy_worker_leaves_new_connections_to_the_idle_one(
        self, served: tuple[str, str]
    ) -> None:
        """Eight stalled requests on 2 workers x 4 threads occupy exactly 4 threads in each
        worker; a ninth waits for a free thread rather than queueing behind busy ones, and
        is answered once one frees up."""
        url, token = served
        port = int(url.rsplit(":", 1)[1])
        master = _server_pid(port)
        children = Path(f"/proc/{master}/task/{master}/children")
        # The server answers as soon as its first worker is up; wait for the second.
        _wait_for(lambda: len(children.read_text().split()) == 2)
        workers = [int(pid) for pid in children.read_text().split()]
        stalled = []
        try:
            for _ in range(8):
                stalled.append(_stalled_post(port, token))
                time.sleep(0.05)
            _wait_for(lambda: sum(_established_per_pid(port, workers).values()) == 8)

            assert sorted(_established_per_pid(port, workers).values()) == [4, 4]

            extra, last = _stalled_post(port, token)
            stalled.append((extra, last))
            extra.sendall(last)  # complete: only a free thread can take it
            time.sleep(0.5)
            assert sorted(_established_per_pid(port, workers).values()) == [4, 4]

            first, first_last = stalled.pop(0)
            first.sendall(first_last)
            assert _status_of(first) == 202
            first.close()
            assert _status_of(extra) == 202
            stalled.remove((extra, last))
            extra.close()
        finally:
            for sock, missing in stalled:
                with contextlib.suppress(OSError):
                    sock.sendall(missing)
                sock.close()


def _server_pid(port: int) -> int:
    """The gunicorn master listening on *port* (the only listener; from /proc)."""
    listening = _socket_inodes(port, "0A")  # LISTEN
    holders = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            targets = {os.readlink(fd) for fd in (proc / "fd").iterdir()}
        except OSError:
            continue
        if any(f"socket:[{inode}]" in targets for inode in listening):
            holders.add(int(proc.name))
    # The master and its workers share the listener; the master is the parent of the others.
    [master] = [pid for pid in holders if _parent(pid) not in holders]
    return master


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rpartition(")")[2].split()[1])


def _wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


class TestCheckStartable:
    """serve() refuses to run open unless told so."""

    def test_no_tokens_and_not_open_is_refused(self) -> None:
        """Without a tokens file and allow_open, startup fails with a clear error."""
        with pytest.raises(IngestConfigError, match="AFISSUE_TOKENS_FILE"):
            check_startable(IngestSettings.from_env({}))

    def test_allow_open_is_accepted(self) -> None:
        """allow_open explicitly permits running without tokens."""
        check_startable(IngestSettings.from_env({"AFISSUE_ALLOW_OPEN": "1"}))

    def test_unreadable_tokens_file_is_refused(self, tmp_path: Path) -> None:
        """A tokens file that cannot be read is a startup error naming the file."""
        missing = tmp_path / "nope"
        with pytest.raises(IngestConfigError, match="nope"):
            check_startable(IngestSettings.from_env({}, tokens_file=str(missing)))
