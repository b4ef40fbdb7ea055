"""1,000,000 errors logged while the ingest API is down: client RSS growth.

The handler points at a closed port on 127.0.0.1, so every delivery fails, batches
are retried and then spooled (bounded) to a temporary directory. The errors are of
1,000 distinct kinds (distinct fingerprints), so aggregation alone cannot hide memory
use. RSS is read from ``/proc/self/status`` (VmRSS) before and after.

    python -m bench.client_offline_rss
"""

from __future__ import annotations

import gc
import logging
import socket
import tempfile
from pathlib import Path
from typing import Any

from afissue_logging import IssueHandler
from afissue_logging.testing import reset
from bench._table import format_rows

N = 1_000_000
KINDS = 1_000


def rss_bytes() -> int:
    """Resident set size of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fail(kind: int) -> None:
    raise KeyError(kind)


def measure(n: int = N) -> dict[str, float]:
    """RSS growth (MB) and accounting for *n* errors logged with the ingest API down."""
    log = logging.getLogger("bench.offline")
    log.propagate = False
    spool = tempfile.mkdtemp(prefix="afissue-offline-")
    handler = IssueHandler(
        url=f"http://127.0.0.1:{_closed_port()}",
        service="bench-offline",
        spool_dir=spool,
        spool_max_bytes=20_000_000,
        backoff_max=1.0,
    )
    log.addHandler(handler)
    gc.collect()
    before = rss_bytes()
    peak = before
    try:
        for i in range(n):
            try:
                _fail(i % KINDS)
            except KeyError:
                log.exception("lookup failed", extra={"fingerprint": [str(i % KINDS)]})
            if i % 50_000 == 0:
                peak = max(peak, rss_bytes())
        handler.flush(60)
    finally:
        log.removeHandler(handler)
    gc.collect()
    peak = max(peak, rss_bytes())
    stats = handler.stats()
    reset()
    return {
        "growth_mb": (peak - before) / 1e6,
        "spooled": float(stats["spooled"]),
        "dropped": float(stats["dropped_total"]),
        "queued": float(stats["queued"]),
    }


def run() -> list[dict[str, Any]]:
    """Rows for the benchmark table."""
    m = measure()
    name = f"client offline ({N:,} errors, ingest down)"
    return [
        {"benchmark": name, "metric": "peak RSS growth (MB)", "value": round(m["growth_mb"], 1),
         "target": "<= 50", "ok": m["growth_mb"] <= 50},
        {"benchmark": name, "metric": "occurrences spooled", "value": m["spooled"],
         "target": "informative", "ok": True},
        {"benchmark": name, "metric": "spooled + dropped (accounting closes)",
         "value": m["spooled"] + m["dropped"], "target": f"== {N}",
         "ok": m["spooled"] + m["dropped"] == N},
        {"benchmark": name, "metric": "occurrences dropped", "value": m["dropped"],
         "target": "== 0", "ok": m["dropped"] == 0},
    ]


if __name__ == "__main__":
    print(format_rows(run()))
