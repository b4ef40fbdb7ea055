"""Breadcrumbs: what ``logger.info`` costs the caller with them on, and whether memory returns.

1. Caller cost: ``logger.info("user %s paid %d", ...)`` on a logger at INFO with an
   ``IssueHandler`` (breadcrumbs on, the default) against the same call with a handler
   whose ``emit`` does nothing. Each cost is the loop with the call minus the empty loop,
   in the calling thread's CPU time; rounds interleaved, best of each. Target <= 1.3x.
   sentry-sdk's logging integration (breadcrumbs from INFO, its default), when it is
   installed, is measured the same way in a child process (it patches
   ``Logger.callHandlers`` for the whole process), as information.
2. Memory: 10,000 threads, then 10,000 asyncio tasks, each logging 100 INFO records and
   ending (100 at a time): the process's RSS afterwards is back within 5 MB of the RSS
   before (measured after one warm-up wave, so imports and the logging machinery's own
   caches are in the start figure).

    python -m bench.client_breadcrumbs
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

from afissue_logging import IssueHandler
from afissue_logging.testing import reset
from bench._table import format_rows

N = 50_000
ROUNDS = 7
WORKERS = 10_000
RECORDS = 100
WAVE = 100
_MB = 1024 * 1024


class _NoOp(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        pass


def _loop(log: logging.Logger | None, n: int) -> float:
    cpu = time.thread_time()
    for number in range(n):
        if log is not None:
            log.info("user %s paid %d", "bob", number)
    return time.thread_time() - cpu


def _logger(name: str, handler: logging.Handler) -> logging.Logger:
    log = logging.getLogger(name)
    log.propagate = False
    log.handlers.clear()
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    return log


def _costs(runs: dict[str, Callable[[], float]], n: int, rounds: int) -> dict[str, float]:
    best = dict.fromkeys(runs, 9e9)
    for _ in range(rounds):
        for name, run in runs.items():
            best[name] = min(best[name], run())
    return {name: (value - best["base"]) / n * 1e6 for name, value in best.items()}


def caller_cost(n: int = N, rounds: int = ROUNDS) -> dict[str, float]:
    """Per-call µs of logger.info: no-op handler and IssueHandler with breadcrumbs on."""
    noop_log = _logger("bench.crumbs.noop", _NoOp(logging.INFO))
    handler = IssueHandler(service="bench", spool_dir=tempfile.mkdtemp(prefix="afissue-bench-"),
                           capture_uncaught=False)
    ours_log = _logger("bench.crumbs.ours", handler)
    try:
        per = _costs({
            "base": lambda: _loop(None, n),
            "noop": lambda: _loop(noop_log, n),
            "ours": lambda: _loop(ours_log, n),
        }, n, rounds)
    finally:
        ours_log.removeHandler(handler)
        noop_log.handlers.clear()
        reset()
    return {"noop_us": per["noop"], "ours_us": per["ours"], "ratio": per["ours"] / per["noop"]}


def sentry_cost(n: int = N, rounds: int = ROUNDS) -> dict[str, float]:
    """The same measurement with sentry-sdk's logging integration (in this process)."""
    import sentry_sdk
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.transport import Transport

    class _Nowhere(Transport):
        def capture_envelope(self, envelope: Any) -> None:
            pass

    noop_log = _logger("bench.crumbs.noop", _NoOp(logging.INFO))
    plain = _costs({"base": lambda: _loop(None, n), "noop": lambda: _loop(noop_log, n)},
                   n, rounds)
    sentry_sdk.init(dsn="http://key@127.0.0.1:9/1", transport=_Nowhere,
                    integrations=[LoggingIntegration(level=logging.INFO,
                                                     event_level=logging.ERROR)])
    with_sentry = _costs({"base": lambda: _loop(None, n), "noop": lambda: _loop(noop_log, n)},
                         n, rounds)
    return {"noop_us": plain["noop"], "sentry_us": with_sentry["noop"],
            "ratio": with_sentry["noop"] / plain["noop"]}


def _sentry_in_child() -> dict[str, float] | None:
    try:
        import sentry_sdk  # noqa: F401
    except ImportError:
        return None
    done = subprocess.run(
        [sys.executable, "-m", "bench.client_breadcrumbs", "--sentry"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    try:
        result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return result


def _rss() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _log_records(log: logging.Logger) -> None:
    for number in range(RECORDS):
        log.info("step %d of %s", number, "job")


async def _log_records_async(log: logging.Logger) -> None:
    for number in range(RECORDS):
        log.info("step %d of %s", number, "job")
        if number % 10 == 0:
            await asyncio.sleep(0)


def _thread_wave(log: logging.Logger) -> None:
    threads = [threading.Thread(target=_log_records, args=(log,)) for _ in range(WAVE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


async def _task_waves(log: logging.Logger, waves: int) -> None:
    for _ in range(waves):
        await asyncio.gather(*(_log_records_async(log) for _ in range(WAVE)))


def memory(workers: int = WORKERS) -> dict[str, float]:
    """RSS growth (MB) after *workers* threads and *workers* tasks each logged RECORDS."""
    handler = IssueHandler(service="bench", spool_dir=tempfile.mkdtemp(prefix="afissue-bench-"),
                           capture_uncaught=False)
    log = _logger("bench.crumbs.memory", handler)
    growth: dict[str, float] = {}
    try:
        for kind in ("threads", "tasks"):
            waves = workers // WAVE
            if kind == "threads":
                _thread_wave(log)  # warm-up: thread machinery, logging caches
                gc.collect()
                start = _rss()
                for _ in range(waves):
                    _thread_wave(log)
            else:
                asyncio.run(_task_waves(log, 1))
                gc.collect()
                start = _rss()
                asyncio.run(_task_waves(log, waves))
            gc.collect()
            growth[kind] = (_rss() - start) / _MB
    finally:
        log.removeHandler(handler)
        reset()
    return growth


def run() -> list[dict[str, Any]]:
    """Rows for the benchmark table."""
    cost = caller_cost()
    sentry = _sentry_in_child()
    grew = memory()
    name = "client breadcrumbs (logger.info, INFO logger)"
    rows: list[dict[str, Any]] = [
        {"benchmark": name, "metric": "IssueHandler, breadcrumbs on: µs/call (thread CPU)",
         "value": round(cost["ours_us"], 2), "target": "", "ok": True},
        {"benchmark": name, "metric": "handler whose emit does nothing: µs/call",
         "value": round(cost["noop_us"], 2), "target": "", "ok": True},
        {"benchmark": name, "metric": "ratio breadcrumbs on / no-op emit",
         "value": round(cost["ratio"], 2), "target": "<= 1.3", "ok": cost["ratio"] <= 1.3},
    ]
    if sentry is not None:
        rows.append({"benchmark": name,
                     "metric": "sentry-sdk breadcrumbs / no-op emit (informative)",
                     "value": round(sentry["ratio"], 2), "target": "-", "ok": True})
    memory_name = f"client breadcrumbs memory ({WORKERS:,} x {RECORDS} INFO records)"
    for kind in ("threads", "tasks"):
        rows.append({"benchmark": memory_name, "metric": f"RSS growth after {kind} end, MB",
                     "value": round(grew[kind], 1), "target": "<= 5",
                     "ok": grew[kind] <= 5})
    return rows


if __name__ == "__main__":
    if sys.argv[1:] == ["--sentry"]:
        print(json.dumps(sentry_cost()))
    else:
        print(format_rows(run()))
