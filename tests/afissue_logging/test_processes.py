"""Across processes: exit drain, next-start replay, fork and spawn children, gunicorn workers."""

from __future__ import annotations

import multiprocessing
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from afissue_logging import IssueHandler
from tests.afissue_logging.capture_server import CaptureServer

ROOT = Path(__file__).resolve().parents[2]


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFISSUE_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(values)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


LOG_AND_EXIT = textwrap.dedent(
    """
    import logging, sys
    from afissue_logging import IssueHandler
    log = logging.getLogger("child")
    log.addHandler(IssueHandler(service="proc", flush_interval=30, backoff_max=0.2))
    for i in range(int(sys.argv[1])):
        log.error("distinct error %s", i, extra={"fingerprint": [str(i)]})
    for _ in range(100):
        try:
            {}["missing"]
        except KeyError:
            log.exception("storm")
    """
)


class TestExitAndRestart:
    def test_exit_drains_queued_events(self, capture: CaptureServer, spool_dir: str) -> None:
        """Events still in the window at interpreter exit are delivered by the atexit drain."""
        env = _env(AFISSUE_URL=capture.url, AFISSUE_SPOOL_DIR=spool_dir)
        subprocess.run([sys.executable, "-c", LOG_AND_EXIT, "5"], env=env, check=True, timeout=60)
        assert capture.occurrences() == 105
        assert not any(Path(spool_dir).rglob("*.batch"))

    def test_exit_with_unresponsive_ingest_spools_in_bounded_time(self, spool_dir: str) -> None:
        """An ingest that accepts but never answers: exit waits about exit_timeout, then spools."""
        with socket.socket() as blackhole:
            blackhole.bind(("127.0.0.1", 0))
            blackhole.listen(100)
            port = blackhole.getsockname()[1]
            env = _env(
                AFISSUE_URL=f"http://127.0.0.1:{port}",
                AFISSUE_SPOOL_DIR=spool_dir,
                AFISSUE_EXIT_TIMEOUT="1",
            )
            subprocess.run(
                [sys.executable, "-c", LOG_AND_EXIT, "5"], env=env, check=True, timeout=30
            )
        from afissue_logging.spool import Spool

        assert Spool(spool_dir, "proc", 10**9).pending_occurrences() == 105

    def test_exit_during_a_hanging_request_still_spools(self, spool_dir: str) -> None:
        """A request hangs past the exit drain: its batch and the rest are spooled anyway."""
        script = LOG_AND_EXIT.replace("flush_interval=30", "flush_interval=0.01")
        script += "import time\ntime.sleep(0.5)\n"
        with socket.socket() as blackhole:
            blackhole.bind(("127.0.0.1", 0))
            blackhole.listen(100)
            port = blackhole.getsockname()[1]
            env = _env(
                AFISSUE_URL=f"http://127.0.0.1:{port}",
                AFISSUE_SPOOL_DIR=spool_dir,
                AFISSUE_EXIT_TIMEOUT="0.5",
                AFISSUE_TIMEOUT="20",
            )
            subprocess.run([sys.executable, "-c", script, "5"], env=env, check=True, timeout=30)
        from afissue_logging.spool import Spool

        assert Spool(spool_dir, "proc", 10**9).pending_occurrences() == 105

    def test_ingest_down_then_next_start_replays(self, spool_dir: str) -> None:
        """Ingest down: events spool at exit; the next start replays them once it is up."""
        port = _free_port()
        env = _env(AFISSUE_URL=f"http://127.0.0.1:{port}", AFISSUE_SPOOL_DIR=spool_dir)
        subprocess.run([sys.executable, "-c", LOG_AND_EXIT, "5"], env=env, check=True, timeout=60)
        assert any(Path(spool_dir).rglob("*.batch"))
        with CaptureServer(port) as capture:
            starter = (
                "import time\nfrom afissue_logging import IssueHandler\n"
                "h = IssueHandler(service='proc')\n"
                "deadline = time.monotonic() + 30\n"
                "while h.stats()['spool_files'] and time.monotonic() < deadline:\n"
                "    time.sleep(0.05)\n"
            )
            subprocess.run([sys.executable, "-c", starter], env=env, check=True, timeout=60)
            assert capture.occurrences() == 105
            assert len({e["event_id"] for e in capture.events}) == len(capture.events)
        assert not any(Path(spool_dir).rglob("*.batch"))


def _child_logs(url: str, spool_dir: str, n: int) -> None:
    import logging

    log = logging.getLogger("mp.child")
    if not any(isinstance(h, IssueHandler) for h in log.handlers):
        log.addHandler(IssueHandler(url=url, service="mp", spool_dir=spool_dir, flush_interval=0.1))
    for i in range(n):
        log.error("child %s error %s", os.getpid(), i, extra={"fingerprint": [str(os.getpid()), str(i)]})


class TestMultiprocessing:
    @pytest.mark.parametrize("method", ["fork", "spawn"])
    def test_children_events_arrive(
        self, method: str, capture: CaptureServer, spool_dir: str
    ) -> None:
        """Each multiprocessing child (fork and spawn) delivers its own events before exiting."""
        import logging

        log = logging.getLogger("mp.child")
        log.propagate = False
        handler = IssueHandler(url=capture.url, service="mp", spool_dir=spool_dir, flush_interval=0.1)
        log.addHandler(handler)
        try:
            log.error("parent before fork")  # the parent's sender thread is running
            ctx: Any = multiprocessing.get_context(method)
            procs = [
                ctx.Process(target=_child_logs, args=(capture.url, spool_dir, 3)) for _ in range(3)
            ]
            for proc in procs:
                proc.start()
            for proc in procs:
                proc.join(60)
                assert proc.exitcode == 0
            assert handler.flush(10)
            child_pids = {e["pid"] for e in capture.events} - {os.getpid()}
            assert child_pids == {p.pid for p in procs}
            assert capture.occurrences() == 1 + 9
        finally:
            log.removeHandler(handler)

    def test_fork_while_another_thread_logs_does_not_deadlock(
        self, capture: CaptureServer, spool_dir: str
    ) -> None:
        """Forking while other threads are logging gives children a working sender."""
        import logging

        log = logging.getLogger("mp.child")
        log.propagate = False
        handler = IssueHandler(url=capture.url, service="mp", spool_dir=spool_dir, flush_interval=0.05)
        log.addHandler(handler)
        stop = threading.Event()

        def hammer() -> None:
            while not stop.is_set():
                log.error("background noise")

        threads = [threading.Thread(target=hammer) for _ in range(2)]
        for thread in threads:
            thread.start()
        try:
            ctx = multiprocessing.get_context("fork")
            procs = [ctx.Process(target=_child_logs, args=(capture.url, spool_dir, 1)) for _ in range(5)]
            for proc in procs:
                proc.start()
            for proc in procs:
                proc.join(60)
                assert proc.exitcode == 0
        finally:
            stop.set()
            for thread in threads:
                thread.join()
            log.removeHandler(handler)
        handler.flush(10)
        child_events = [e for e in capture.events if e["message"].startswith("child")]
        assert {e["pid"] for e in child_events} == {p.pid for p in procs}


GUNICORN_APP = textwrap.dedent(
    """
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/boom":
            raise RuntimeError("worker failure")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    """
)

GUNICORN_CONF = textwrap.dedent(
    """
    import os
    bind = "127.0.0.1:{port}"
    workers = 2
    preload_app = True
    logconfig_dict = {{
        "version": 1,
        "disable_existing_loggers": False,
        "root": {{"level": "INFO", "handlers": []}},
        "handlers": {{
            "console": {{"class": "logging.StreamHandler", "stream": "ext://sys.stdout"}},
            "error_console": {{"class": "logging.StreamHandler", "stream": "ext://sys.stderr"}},
            "issues": {{
                "class": "afissue_logging.IssueHandler",
                "url": "{url}",
                "service": "gunicorn-app",
                "spool_dir": "{spool}",
                "flush_interval": "0.1",
                "level": "ERROR",
            }},
        }},
        "loggers": {{
            "gunicorn.error": {{"handlers": ["issues"], "level": "INFO", "propagate": False}},
        }},
    }}
    """
)


class TestGunicorn:
    def test_prefork_workers_errors_arrive(
        self, capture: CaptureServer, spool_dir: str, tmp_path: Path
    ) -> None:
        """A gunicorn pre-fork app configured by dictConfig: its workers' errors arrive."""
        port = _free_port()
        (tmp_path / "wsgi_boom.py").write_text(GUNICORN_APP)
        conf = tmp_path / "gunicorn_conf.py"
        conf.write_text(GUNICORN_CONF.format(port=port, url=capture.url, spool=spool_dir))
        env = _env()
        env["PYTHONPATH"] = f"{tmp_path}{os.pathsep}{ROOT}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(conf), "wsgi_boom:app"],
            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            import http.client

            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    conn.request("GET", "/")
                    conn.getresponse().read()
                    conn.close()
                    break
                except OSError:
                    time.sleep(0.1)
            for _ in range(20):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/boom")
                assert conn.getresponse().status == 500
                conn.close()
            assert capture.wait_for(lambda: capture.occurrences() >= 20, timeout=30)
        finally:
            proc.terminate()
            proc.wait(30)
        events = capture.events
        assert capture.occurrences() == 20
        assert {e["service"] for e in events} == {"gunicorn-app"}
        assert all(e["exception"]["type"] == "RuntimeError" for e in events)
        assert proc.pid not in {e["pid"] for e in events}


FORK_STORM = textwrap.dedent(
    """
    import logging, os, sys, threading, time
    from afissue_logging import IssueHandler

    url, spool, children, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    log = logging.getLogger("forker")
    log.propagate = False
    handler = IssueHandler(url=url, service="forks", spool_dir=spool, flush_interval=0.01,
                           gzip_min_bytes=200)
    log.addHandler(handler)
    stop = threading.Event()

    def noise():
        i = 0
        while not stop.is_set():
            log.error("parent noise %s", i, extra={"fingerprint": ["noise", str(i % 50)]})
            i += 1

    threading.Thread(target=noise, daemon=True).start()
    pids = []
    for _ in range(children):
        pid = os.fork()
        if pid == 0:
            stop.set()
            for i in range(3):
                log.error("child %s error %s", os.getpid(), i,
                          extra={"fingerprint": ["child", str(os.getpid()), str(i)]})
            if mode == "_exit":
                os._exit(0 if handler.flush(10) else 3)
            sys.exit(0)
        pids.append(pid)
    stop.set()
    deadline = time.monotonic() + 60
    codes = {}
    while len(codes) < len(pids) and time.monotonic() < deadline:
        for pid in pids:
            if pid not in codes:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    codes[pid] = os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    for pid in pids:
        print(pid, codes.get(pid, "hung"), flush=True)
        if pid not in codes:
            os.kill(pid, 9)
    """
)


class TestForkStorm:
    @pytest.mark.parametrize("mode", ["exit", "_exit"])
    def test_children_forked_while_the_sender_starts_deliver_everything(
        self, mode: str, capture: CaptureServer, spool_dir: str
    ) -> None:
        """50 children forked in a tight loop while the parent's sender is busy (starting
        up, importing, sending) each deliver all their errors, on normal exit and on
        ``os._exit`` after ``flush()``."""
        result = subprocess.run(
            [sys.executable, "-c", FORK_STORM, capture.url, spool_dir, "50", mode],
            env=_env(), capture_output=True, text=True, timeout=120, check=False,
        )
        assert result.returncode == 0, result.stderr
        outcome = dict(line.split() for line in result.stdout.split("\n") if line)
        assert len(outcome) == 50
        assert set(outcome.values()) == {"0"}, outcome
        expected = {int(pid) for pid in outcome}
        assert capture.wait_for(
            lambda: {
                e["pid"] for e in capture.events if e["message"].startswith("child")
            } >= expected,
            timeout=30,
        )
        child_events = [e for e in capture.events if e["message"].startswith("child")]
        per_pid: dict[int, int] = {}
        for event in child_events:
            per_pid[event["pid"]] = per_pid.get(event["pid"], 0) + event["count"]
        assert per_pid == dict.fromkeys(expected, 3)
