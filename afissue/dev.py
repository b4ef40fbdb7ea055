"""``afissue dev``: the whole pipeline on one machine, in one command.

Starts (or reuses) Redis and the Firestore emulator, an embedded Kafka (librdkafka's
mock cluster, which lives in this process), then the ingest API and a consumer as
child processes pointed at them, and prints one fixed-format line per component, then
the ``export`` lines a second terminal needs (``afissue issues list``, ``afissue
consumer``, a service with an ``IssueHandler``). Everything stops on Ctrl-C / SIGTERM.

Each child's output goes to ``<log dir>/<name>.log`` (the ``logs:`` line names the
directory); the consumer's and the notifier's lines are also shown in the terminal,
prefixed ``consumer | `` and ``notifier | ``, since they say what happens to the events
(each new issue, each alert delivered).

Alerts: a notifier runs beside the consumer. When no alert channel is configured
(``AFISSUE_ALERTS_FILE`` / ``AFISSUE_ALERT_WEBHOOK_URL`` unset), the stack starts a local
receiver (:mod:`afissue.dev_receiver`) and points the webhook shortcut at it with a fresh
secret, so every new issue and regression is printed as ``alert | ...``.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

from afissue.dev_receiver import AlertReceiver
from afissue.services import FirestoreEmulator, RedisServer, ServiceError
from afissue.services._process import stop_process_group, wait_until
from afissue.services.kafka_mock import MockCluster
from afissue_logging import server_env
from afissue_logging.config import from_env, setting
from consumer.settings import ConsumerSettings

__all__ = ["DevSettings", "DevStack"]


@dataclasses.dataclass(frozen=True)
class DevSettings:
    """Settings of the all-in-one local stack."""

    port: int = server_env.INGEST_PORT.field("`afissue dev`: its ingest API listens there.")
    redis_url: str | None = server_env.REDIS_URL.field(
        "`afissue dev`: unset, it starts its own redis-server.", default=None
    )
    firestore_emulator_host: str | None = server_env.FIRESTORE_EMULATOR_HOST.field(
        "`afissue dev`: unset, it starts one."
    )
    firestore_project: str = server_env.FIRESTORE_PROJECT.field("`afissue dev`.")
    firestore_collection: str = server_env.FIRESTORE_COLLECTION.field("`afissue dev`.")
    kafka_topic: str = server_env.KAFKA_TOPIC.field("`afissue dev`: created in its embedded Kafka.")
    partitions: int = setting(
        3,
        "AFISSUE_DEV_PARTITIONS",
        "Partitions of the topic in the embedded Kafka of `afissue dev`.",
    )
    alerts_file: str | None = server_env.ALERTS_FILE.field(
        "`afissue dev`: unset (and no webhook URL), alerts go to its local receiver."
    )
    alert_webhook_url: str | None = server_env.ALERT_WEBHOOK_URL.field(
        "`afissue dev`: unset (and no rules file), alerts go to its local receiver."
    )
    consumer: bool = True
    notifier: bool = True

    @classmethod
    def from_env(
        cls, environ: dict[str, str] | os._Environ[str], **overrides: object
    ) -> DevSettings:
        return from_env(cls, environ, **overrides)


def _print_line(text: str) -> None:
    """Print *text* in one write, so lines of the consumer's echo thread and the main
    thread do not interleave mid-line."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _healthy(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
        return bool(response.status == 200)


@dataclasses.dataclass
class _Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    echo: threading.Thread | None = None


class DevStack:
    """The running local stack; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        settings: DevSettings,
        *,
        log_dir: Path | None = None,
        echo: Callable[[str], None] = _print_line,
    ) -> None:
        self.settings = settings
        self._echo = echo
        self._log_dir = log_dir or Path(tempfile.mkdtemp(prefix="afissue-dev-"))
        self._redis: RedisServer | None = None
        self._firestore: FirestoreEmulator | None = None
        self._kafka: MockCluster | None = None
        self._children: list[_Child] = []
        self.alert_receiver: AlertReceiver | None = None
        self.redis_url = settings.redis_url or ""
        self.firestore_host = settings.firestore_emulator_host or ""
        self.kafka_bootstrap = ""

    @property
    def ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}"

    def child_environment(self) -> dict[str, str]:
        """The environment that points a server process at this stack."""
        env = dict(os.environ)
        env.update(
            {
                "AFISSUE_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
                "AFISSUE_KAFKA_TOPIC": self.settings.kafka_topic,
                "AFISSUE_REDIS_URL": self.redis_url,
                "FIRESTORE_EMULATOR_HOST": self.firestore_host,
                "AFISSUE_FIRESTORE_PROJECT": self.settings.firestore_project,
                "AFISSUE_FIRESTORE_COLLECTION": self.settings.firestore_collection,
                "AFISSUE_INGEST_HOST": "127.0.0.1",
                "AFISSUE_INGEST_PORT": str(self.settings.port),
            }
        )
        env.setdefault("AFISSUE_UI_OPEN", "1")  # the local stack's web UI needs no login
        env.update(self._alert_environment())
        return env

    def _alert_environment(self) -> dict[str, str]:
        """The webhook shortcut to the local receiver, when it runs."""
        if self.alert_receiver is None:
            return {}
        return {
            "AFISSUE_ALERT_WEBHOOK_URL": self.alert_receiver.url,
            "AFISSUE_ALERT_WEBHOOK_SECRET": self.alert_receiver.secret,
        }

    def exports(self) -> dict[str, str]:
        """The variables that point another terminal's commands and clients at this stack:
        ``afissue issues``, ``afissue consumer`` and the client (``AFISSUE_URL``)."""
        return {
            "AFISSUE_URL": self.ingest_url,
            "FIRESTORE_EMULATOR_HOST": self.firestore_host,
            "AFISSUE_FIRESTORE_PROJECT": self.settings.firestore_project,
            "AFISSUE_FIRESTORE_COLLECTION": self.settings.firestore_collection,
            "AFISSUE_REDIS_URL": self.redis_url,
            "AFISSUE_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "AFISSUE_KAFKA_TOPIC": self.settings.kafka_topic,
            **self._alert_environment(),
        }

    def start(self) -> DevStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        if not self.redis_url:
            self._redis = RedisServer().start()
            self.redis_url = self._redis.url
        if not self.firestore_host:
            self._firestore = FirestoreEmulator().start()
            self.firestore_host = self._firestore.host_port
        self._kafka = MockCluster(num_brokers=1)
        self.kafka_bootstrap = self._kafka.bootstrap_servers
        self._kafka.create_topic(self.settings.kafka_topic, self.settings.partitions)
        # The consumer's own reading of the environment names its dead-letter topic.
        consumer = ConsumerSettings.from_env(self.child_environment())
        self._kafka.create_topic(consumer.dead_letter_topic, self.settings.partitions)
        self._spawn("ingest", ["ingest", "--allow-open", "--workers", "1"])

        def ingest_ready() -> bool:
            self.check()  # a child that died (port taken, bad settings) fails at once
            return _healthy(f"{self.ingest_url}/api/health/live")

        wait_until(
            ingest_ready,
            60,
            f"ingest API on {self.ingest_url} (log: {self._log_dir / 'ingest.log'})",
        )
        if not (self.settings.alerts_file or self.settings.alert_webhook_url):
            self.alert_receiver = AlertReceiver(self._echo).start()
        if self.settings.consumer:
            self._spawn("consumer", ["consumer"], echo_prefix="consumer | ")
        if self.settings.notifier:
            self._spawn("notifier", ["notifier"], echo_prefix="notifier | ")
        self._echo(f"ingest: {self.ingest_url}")
        self._echo(f"kafka: {self.kafka_bootstrap}")
        self._echo(f"redis: {self.redis_url}")
        self._echo(f"firestore: {self.firestore_host}")
        if self.alert_receiver is not None:
            self._echo(
                f"alerts: {self.alert_receiver.url} (local receiver: new issues and "
                "regressions are printed as 'alert | ...')"
            )
        names = ", ".join(f"{child.name}.log" for child in self._children)
        self._echo(f"logs: {self._log_dir} ({names})")
        self._echo("# in another terminal (afissue issues list, afissue consumer, your service):")
        for name, value in self.exports().items():
            self._echo(f"export {name}={shlex.quote(value)}")

    def _spawn(self, name: str, args: list[str], *, echo_prefix: str | None = None) -> None:
        """Start ``afissue ARGS`` writing to ``<name>.log``; with *echo_prefix* its lines
        are also echoed, prefixed, as they come."""
        log_path = self._log_dir / f"{name}.log"
        log: IO[bytes] = log_path.open("ab")
        with log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "afissue", *args],
                env=self.child_environment(),
                stdout=log if echo_prefix is None else subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        child = _Child(name, proc, log_path)
        if echo_prefix is not None:
            child.echo = threading.Thread(
                target=self._tee, args=(proc, log_path, echo_prefix), name=f"afissue-dev-{name}",
                daemon=True,
            )
            child.echo.start()
        self._children.append(child)

    def _tee(self, proc: subprocess.Popen[bytes], log_path: Path, prefix: str) -> None:
        """Copy *proc*'s output to *log_path* and, line by line, to the terminal."""
        assert proc.stdout is not None
        with proc.stdout, log_path.open("ab") as log:
            for raw in proc.stdout:
                log.write(raw)
                log.flush()
                self._echo(prefix + raw.decode("utf-8", "replace").rstrip("\r\n"))

    def check(self) -> None:
        """Raise ``ServiceError`` when a child process has died."""
        for child in self._children:
            code = child.proc.poll()
            if code is not None:
                tail = child.log_path.read_text(errors="replace")[-2000:]
                raise ServiceError(
                    f"{child.name} exited with {code}; log {child.log_path}:\n{tail}"
                )

    def wait(self, stop: Callable[[], bool]) -> None:
        """Block until *stop* returns true, failing if a component dies."""
        while not stop():
            self.check()
            time.sleep(0.2)

    def stop(self) -> None:
        for child in reversed(self._children):
            stop_process_group(child.proc, timeout=15)
            if child.echo is not None:
                child.echo.join(5)  # its last lines (the shutdown) still reach the terminal
        self._children.clear()
        if self.alert_receiver is not None:
            self.alert_receiver.stop()
        if self._kafka is not None:
            self._kafka.close()
            self._kafka = None
        if self._firestore is not None:
            self._firestore.stop()
            self._firestore = None
        if self._redis is not None:
            self._redis.stop()
            self._redis = None

    def __enter__(self) -> DevStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
