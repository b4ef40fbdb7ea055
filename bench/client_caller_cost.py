"""Caller-thread cost of ``logger.exception()`` 6 frames deep: IssueHandler vs the floor.

The floor (SPEC §8) is the cheapest possible asynchronous handler: a ``QueueHandler``
whose ``prepare()`` is skipped (the record is enqueued as is) feeding a
``QueueListener`` whose handler does nothing. Cost of the logging call = loop time with
the call minus the same loop (raise 6 frames deep, catch) without it, measured as the
calling thread's CPU time (``time.thread_time``, so the background threads' GIL share is
not billed to the caller) and also as wall time. Rounds are interleaved; best of each.
"with breadcrumbs": the same ``IssueHandler`` call made in a context whose breadcrumb
trail is full (50 INFO records logged before; the sender renders them into every event
it builds).

    python -m bench.client_caller_cost
"""

from __future__ import annotations

import contextvars
import logging
import logging.handlers
import queue
import tempfile
import time
from collections.abc import Callable, Mapping
from typing import Any

from afissue_logging import IssueHandler
from afissue_logging.testing import CapturedRequest, CapturingTransport, accepted, reset
from bench._table import format_rows

N = 20_000
ROUNDS = 7


class _RawQueueHandler(logging.handlers.QueueHandler):
    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


class _NoOp(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        pass


def _depth(n: int) -> None:
    if n:
        _depth(n - 1)
    else:
        raise ValueError("bench failure")


def _loop(log: logging.Logger | None, n: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.thread_time()
    for _ in range(n):
        try:
            _depth(5)  # with the caller's frame: logger.exception() is 6 frames deep
        except ValueError:
            if log is not None:
                log.exception("operation failed")
    return time.perf_counter() - wall, time.thread_time() - cpu


class _NoNetwork(CapturingTransport):
    def send(self, body: bytes, headers: Mapping[str, str], timeout: float) -> Any:
        return accepted(CapturedRequest(body, headers).events)


def measure(n: int = N, rounds: int = ROUNDS) -> dict[str, float]:
    """Best-of-rounds per-call costs (µs) and the ratios."""
    floor_log = logging.getLogger("bench.floor")
    ours_log = logging.getLogger("bench.ours")
    for log in (floor_log, ours_log):
        log.propagate = False
        log.handlers.clear()
    q: queue.Queue[logging.LogRecord] = queue.Queue()
    listener = logging.handlers.QueueListener(q, _NoOp())
    listener.start()
    floor_log.addHandler(_RawQueueHandler(q))
    spool = tempfile.mkdtemp(prefix="afissue-bench-")
    handler = IssueHandler(service="bench", spool_dir=spool, transport=_NoNetwork())
    ours_log.addHandler(handler)
    crumbs_log = logging.getLogger("bench.ours.crumbs")
    crumbs_log.setLevel(logging.INFO)
    with_crumbs = contextvars.copy_context()
    for number in range(50):
        with_crumbs.run(crumbs_log.info, "step %d of %s", number, "job")
    best: dict[str, list[float]] = {
        "base": [9e9, 9e9], "floor": [9e9, 9e9], "ours": [9e9, 9e9], "crumbs": [9e9, 9e9]
    }
    runs: dict[str, Callable[[], tuple[float, float]]] = {
        "base": lambda: _loop(None, n),
        "floor": lambda: _loop(floor_log, n),
        "ours": lambda: _loop(ours_log, n),
        "crumbs": lambda: with_crumbs.run(_loop, ours_log, n),
    }
    try:
        for _ in range(rounds):
            for name, run in runs.items():
                wall, cpu = run()
                best[name] = [min(best[name][0], wall), min(best[name][1], cpu)]
            handler.flush(30)
            while not q.empty():
                time.sleep(0.01)
    finally:
        listener.stop()
        ours_log.removeHandler(handler)
        floor_log.handlers.clear()
    stats = handler.stats()
    reset()
    per = {k: [(v[0] - best["base"][0]) / n * 1e6, (v[1] - best["base"][1]) / n * 1e6]
           for k, v in best.items()}
    return {
        "floor_cpu_us": per["floor"][1],
        "ours_cpu_us": per["ours"][1],
        "floor_wall_us": per["floor"][0],
        "ours_wall_us": per["ours"][0],
        "ratio_cpu": per["ours"][1] / per["floor"][1],
        "ratio_wall": per["ours"][0] / per["floor"][0],
        "crumbs_cpu_us": per["crumbs"][1],
        "ratio_crumbs_cpu": per["crumbs"][1] / per["floor"][1],
        "dropped": float(stats["dropped_total"]),
    }


def run() -> list[dict[str, Any]]:
    """Rows for the benchmark table."""
    m = measure()
    name = "client caller cost (logger.exception, 6 frames deep)"
    return [
        {"benchmark": name, "metric": "IssueHandler µs/call (thread CPU)",
         "value": round(m["ours_cpu_us"], 2), "target": "", "ok": True},
        {"benchmark": name, "metric": "floor QueueHandler µs/call (thread CPU)",
         "value": round(m["floor_cpu_us"], 2), "target": "", "ok": True},
        {"benchmark": name, "metric": "ratio vs floor (thread CPU)",
         "value": round(m["ratio_cpu"], 2), "target": "<= 2.0", "ok": m["ratio_cpu"] <= 2.0},
        {"benchmark": name, "metric": "ratio vs floor (wall)",
         "value": round(m["ratio_wall"], 2), "target": "<= 2.0 (informative)",
         "ok": m["ratio_wall"] <= 2.0},
        {"benchmark": name, "metric": "with breadcrumbs: ratio vs floor (thread CPU)",
         "value": round(m["ratio_crumbs_cpu"], 2), "target": "<= 2.0",
         "ok": m["ratio_crumbs_cpu"] <= 2.0},
        {"benchmark": name, "metric": "events dropped",
         "value": m["dropped"], "target": "== 0", "ok": m["dropped"] == 0},
    ]


if __name__ == "__main__":
    print(format_rows(run()))
