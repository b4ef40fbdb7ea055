"""Spool: bounded, crash-safe, oldest-first, shared safely between processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from afissue_logging.spool import Spool


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
