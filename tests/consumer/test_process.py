"""``python -m consumer`` processes: SIGTERM drains, ``kill -9`` loses and doubles nothing."""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis

from consumer.settings import ConsumerSettings
from tests.consumer.helpers import (
    ConsumerProcess,
    make_event,
    processes,
    produce,
    running,
    settings_env,
    wait_counts,
    wait_for,
)


def _markers(settings: ConsumerSettings) -> int:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        return len(client.keys("afissue:evt:*"))
    finally:
        client.close()


class TestSignals:
    """Process signals."""

    def test_sigterm_flushes_commits_and_exits(
        self, settings: ConsumerSettings, db: Any, tmp_path: Path
    ) -> None:
        """SIGTERM writes the pending window before exiting 0, long before its flush was due."""
        settings = dataclasses.replace(settings, flush_interval=3600.0)
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [make_event("issue-a", count=2) for _ in range(20)])
        with processes(tmp_path) as started:
            started.append(process := ConsumerProcess(settings, tmp_path))
            wait_for(lambda: _markers(settings) == 20, 60, "all events claimed")
            assert process.terminate() == 0
        wait_counts(db, settings, {"issue-a": 40}, timeout=10)
        assert "Created issue issue-a from Kafka" in process.log()


class TestKill9:
    """``kill -9`` at any moment."""

    def test_redelivery_after_kill_before_flush_is_counted_once(
        self, settings: ConsumerSettings, db: Any, tmp_path: Path
    ) -> None:
        """Records claimed but not flushed by a killed consumer count once on redelivery."""
        retried = make_event("issue-b")
        events = [make_event("issue-a") for _ in range(25)] + [retried, retried]
        produce(settings.kafka_bootstrap, settings.kafka_topic, events)
        with processes(tmp_path) as started:
            started.append(
                process := ConsumerProcess(
                    dataclasses.replace(settings, flush_interval=3600.0), tmp_path
                )
            )
            wait_for(lambda: _markers(settings) == 26, 60, "all events claimed")
            process.kill9()
        with running(settings) as worker:
            wait_counts(db, settings, {"issue-a": 25, "issue-b": 1})
            assert worker.metric("afissue_consumer_redeliveries_total") == 26
            assert worker.metric("afissue_consumer_duplicates_total") == 1

    def test_repeated_kills_during_a_stream(
        self, settings: ConsumerSettings, db: Any, tmp_path: Path
    ) -> None:
        """Consumers killed at random points while events stream in leave exact counts."""
        settings = dataclasses.replace(settings, flush_interval=0.3)
        rng = random.Random(5)
        expected: dict[str, int] = {}
        with processes(tmp_path) as started:
            for _round in range(3):
                started.append(process := ConsumerProcess(settings, tmp_path))
                events = [make_event(f"issue-{rng.randrange(6)}", count=rng.randint(1, 3))
                          for _ in range(300)]
                for event in events:
                    expected[event["issue_id"]] = expected.get(event["issue_id"], 0) + event["count"]
                resent = rng.sample(events, 30)
                produce(settings.kafka_bootstrap, settings.kafka_topic, events + resent)
                process.wait_assigned()
                wait_for(lambda: rng.random() < 0.3, 10, "a random moment")
                process.kill9()
            started.append(ConsumerProcess(settings, tmp_path))
            wait_counts(db, settings, expected, timeout=120)


class TestDeployedEntryPoint:
    """``afissue consumer``, what the Dockerfile and docker-compose run."""

    @staticmethod
    def _start(settings: ConsumerSettings, log_path: Path, **env: str) -> subprocess.Popen[bytes]:
        """``afissue consumer`` on *settings*, its output in *log_path*; AFISSUE_LOG_LEVEL
        only when given in *env*."""
        inherited = {k: v for k, v in os.environ.items() if k != "AFISSUE_LOG_LEVEL"}
        with open(log_path, "wb") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "afissue", "consumer"],
                env={**inherited, **settings_env(settings), **env},
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes]) -> int:
        """SIGTERM, then SIGKILL if it does not exit in time; the exit status."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
            raise

    def test_logs_each_new_issue_like_python_m_consumer(
        self, settings: ConsumerSettings, db: Any, tmp_path: Path
    ) -> None:
        """Its output has the 'Created issue ... from Kafka' line of a new issue, timestamped
        and levelled like ``python -m consumer``'s, at the default (info) level."""
        log_path = tmp_path / "afissue-consumer.log"
        proc = self._start(settings, log_path)
        try:
            produce(settings.kafka_bootstrap, settings.kafka_topic, [make_event("issue-log")])
            wait_counts(db, settings, {"issue-log": 1})
            wait_for(lambda: "Created issue issue-log from Kafka" in log_path.read_text(),
                     30, f"the created-issue line in {log_path.read_text()!r}")
        finally:
            assert self._stop(proc) == 0, log_path.read_text()
        line = next(x for x in log_path.read_text().splitlines() if "Created issue" in x)
        assert " INFO consumer" in line, line

    def test_log_level_setting_is_honoured(self, settings: ConsumerSettings, tmp_path: Path) -> None:
        """AFISSUE_LOG_LEVEL=warning (any case) hides info lines; a bad level is a one-line error."""
        log_path = tmp_path / "quiet.log"
        proc = self._start(settings, log_path, AFISSUE_LOG_LEVEL="warning")
        try:
            produce(settings.kafka_bootstrap, settings.kafka_topic, [make_event("issue-quiet")])
            time.sleep(3)
        finally:
            assert self._stop(proc) == 0, log_path.read_text()
        assert "Created issue" not in log_path.read_text()

        bad_path = tmp_path / "bad.log"
        bad = self._start(settings, bad_path, AFISSUE_LOG_LEVEL="chatty")
        try:
            assert bad.wait(30) == 2
        finally:
            self._stop(bad)
        output = bad_path.read_text()
        assert "AFISSUE_LOG_LEVEL" in output and "'chatty'" in output, output
        assert "Traceback" not in output
