"""1,000,000 errors logged while the ingest API is down: client RSS growth.

The handler points at a closed port on 127.0.0.1, so every delivery fails, batches
are retried and then spooled (bounded) to a temporary directory. The errors are of
1,000 distinct kinds (distinct fingerprints), so aggregation alone cannot hide memory
use. RSS is read from ``/proc/self/status`` (VmRSS) before and after.

The spool bound (100 MB) is far above what the run writes (about 1 MB per 2-second
offline window): the rows are about the client keeping up and its memory, and a
slower machine (more windows) must not turn into ``spool_full`` drops by design.
Drops are reported by reason; accounting closes when the spool's occurrences plus
the drops equal the errors logged.

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
        spool_max_bytes=100_000_000,
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
        "in_spool": float(stats["spool_occurrences"]),
        "sent": float(stats["sent"]),
        "dropped": float(stats["dropped_total"]),
        "dropped_queue_full": float(stats["dropped"]["queue_full"]),
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
        {"benchmark": name, "metric": "in spool + sent + dropped (accounting closes)",
         "value": m["in_spool"] + m["sent"] + m["dropped"], "target": f"== {N}",
         "ok": m["in_spool"] + m["sent"] + m["dropped"] == N},
        {"benchmark": name, "metric": "occurrences dropped (of which queue_full)",
         "value": f"{m['dropped']:,.0f} ({m['dropped_queue_full']:,.0f})",
         "target": "== 0", "ok": m["dropped"] == 0},
    ]


if __name__ == "__main__":
    print(format_rows(run()))
