"""Spool: bounded, crash-safe, oldest-first, shared safely between processes."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from afissue_logging.spool import Spool, SpoolError
from tests.afissue_logging.capture_server import CaptureServer

ROOT = Path(__file__).resolve().parents[2]


def _body(n: int) -> bytes:
    return json.dumps({"events": [{"title": f"e{n}", "count": 1}]}).encode()


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


class TestSpool:
    def test_oldest_first_by_creation_time(self, tmp_path: Path) -> None:
        """Files are claimed in creation order, whatever the order they were written in."""
        spool = Spool(tmp_path, "svc", 10_000_000)
        spool.write(_body(2), 1, created=200.0)
        spool.write(_body(1), 1, created=100.0)
        first = spool.claim_oldest()
        assert first is not None and json.loads(first.read())["events"][0]["title"] == "e1"
        spool.done(first)
        second = spool.claim_oldest()
        assert second is not None and json.loads(second.read())["events"][0]["title"] == "e2"
        spool.release(second)
        assert spool.pending() == 1

    def test_per_service_directories(self, tmp_path: Path) -> None:
        """Each service has its own directory (names made filesystem-safe)."""
        Spool(tmp_path, "a/b", 1000).write(_body(1), 1)
        Spool(tmp_path, "other", 1000).write(_body(1), 1)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a_b", "other"]

    def test_bound_drops_oldest_and_reports_occurrences(self, tmp_path: Path) -> None:
        """Over max_bytes the oldest files go, and their occurrence counts are returned."""
        body = _body(0)
        spool = Spool(tmp_path, "svc", len(body) * 2)
        assert spool.write(body, 5, created=1.0) == 0
        assert spool.write(body, 6, created=2.0) == 0
        assert spool.write(body, 7, created=3.0) == 5
        assert spool.pending_occurrences() == 13

    def test_claimed_file_invisible_to_others(self, tmp_path: Path) -> None:
        """A claimed file is not claimed again (another worker skips it)."""
        spool = Spool(tmp_path, "svc", 10_000)
        spool.write(_body(1), 1)
        assert spool.claim_oldest() is not None
        assert Spool(tmp_path, "svc", 10_000).claim_oldest() is None

    def test_recover_cleans_up_after_dead_processes(self, tmp_path: Path) -> None:
        """Temp files and claims of dead processes are removed / released."""
        spool = Spool(tmp_path, "svc", 10_000)
        spool.write(_body(1), 1)
        entry = spool.claim_oldest()
        assert entry is not None
        dead = _dead_pid()
        entry.path.rename(entry.original.with_name(f"{entry.original.name}.claimed-{dead}"))
        (spool.directory / f".00000000000000000001-{dead}-0-1.batch.tmp").write_bytes(b"{")
        spool.recover()
        assert sorted(p.name for p in spool.directory.iterdir()) == [entry.original.name]

    def test_kill_9_while_spooling_leaves_it_readable(self, tmp_path: Path) -> None:
        """After SIGKILL mid-spooling every .batch file is complete JSON; recover removes temps."""
        script = (
            "import sys, json\n"
            "from afissue_logging.spool import Spool\n"
            "spool = Spool(sys.argv[1], 'svc', 10**10)\n"
            "body = json.dumps({'events': [{'title': 'x' * 2_000_000, 'count': 1}]}).encode()\n"
            "while True:\n"
            "    spool.write(body, 1)\n"
        )
        proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)])
        directory = tmp_path / "svc"
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if directory.is_dir() and len(list(directory.glob("*.batch"))) >= 3:
                    break
                time.sleep(0.01)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        spool = Spool(tmp_path, "svc", 10**10)
        spool.recover()
        files = list(directory.iterdir())
        assert len(files) >= 3
        assert all(f.name.endswith(".batch") for f in files)
        while (entry := spool.claim_oldest()) is not None:
            assert json.loads(entry.read())["events"][0]["count"] == 1
            spool.done(entry)


def _can_be_pid_1() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--pid", "--fork", sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True, text=True, check=False,
    )
    return probe.stdout.strip() == "1"


CLAIM_AND_CRASH = textwrap.dedent(
    """
    import json, os, sys
    from afissue_logging.spool import Spool
    assert os.getpid() == 1
    spool = Spool(sys.argv[1], "svc", 10**9)
    events = [{"event_id": "%032x" % i, "title": "e%d" % i, "fingerprint": "%032x" % i,
               "count": 1} for i in range(3)]
    spool.write(json.dumps({"events": events}).encode(), 3)
    assert spool.claim_oldest() is not None
    os._exit(0)  # a crash between claiming and sending
    """
)

REPLAY_AS_PID_1 = textwrap.dedent(
    """
    import os, sys, time
    from afissue_logging import IssueHandler
    assert os.getpid() == 1
    handler = IssueHandler(url=sys.argv[2], service="svc", spool_dir=sys.argv[1])
    deadline = time.monotonic() + 20
    while handler.stats()["replayed"] < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    print(handler.stats()["replayed"])
    """
)


class TestSameProcessIdAfterRestart:
    @pytest.mark.skipif(not _can_be_pid_1(), reason="needs unshare --pid (a PID namespace)")
    def test_claim_of_a_crashed_pid_1_is_replayed_by_the_next_pid_1(self, tmp_path: Path) -> None:
        """In a container the restarted process has PID 1 again: a claim the crashed PID 1
        left is still released and replayed, because a claim names the process instance."""
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        pid_1 = ["unshare", "--pid", "--fork", sys.executable, "-c"]
        subprocess.run([*pid_1, CLAIM_AND_CRASH, str(tmp_path)], env=env, check=True, timeout=60)
        assert [p.name.split(".batch")[1][:9] for p in (tmp_path / "svc").iterdir()] == [
            ".claimed-"
        ]
        with CaptureServer() as capture:
            result = subprocess.run(
                [*pid_1, REPLAY_AS_PID_1, str(tmp_path), capture.url],
                env=env, check=True, timeout=60, capture_output=True, text=True,
            )
            assert result.stdout.strip() == "3"
            assert sorted(e["title"] for e in capture.events) == ["e0", "e1", "e2"]
        assert list((tmp_path / "svc").iterdir()) == []

    def test_claim_by_this_pid_but_another_instance_is_stale(self, tmp_path: Path) -> None:
        """A claim carrying this process's pid but not its instance (a previous process
        with the same pid, or the old pid-only claim name) is released by recover();
        this instance's own claims are kept."""
        spool = Spool(tmp_path, "svc", 10_000)
        for created in (1.0, 2.0, 3.0):
            spool.write(_body(int(created)), 1, created=created)
        mine = spool.claim_oldest()
        assert mine is not None
        names = sorted(p.name for p in spool.directory.iterdir())
        pid = os.getpid()
        (spool.directory / names[1]).rename(spool.directory / f"{names[1]}.claimed-{pid}")
        (spool.directory / names[2]).rename(
            spool.directory / f"{names[2]}.claimed-{pid}-0123456789abcdef"
        )
        spool.recover()
        assert mine.path.exists()
        assert spool.pending() == 2


_STEPS = ("open", "write", "fsync", "close", "replace")


def _tmp_fd(fd: int) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp")
    except OSError:
        return False


class TestFailedWrite:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        step=st.sampled_from(_STEPS),
        code=st.sampled_from([errno.ENOSPC, errno.EIO, errno.EACCES, errno.EDQUOT]),
        size=st.integers(min_value=1, max_value=300_000),
        partial=st.integers(min_value=0, max_value=300_000),
    )
    def test_failed_write_leaves_no_temporary_file(
        self, tmp_path: Path, step: str, code: int, size: int, partial: int
    ) -> None:
        """Whichever step of a spool write fails (disk full, I/O or permission error,
        possibly after part of the body was written), SpoolError is raised and nothing
        of that write remains: no temp file, no torn body; the next write works."""
        spool = Spool(tempfile.mkdtemp(dir=tmp_path), "svc", 10**9)
        spool.write(_body(0), 1, created=1.0)
        body = json.dumps({"events": [{"title": "x" * size, "count": 1}]}).encode()
        real: dict[str, Callable[..., Any]] = {s: getattr(os, s) for s in _STEPS}
        written = 0

        def fail() -> None:
            raise OSError(code, os.strerror(code))

        def fake_open(path: Any, *args: Any, **kwargs: Any) -> int:
            if step == "open" and str(path).endswith(".tmp"):
                fail()
            return int(real["open"](path, *args, **kwargs))

        def fake_write(fd: int, data: Any) -> int:
            nonlocal written
            if step == "write" and _tmp_fd(fd):
                room = partial - written
                if room <= 0:
                    fail()
                count = int(real["write"](fd, bytes(data)[:room]))
                written += count
                return count
            return int(real["write"](fd, data))

        def fake_fsync(fd: int) -> None:
            if step == "fsync" and _tmp_fd(fd):
                fail()
            real["fsync"](fd)

        def fake_close(fd: int) -> None:
            tmp = _tmp_fd(fd)
            real["close"](fd)
            if step == "close" and tmp:
                fail()

        def fake_replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            if step == "replace" and str(src).endswith(".tmp"):
                fail()
            real["replace"](src, dst, *args, **kwargs)

        fakes = {"open": fake_open, "write": fake_write, "fsync": fake_fsync,
                 "close": fake_close, "replace": fake_replace}
        with pytest.MonkeyPatch.context() as patch:
            for name, fake in fakes.items():
                patch.setattr(os, name, fake)
            try:
                spool.write(body, 1, created=2.0)
                failed = False
            except SpoolError:
                failed = True
        # A write that completes despite the fault (the body fit before it) is fine too.
        assert failed or (step == "write" and partial >= len(body))
        names = sorted(p.name for p in spool.directory.iterdir())
        assert not [n for n in names if n.endswith(".tmp")], names
        assert spool.pending() == (1 if failed else 2)
        spool.write(_body(3), 1, created=3.0)
        while (entry := spool.claim_oldest()) is not None:
            assert json.loads(entry.read())["events"][0]["count"] == 1
            spool.done(entry)
