"""Alert latency, log call -> webhook POST received, at 1,000 events/s.

Runs the whole local stack (``afissue dev``'s ``DevStack``: ingest, a consumer, a notifier
with its default settings, the mock Kafka cluster, redis-server, the Firestore emulator)
with a rules file sending every new issue to a webhook receiver in this process. Logs
``RATE`` errors a second through ``IssueHandler`` for ``SECONDS`` seconds: ``HOT_ISSUES``
recurring issues carry the load, and every ``NEW_EVERY``-th event is a new issue, whose
log call starts the clock; the clock stops when its alert's POST reaches the receiver.
So the path measured is the real one: client window, ingest, Kafka, the consumer's flush
(which writes the outbox document in the issue's batch), the notifier's pass (query,
lease, send, record).

Measured in steady state, after a warm-up of the same traffic whose alerts all arrived;
the channel's rate limit is set above the traffic, so no alert is folded into a digest.
"""

from __future__ import annotations

import http.server
import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from afissue.dev import DevSettings, DevStack
from afissue.services import free_port

RATE = 1000
SECONDS = 10
WARMUP_SECONDS = 3
HOT_ISSUES = 20
NEW_EVERY = 50  # 20 new issues a second at 1,000 events/s


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class _Receiver:
    """Records when the first alert for each issue title arrived."""

    def __init__(self) -> None:
        self.port = free_port()
        self.arrived: dict[str, float] = {}
        self.posts = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                now = time.time()
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                title = str(body.get("data", {}).get("issue", {}).get("title", ""))
                with receiver._lock:
                    receiver.posts += 1
                    receiver.arrived.setdefault(title, now)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _rules(url: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="afissue-bench-")) / "alerts.toml"
    path.write_text(
        f'[channels.bench]\ntype = "webhook"\nurl = "{url}"\n'
        "rate_limit = { count = 100000, per_seconds = 60 }\n\n"
        '[[rules]]\nname = "bench"\ntriggers = ["new"]\nchannels = ["bench"]\n'
    )
    return path


def _log_at_rate(logger: logging.Logger, rate: int, seconds: float, tag: str,
                 new_issues: dict[str, float]) -> None:
    """*rate* errors a second for *seconds*; every NEW_EVERY-th is a new issue."""
    start = time.monotonic()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if i % NEW_EVERY == 0:
            name = f"bench alert {tag}-{i}"
            new_issues[name] = time.time()
        else:
            name = f"bench hot {i % HOT_ISSUES}"
        logger.error("%s", name, extra={"fingerprint": [name]})


def measure(rate: int = RATE, seconds: int = SECONDS) -> dict[str, float]:
    """p50, p99, max (s) and delivered / logged of new-issue alerts at *rate* events/s."""
    from afissue_logging import IssueHandler

    receiver = _Receiver()
    project = f"bench-alerts-{os.getpid()}"
    settings = DevSettings.from_env(
        {}, port=free_port(), firestore_project=project, alerts_file=str(_rules(receiver.url))
    )
    os.environ["AFISSUE_ALERTS_FILE"] = str(settings.alerts_file)  # the children's rules
    warmup: dict[str, float] = {}
    measured: dict[str, float] = {}

    def wait_arrived(names: dict[str, float], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not set(names) <= set(receiver.arrived):
            time.sleep(0.2)

    try:
        with DevStack(settings, echo=lambda line: None):
            handler = IssueHandler(url=f"http://127.0.0.1:{settings.port}", service="bench-alerts")
            logger = logging.getLogger("bench.alerts")
            logger.propagate = False
            logger.addHandler(handler)
            _log_at_rate(logger, rate, WARMUP_SECONDS, "warmup", warmup)
            wait_arrived(warmup)
            _log_at_rate(logger, rate, seconds, "run", measured)
            wait_arrived(measured)
            logger.removeHandler(handler)
            handler.close()
    finally:
        os.environ.pop("AFISSUE_ALERTS_FILE", None)
        receiver.stop()
    latencies = [receiver.arrived[n] - t for n, t in measured.items() if n in receiver.arrived]
    if not latencies:
        return {"p50": float("inf"), "p99": float("inf"), "max": float("inf"),
                "delivered": 0.0, "logged": float(len(measured))}
    return {
        "p50": _percentile(latencies, 0.5),
        "p99": _percentile(latencies, 0.99),
        "max": max(latencies),
        "delivered": float(len(latencies)),
        "logged": float(len(measured)),
    }


def run() -> list[dict[str, Any]]:
    """The benchmark row: p50 and p99 of new-issue alerts amid 1,000 events/s."""
    result = measure()
    name = f"alert latency (log call -> webhook POST) at {RATE} events/s"
    complete = result["delivered"] == result["logged"]
    return [
        {"benchmark": name, "metric": "p50 latency (s)", "value": result["p50"],
         "target": "info", "ok": complete},
        {"benchmark": name, "metric": "p99 latency (s)", "value": result["p99"],
         "target": "info", "ok": complete},
        {"benchmark": name, "metric": "alerts received / new issues logged",
         "value": result["delivered"] / result["logged"] if result["logged"] else 0.0,
         "target": "1", "ok": complete},
    ]


if __name__ == "__main__":
    from bench._table import format_rows

    print(format_rows(run()))
