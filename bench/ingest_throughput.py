"""Ingest throughput (SPEC §8): single-event POSTs vs a no-op Flask endpoint, and batches.

Both servers run under the same gunicorn settings (``IngestServer``: workers, threads,
gthread) in child processes; the ingest one against librdkafka's mock cluster and a real
``redis-server``, with a token, the rate limiter and the recent list all active. The
no-op endpoint only parses the JSON body and answers 202. The load generator is the same
for both: spawned processes, each with threads holding keep-alive connections and
POSTing as fast as answers come back. Figures are ratios measured in one run.

    python -m bench.ingest_throughput          # or: python -m bench --only ingest
"""

from __future__ import annotations

import contextlib
import http.client
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from afissue.services._process import stop_process_group

BENCHMARK = "ingest_throughput"
ROUNDS = 3
DURATION_S = 3.0
WARMUP_S = 0.5
LOAD_PROCESSES = 2
THREADS_PER_PROCESS = 8
BATCH_SIZE = 100
WORKERS = 2
THREADS = 8

# Shaped like what IssueHandler sends: the client computes the fingerprint and the
# event id on its background thread (SPEC §3), so the server does not.
EVENT = {
    "event_id": "0123456789abcdef0123456789abcdef",
    "timestamp": "2026-11-26T19:42:00.123456Z",
    "title": "ValueError: card declined",
    "level": "error",
    "logger": "shop.checkout",
    "message": "card declined for order 1234",
    "message_template": "card declined for order %s",
    "service": "bench",
    "environment": "production",
    "release": "1.4.2",
    "host": "web-1",
    "pid": 4242,
    "thread": "MainThread",
    "fingerprint": "3816078a8d7fd56228a379936e038ee7",
    "count": 1,
}


def _noop_app() -> Any:
    """A Flask app whose POST /api/v1/issues parses the JSON and answers 202."""
    from flask import Flask, jsonify, request

    app = Flask("noop")

    @app.post("/api/v1/issues")
    def issues() -> Any:
        request.get_json()
        return jsonify(status="accepted"), 202

    @app.get("/api/health/live")
    def live() -> Any:
        return jsonify(status="ok")

    return app


def _serve(kind: str) -> None:
    """Child process: serve the ingest or no-op app with the ingest server's settings."""
    from ingest_service import IngestSettings
    from ingest_service.server import IngestServer, serve

    settings = IngestSettings.from_env(os.environ)
    if kind == "ingest":
        serve(settings)
        return

    class NoopServer(IngestServer):
        def load(self) -> Any:
            return _noop_app()

    with contextlib.suppress(SystemExit):
        NoopServer(settings).run()


def _load(port: int, body: bytes, headers: dict[str, str], warmup: float, duration: float) -> int:
    """Spawned process: POST *body* from threads; the number of 202s in the window."""
    counts = [0] * THREADS_PER_PROCESS
    start = time.monotonic() + warmup
    stop = start + duration

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            now = time.monotonic()
            if now >= stop:
                break
            conn.request("POST", "/api/v1/issues", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status == 202 and start <= time.monotonic() < stop:
                counts[slot] += 1
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS_PER_PROCESS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts)


def _drive(pool: Any, port: int, body: bytes, headers: dict[str, str]) -> int:
    """Requests answered 202 in DURATION_S by the server on *port*."""
    results = [
        pool.apply_async(_load, (port, body, headers, WARMUP_S, DURATION_S))
        for _ in range(LOAD_PROCESSES)
    ]
    return sum(int(r.get(timeout=DURATION_S + WARMUP_S + 120)) for r in results)


def _start(kind: str, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.ingest_throughput", "--serve", kind],
        env={**env, "AFISSUE_INGEST_PORT": str(port)},
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health/live", timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    stop_process_group(proc, timeout=30)
    raise RuntimeError(f"{kind} server did not start on port {port}")


def measure() -> dict[str, float]:
    """Run both servers and the three loads; return the raw figures."""
    from afissue.services import RedisServer, free_port
    from afissue.services.kafka_mock import MockCluster
    from ingest_service.tokens import new_token

    token, line = new_token("bench")
    with MockCluster(num_brokers=1) as mock, RedisServer() as redis_server, \
            tempfile.TemporaryDirectory() as tmp:
        topic = "alphafusion.issues.bench"
        mock.create_topic(topic, 6)
        tokens = Path(tmp) / "tokens"
        tokens.write_text(line + "\n")
        env = {
            **os.environ,
            "AFISSUE_KAFKA_BOOTSTRAP": mock.bootstrap_servers,
            "AFISSUE_KAFKA_TOPIC": topic,
            "AFISSUE_REDIS_URL": redis_server.url,
            "AFISSUE_TOKENS_FILE": str(tokens),
            "AFISSUE_RATE_LIMIT": str(10**12),  # limiter on, never limiting
            "AFISSUE_INGEST_WORKERS": str(WORKERS),
            "AFISSUE_INGEST_THREADS": str(THREADS),
            "AFISSUE_LOG_LEVEL": "warning",
        }
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        single = json.dumps(EVENT).encode()
        batch = json.dumps({"events": [EVENT] * BATCH_SIZE}).encode()

        noop_port, ingest_port = free_port(), free_port()
        counts = {"noop": 0, "single": 0, "batch": 0}
        servers = [_start("noop", env, noop_port)]
        # Spawn, never fork: the mock cluster's brokers are threads of this process.
        context = multiprocessing.get_context("spawn")
        try:
            servers.append(_start("ingest", env, ingest_port))
            with context.Pool(LOAD_PROCESSES) as pool:
                # Interleaved rounds, so that drifts in machine load hit every figure alike.
                for _ in range(ROUNDS):
                    counts["noop"] += _drive(pool, noop_port, single, headers)
                    counts["single"] += _drive(pool, ingest_port, single, headers)
                    counts["batch"] += _drive(pool, ingest_port, batch, headers)
        finally:
            for server in servers:
                stop_process_group(server, timeout=30)
    seconds = ROUNDS * DURATION_S
    return {
        "noop_rps": counts["noop"] / seconds,
        "single_rps": counts["single"] / seconds,
        "batch_rps": counts["batch"] / seconds,
        "batch_events_per_s": counts["batch"] * BATCH_SIZE / seconds,
    }


def run() -> list[dict[str, Any]]:
    """Rows for ``python -m bench``."""
    m = measure()
    ratio = m["single_rps"] / m["noop_rps"] if m["noop_rps"] else 0.0
    batch_ratio = m["batch_events_per_s"] / m["single_rps"] if m["single_rps"] else 0.0
    return [
        {"benchmark": BENCHMARK, "metric": "no-op Flask endpoint, requests/s",
         "value": round(m["noop_rps"], 1), "target": "baseline", "ok": True},
        {"benchmark": BENCHMARK, "metric": "single-event POSTs, requests/s",
         "value": round(m["single_rps"], 1), "target": "report", "ok": True},
        {"benchmark": BENCHMARK, "metric": "single-event / no-op requests/s",
         "value": round(ratio, 2), "target": ">= 0.7", "ok": ratio >= 0.7},
        {"benchmark": BENCHMARK, "metric": f"batched ({BATCH_SIZE}/POST) events/s",
         "value": round(m["batch_events_per_s"], 1), "target": "report", "ok": True},
        {"benchmark": BENCHMARK, "metric": "batched events/s / single events/s",
         "value": round(batch_ratio, 1), "target": ">= 20", "ok": batch_ratio >= 20},
    ]


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--serve":
        _serve(argv[1])
        return 0
    from bench._table import format_rows

    rows = run()
    print(format_rows(rows))
    return 0 if all(row["ok"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
