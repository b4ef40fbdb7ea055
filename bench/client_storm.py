"""100,000 identical errors in a tight loop: at most 100 HTTP requests, exact count.

The errors go through a real ``IssueHandler`` to a real HTTP server on 127.0.0.1 that
records every request (the ingest API's stand-in; no network beyond loopback).

    python -m bench.client_storm
"""

from __future__ import annotations

import logging
import tempfile
from typing import Any

from afissue_logging import IssueHandler
from afissue_logging.testing import reset
from bench._table import format_rows
from tests.afissue_logging.capture_server import CaptureServer

N = 100_000


def _fail() -> None:
    raise ConnectionError("upstream refused connection")


def measure(n: int = N) -> dict[str, float]:
    """Requests made and occurrences counted for *n* identical logged errors."""
    log = logging.getLogger("bench.storm")
    log.propagate = False
    with CaptureServer() as server:
        handler = IssueHandler(
            url=server.url, service="bench-storm", spool_dir=tempfile.mkdtemp(prefix="afissue-")
        )
        log.addHandler(handler)
        try:
            for _ in range(n):
                try:
                    _fail()
                except ConnectionError:
                    log.exception("storm")
            handler.flush(60)
        finally:
            log.removeHandler(handler)
        stats = handler.stats()
        requests, counted = len(server.requests), server.occurrences()
    reset()
    return {
        "requests": float(requests),
        "counted": float(counted),
        "dropped": float(stats["dropped_total"]),
    }


def run() -> list[dict[str, Any]]:
    """Rows for the benchmark table."""
    m = measure()
    name = f"client storm ({N:,} identical errors)"
    return [
        {"benchmark": name, "metric": "HTTP requests", "value": m["requests"],
         "target": "<= 100", "ok": m["requests"] <= 100},
        {"benchmark": name, "metric": "occurrences counted at ingest", "value": m["counted"],
         "target": f"== {N}", "ok": m["counted"] == N},
        {"benchmark": name, "metric": "dropped", "value": m["dropped"],
         "target": "== 0", "ok": m["dropped"] == 0},
    ]


if __name__ == "__main__":
    print(format_rows(run()))
