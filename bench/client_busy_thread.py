"""Delivery keeps up while the application's thread is CPU-bound (SPEC §8, third bullet).

The main thread spins on pure-Python work and logs 1,000 *distinct* errors a second
for 5 seconds; the ingest stand-in is a separate process (a real HTTP server on
127.0.0.1 that prints every accepted event). Reported: the share of events already
delivered when the busy period ends (before any flush), and after ``flush()``; drops.

    python -m bench.client_busy_thread
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from afissue_logging import IssueHandler
from afissue_logging.testing import reset
from bench._table import format_rows

RATE = 1_000
SECONDS = 5
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("capture server did not start")


def _fail(i: int) -> None:
    raise ValueError(f"job {i} failed")


def measure() -> dict[str, float]:
    """Delivered shares and drops for RATE distinct errors/s from a busy thread."""
    port = _free_port()
    out = Path(tempfile.mkdtemp(prefix="afissue-busy-")) / "events.jsonl"
    with out.open("wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.afissue_logging.capture_server", str(port)],
            stdout=sink, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    log = logging.getLogger("bench.busy")
    log.propagate = False
    try:
        _wait_listening(port)
        handler = IssueHandler(
            url=f"http://127.0.0.1:{port}", service="bench-busy",
            spool_dir=tempfile.mkdtemp(prefix="afissue-"),
        )
        log.addHandler(handler)
        total = RATE * SECONDS
        start = time.perf_counter()
        for i in range(total):
            due = start + i / RATE
            while time.perf_counter() < due:
                sum(range(200))  # CPU-bound application work, holding the GIL
            try:
                _fail(i)
            except ValueError:
                log.exception("job failed", extra={"fingerprint": [str(i)]})
        delivered_during = handler.stats()["sent"]
        handler.flush(30)
        stats = handler.stats()
        log.removeHandler(handler)
    finally:
        server.terminate()
        server.wait(10)
    lines = out.read_text().splitlines()
    out.unlink()
    received = sum(int(json.loads(line).get("count", 1)) for line in lines if line.strip())
    reset()
    return {
        "total": float(total),
        "during": delivered_during / total,
        "received": float(received),
        "dropped": float(stats["dropped_total"]),
    }


def run() -> list[dict[str, Any]]:
    """Rows for the benchmark table."""
    m = measure()
    name = f"client busy thread ({RATE:,} distinct errors/s for {SECONDS} s)"
    return [
        {"benchmark": name, "metric": "share delivered by end of busy period",
         "value": round(m["during"], 3), "target": ">= 0.8", "ok": m["during"] >= 0.8},
        {"benchmark": name, "metric": "events received by ingest", "value": m["received"],
         "target": f"== {int(m['total'])}", "ok": m["received"] == m["total"]},
        {"benchmark": name, "metric": "dropped", "value": m["dropped"],
         "target": "== 0", "ok": m["dropped"] == 0},
    ]


if __name__ == "__main__":
    print(format_rows(run()))
