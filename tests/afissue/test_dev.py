"""``afissue dev`` starts the whole pipeline in one command, prints the fixed address
lines, runs the demo, and stops everything on SIGTERM."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from afissue.demo import BURST, EXPECTED_OCCURRENCES
from afissue.services import FirestoreEmulator, free_port
from tests.pipeline import Pipeline, wait_for

ADDRESS_LINES = {
    "ingest": re.compile(r"^ingest: http://127\.0\.0\.1:(\d+)$"),
    "kafka": re.compile(r"^kafka: 127\.0\.0\.1:(\d+)$"),
    "redis": re.compile(r"^redis: redis://127\.0\.0\.1:(\d+)/0$"),
    "firestore": re.compile(r"^firestore: 127\.0\.0\.1:(\d+)$"),
}


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("AFISSUE_REDIS_URL", "FIRESTORE_EMULATOR_HOST", "AFISSUE_KAFKA_BOOTSTRAP"):
        env.pop(name, None)
    return env


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class TestDevDemo:
    def test_demo_prints_addresses_and_deduplicated_issues(self) -> None:
        """One command starts every component itself and prints the demo's issues with exact counts."""
        port = free_port()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "afissue",
                "dev",
                "--demo",
                "--exit-after-demo",
                "--port",
                str(port),
            ],
            check=False,
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        for name, pattern in ADDRESS_LINES.items():
            assert any(pattern.match(line) for line in lines), (name, result.stdout)
        assert f"ingest: http://127.0.0.1:{port}" in lines
        summary = f"({EXPECTED_OCCURRENCES} occurrences of {EXPECTED_OCCURRENCES} logged)"
        assert summary in result.stdout, result.stdout + result.stderr
        counts = [int(m) for m in re.findall(r"\s(\d+)\s+open\s", result.stdout)]
        assert sorted(counts, reverse=True)[:2] == [BURST, 7], result.stdout
        created = [line for line in lines if line.startswith("consumer | ")]
        assert any("Created issue" in line and "from Kafka" in line for line in created), (
            result.stdout
        )
        [logs] = [line for line in lines if line.startswith("logs: ")]
        log_dir = Path(logs.removeprefix("logs: ").split(" ")[0])
        assert "Created issue" in (log_dir / "consumer.log").read_text(), logs
        # Alerts: one "new issue" alert per issue reached the local receiver, signed.
        issues = int(re.findall(r"^(\d+) issues in Firestore", result.stdout, flags=re.M)[0])
        alerts = [line for line in lines if line.startswith("alert | New issue: ")]
        assert len(alerts) == issues, result.stdout
        assert f"{issues} alerts received by the local receiver" in result.stdout
        assert "Delivered alert" in (log_dir / "notifier.log").read_text()


class TestDevWithoutConsumer:
    def test_separate_consumer_fills_firestore_and_sigterm_stops_all(
        self, redis_url: str, firestore_emulator: FirestoreEmulator, firestore_project: str
    ) -> None:
        """With --no-consumer, `afissue consumer` on the printed addresses does the consuming."""
        port = free_port()
        env = _clean_env() | {
            "AFISSUE_REDIS_URL": redis_url,
            "FIRESTORE_EMULATOR_HOST": firestore_emulator.host_port,
            "AFISSUE_FIRESTORE_PROJECT": firestore_project,
        }
        dev = subprocess.Popen(
            [sys.executable, "-m", "afissue", "dev", "--no-consumer", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert dev.stdout is not None
        addresses: dict[str, str] = {}
        deadline = time.monotonic() + 120
        while len(addresses) < 4 and time.monotonic() < deadline:
            line = dev.stdout.readline().rstrip("\n")
            if not line and dev.poll() is not None:
                break
            name, _, value = line.partition(": ")
            if name in ADDRESS_LINES and ADDRESS_LINES[name].match(line):
                addresses[name] = value
        try:
            assert set(addresses) == set(ADDRESS_LINES), addresses
            assert addresses["redis"] == redis_url
            pipeline = Pipeline(
                kafka_bootstrap=addresses["kafka"],
                topic="alphafusion.issues",
                redis_url=redis_url,
                firestore_host=firestore_emulator.host_port,
                project=firestore_project,
            )
            pipeline.port = port
            status, body = pipeline.post("/api/v1/issues", {"title": "dev stack check"})
            assert status == 202, body
            pipeline.start_consumer()
            try:
                from tests.test_end_to_end import _issue

                assert wait_for(lambda: _issue(pipeline, body["issue_id"]), timeout=60), (
                    pipeline.logs()
                )
            finally:
                pipeline.stop()
        finally:
            dev.send_signal(signal.SIGTERM)
            dev.wait(60)
        assert dev.returncode == 0
        assert not _listening(port)


class TestDevExports:
    def test_export_lines_let_a_second_terminal_list_issues(
        self, redis_url: str, firestore_emulator: FirestoreEmulator, firestore_project: str
    ) -> None:
        """The printed export lines are all a second terminal needs: a client reports
        through AFISSUE_URL and `afissue issues list` then finds the issue in Firestore."""
        port = free_port()
        env = _clean_env() | {
            "AFISSUE_REDIS_URL": redis_url,
            "FIRESTORE_EMULATOR_HOST": firestore_emulator.host_port,
            "AFISSUE_FIRESTORE_PROJECT": firestore_project,
        }
        dev = subprocess.Popen(
            [sys.executable, "-m", "afissue", "dev", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert dev.stdout is not None
        exports: dict[str, str] = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = dev.stdout.readline().rstrip("\n")
            if (not line and dev.poll() is not None) or line.startswith("afissue dev is running"):
                break
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").partition("=")
                exports[name] = shlex.split(value)[0]
        # Keep reading, so the consumer's echoed lines never fill the pipe.
        drain = threading.Thread(target=dev.stdout.read, daemon=True)
        drain.start()
        try:
            assert exports["AFISSUE_URL"] == f"http://127.0.0.1:{port}"
            assert exports["AFISSUE_FIRESTORE_PROJECT"] == firestore_project
            second_terminal = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("AFISSUE_", "FIRESTORE_"))
            } | exports
            second_terminal["AFISSUE_SPOOL_DIR"] = os.environ["AFISSUE_SPOOL_DIR"]
            report = (
                "from afissue_logging import IssueTrackerClient\n"
                "client = IssueTrackerClient(service='second-terminal')\n"
                "client.log_issue('reported from a second terminal', 'via the exports')\n"
                "assert client.flush(10)\n"
            )
            subprocess.run(
                [sys.executable, "-c", report], env=second_terminal, check=True, timeout=60
            )

            def listed() -> list[str]:
                result = subprocess.run(
                    [sys.executable, "-m", "afissue", "issues", "list", "--json"],
                    env=second_terminal, capture_output=True, text=True, timeout=60, check=True,
                )
                return [row["title"] for row in json.loads(result.stdout)["issues"]]

            assert wait_for(lambda: "reported from a second terminal" in listed(), timeout=60)
        finally:
            dev.send_signal(signal.SIGTERM)
            dev.wait(60)


class TestDevPortTaken:
    def test_a_taken_port_fails_fast_with_the_ingest_log(self) -> None:
        """When the ingest port is in use, `afissue dev` exits non-zero and shows why."""
        with socket.socket() as blocker:
            blocker.bind(("127.0.0.1", 0))
            blocker.listen()
            port = blocker.getsockname()[1]
            result = subprocess.run(
                [sys.executable, "-m", "afissue", "dev", "--exit-after-demo", "--port", str(port)],
                check=False,
                env=_clean_env(),
                capture_output=True,
                text=True,
                timeout=120,
            )
        assert result.returncode == 1
        assert "afissue dev: ingest exited with" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


class TestDevAlerts:
    def test_notifier_delivers_to_the_local_receiver_which_prints_it(
        self, redis_url: str, firestore_emulator: FirestoreEmulator, firestore_project: str
    ) -> None:
        """With no alert channel configured, `afissue dev` runs a notifier and a local
        receiver: a pending alert is delivered, its signature verified, and printed."""
        from afissue.dev import DevSettings, DevStack
        from issue_store.client import firestore_client
        from tests.notifier.conftest import outbox_document

        lines: list[str] = []
        settings = DevSettings.from_env(
            {}, port=free_port(), redis_url=redis_url,
            firestore_emulator_host=firestore_emulator.host_port,
            firestore_project=firestore_project, consumer=False,
        )
        with DevStack(settings, echo=lines.append) as stack:
            assert stack.alert_receiver is not None
            assert f"alerts: {stack.alert_receiver.url}" in "\n".join(lines)
            document = outbox_document(issue="dev-issue", channels=("webhook",))
            db = firestore_client(firestore_project, firestore_emulator.host_port)
            db.collection("alerts").document(document["alert_id"]).set(document)
            assert wait_for(lambda: stack.alert_receiver and stack.alert_receiver.count(), 60), (
                "\n".join(lines)
            )
            assert wait_for(
                lambda: any(line.startswith("notifier | ") and "Delivered alert" in line
                            for line in lines), 30,
            ), "\n".join(lines)
        printed = [line for line in lines if line.startswith("alert | ")]
        assert printed == [
            "alert | New issue: ZeroDivisionError: division by zero [pricing/production] "
            f"http://127.0.0.1:{settings.port}/issues/dev-issue"
        ]
