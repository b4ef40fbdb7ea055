"""End-to-end latency, log call -> Firestore document updated, at 1,000 events/s.

Runs the whole local stack (``afissue dev``'s ``DevStack``: ingest under gunicorn, a
consumer process, the mock Kafka cluster, redis-server, the Firestore emulator),
logs ``RATE`` errors per second for ``SECONDS`` seconds over ``ISSUES`` distinct
issues through ``IssueHandler``, and watches the documents (Firestore listeners).
Occurrences of one issue are sent in order, so occurrence *i* of an issue is in
Firestore once its document's count reaches *i*; its latency is the commit time of
that document version (its ``update_time``) minus the wall-clock time of its log call.

Measured in steady state: the same traffic runs for ``WARMUP_SECONDS`` first and is
delivered completely before the measured period starts (consumer joined, documents
created, the emulator's JIT warm). The warm-up's own latencies are reported too, as
information: the cold start. Targets (SPEC section 8): p50 <= 1 s, p99 <= 2.5 s.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from afissue.dev import DevSettings, DevStack
from afissue.services import free_port
from issue_store.client import firestore_client

RATE = 1000
SECONDS = 10
WARMUP_SECONDS = 2
ISSUES = 20


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _log_at_rate(logger: logging.Logger, names: list[str], rate: int, seconds: int,
                 log_times: dict[str, list[float]]) -> None:
    """Log *rate* errors a second for *seconds*, round robin over *names*."""
    start = time.monotonic()
    for i in range(rate * seconds):
        name = names[i % len(names)]
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        log_times[name].append(time.time())
        logger.error("bench latency %s", name, extra={"fingerprint": [name]})


def _latencies(log_times: dict[str, list[float]], seen: dict[str, list[tuple[int, float]]],
               before: dict[str, int]) -> list[float]:
    """Occurrence *i* (after *before* earlier ones) is visible once its count reaches it."""
    latencies: list[float] = []
    for name, times in log_times.items():
        for index, logged_at in enumerate(times, start=before.get(name, 0) + 1):
            visible = next((at for count, at in seen[name] if count >= index), None)
            if visible is not None:
                latencies.append(max(0.0, visible - logged_at))
    return latencies


def _summary(latencies: list[float], logged: int) -> dict[str, float]:
    if not latencies:
        return {"p50": float("inf"), "p99": float("inf"), "max": float("inf"),
                "delivered": 0.0, "logged": float(logged)}
    return {
        "p50": _percentile(latencies, 0.5),
        "p99": _percentile(latencies, 0.99),
        "max": max(latencies),
        "delivered": float(len(latencies)),
        "logged": float(logged),
    }


def measure(
    rate: int = RATE,
    seconds: int = SECONDS,
    issues: int = ISSUES,
    client_flush_interval: float | None = None,
    warmup_seconds: int = WARMUP_SECONDS,
) -> dict[str, dict[str, float]]:
    """Latencies (seconds) at *rate* events/s, ``{"steady": ..., "cold": ...}``, each with
    keys p50, p99, max, delivered, logged. *client_flush_interval* overrides the client's
    aggregation window."""
    from afissue_logging import IssueHandler

    project = f"bench-{os.getpid()}"
    settings = DevSettings.from_env({}, port=free_port(), firestore_project=project)
    names = [f"issue-{k}" for k in range(issues)]
    warmup: dict[str, list[float]] = {name: [] for name in names}
    log_times: dict[str, list[float]] = {name: [] for name in names}
    seen: dict[str, list[tuple[int, float]]] = {name: [] for name in names}

    def delivered(times: dict[str, list[float]], before: dict[str, int]) -> bool:
        return all(seen[n] and seen[n][-1][0] >= before.get(n, 0) + len(times[n]) for n in names)

    def wait_delivered(times: dict[str, list[float]], before: dict[str, int]) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not delivered(times, before):
            time.sleep(0.2)

    with DevStack(settings, echo=lambda line: None) as stack:
        db = firestore_client(project, stack.firestore_host)
        tuning: dict[str, Any] = {}
        if client_flush_interval is not None:
            tuning["flush_interval"] = client_flush_interval
        handler = IssueHandler(url=stack.ingest_url, service="bench-e2e", **tuning)
        logger = logging.getLogger("bench.e2e")
        logger.propagate = False
        logger.addHandler(handler)

        def on_change(_docs: Any, changes: Any, _read_time: Any) -> None:
            for change in changes:
                data = change.document.to_dict() or {}
                name = str(data.get("title", "")).rsplit(" ", 1)[-1]
                if name in seen:
                    committed = change.document.update_time.timestamp()
                    seen[name].append((int(data.get("count", 0)), committed))

        watch = db.collection("issues").on_snapshot(on_change)
        _log_at_rate(logger, names, rate, warmup_seconds, warmup)
        wait_delivered(warmup, {})
        counts_before = {name: len(times) for name, times in warmup.items()}
        _log_at_rate(logger, names, rate, seconds, log_times)
        wait_delivered(log_times, counts_before)
        watch.unsubscribe()
        logger.removeHandler(handler)
        handler.close()
    return {
        "steady": _summary(_latencies(log_times, seen, counts_before), rate * seconds),
        "cold": _summary(_latencies(warmup, seen, {}), rate * warmup_seconds),
    }


def _rows(name: str, result: dict[str, float]) -> list[dict[str, Any]]:
    complete = result["delivered"] == result["logged"]
    return [
        {
            "benchmark": name,
            "metric": "p50 latency (s)",
            "value": result["p50"],
            "target": "<= 1",
            "ok": result["p50"] <= 1.0 and complete,
        },
        {
            "benchmark": name,
            "metric": "p99 latency (s)",
            "value": result["p99"],
            "target": "<= 2.5",
            "ok": result["p99"] <= 2.5 and complete,
        },
        {
            "benchmark": name,
            "metric": "occurrences in Firestore / logged",
            "value": result["delivered"] / result["logged"],
            "target": "1",
            "ok": complete,
        },
    ]


def run() -> list[dict[str, Any]]:
    """Steady state with the client's defaults; the cold start as information."""
    result = measure()
    name = f"end to end at {RATE} events/s, client defaults"
    cold = result["cold"]
    return [
        *_rows(name, result["steady"]),
        {"benchmark": name, "metric": f"cold start (first {WARMUP_SECONDS} s): p50 / max (s)",
         "value": f"{cold['p50']:.2f} / {cold['max']:.2f}", "target": "info", "ok": True},
    ]


if __name__ == "__main__":
    from bench._table import format_rows

    print(format_rows(run()))
