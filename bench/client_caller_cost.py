"""Caller-thread cost of ``logger.exception()`` 6 frames deep: IssueHandler vs the floor.

IssueHandler is measured as configured by default (``capture_locals`` off), with 50
breadcrumbs in the caller's trail (on by default), with ``capture_locals=True`` (the local
variables of the 6 in-app frames copied), and with both. When sentry-sdk is installed, its
logging integration with ``include_local_variables`` is measured afterwards against a
floor of its own phase, as information.

The floor (SPEC §8) is the cheapest possible asynchronous handler: a ``QueueHandler``
whose ``prepare()`` is skipped (the record is enqueued as is) feeding a
``QueueListener`` whose handler does nothing. Cost of the logging call = loop time with
the call minus the same loop (raise 6 frames deep, catch) without it, measured as the
calling thread's CPU time (``time.thread_time``, so the background threads' GIL share is
not billed to the caller) and also as wall time. Rounds are interleaved; best of each.

    python -m bench.client_caller_cost
"""

from __future__ import annotations

import contextvars
import json
import logging
import logging.handlers
import queue
import subprocess
import sys
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


def _best(
    runs: Mapping[str, Callable[[], tuple[float, float]]], rounds: int,
    between: Callable[[], None],
) -> dict[str, list[float]]:
    best = {name: [9e9, 9e9] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            wall, cpu = run()
            best[name] = [min(best[name][0], wall), min(best[name][1], cpu)]
        between()
    return best


def _per_call(best: dict[str, list[float]], n: int) -> dict[str, list[float]]:
    return {k: [(v[0] - best["base"][0]) / n * 1e6, (v[1] - best["base"][1]) / n * 1e6]
            for k, v in best.items()}


def measure_sentry(n: int = N // 10, rounds: int = 3) -> dict[str, float] | None:
    """sentry-sdk's logging integration with locals on vs the floor, or None if absent.

    ``sentry_sdk.init`` patches every logger of the process, so :func:`run` calls this
    in a child process (:func:`_sentry_in_child`): in ``python -m bench`` every later
    benchmark would otherwise log through sentry-sdk.
    """
    try:
        import sentry_sdk
        from sentry_sdk.integrations.logging import ignore_logger
        from sentry_sdk.transport import Transport
    except ImportError:
        return None

    class _Drop(Transport):
        def capture_envelope(self, envelope: Any) -> None:
            pass

    floor_log = logging.getLogger("bench.floor")
    floor_log.propagate = False
    floor_log.handlers.clear()
    sentry_log = logging.getLogger("bench.sentry")
    sentry_log.propagate = False
    sentry_log.handlers[:] = [logging.NullHandler()]
    q: queue.Queue[logging.LogRecord] = queue.Queue()
    listener = logging.handlers.QueueListener(q, _NoOp())
    listener.start()
    floor_log.addHandler(_RawQueueHandler(q))
    ignore_logger("bench.floor")
    sentry_sdk.init(dsn="http://key@127.0.0.1:9/1", transport=_Drop,
                    include_local_variables=True, default_integrations=True)
    try:
        best = _best(
            {"base": lambda: _loop(None, n), "floor": lambda: _loop(floor_log, n),
             "sentry": lambda: _loop(sentry_log, n)},
            rounds, lambda: None,
        )
    finally:
        listener.stop()
        floor_log.handlers.clear()
        client = sentry_sdk.get_client()
        client.close(timeout=1)
    per = _per_call(best, n)
    return {"sentry_cpu_us": per["sentry"][1], "ratio_cpu": per["sentry"][1] / per["floor"][1]}


def measure(n: int = N, rounds: int = ROUNDS) -> dict[str, float]:
    """Best-of-rounds per-call costs (µs) and the ratios: the default handler, with
    breadcrumbs (50 in the trail), with locals, and with both."""
    floor_log = logging.getLogger("bench.floor")
    ours_log = logging.getLogger("bench.ours")
    locals_log = logging.getLogger("bench.locals")
    for log in (floor_log, ours_log, locals_log):
        log.propagate = False
        log.handlers.clear()
    q: queue.Queue[logging.LogRecord] = queue.Queue()
    listener = logging.handlers.QueueListener(q, _NoOp())
    listener.start()
    floor_log.addHandler(_RawQueueHandler(q))
    spool = tempfile.mkdtemp(prefix="afissue-bench-")
    handler = IssueHandler(service="bench", spool_dir=spool, transport=_NoNetwork())
    ours_log.addHandler(handler)
    with_locals = IssueHandler(
        service="bench", spool_dir=spool, transport=_NoNetwork(), capture_locals=True
    )
    locals_log.addHandler(with_locals)
    crumbs_log = logging.getLogger("bench.ours.crumbs")
    crumbs_log.setLevel(logging.INFO)
    with_crumbs = contextvars.copy_context()
    for number in range(50):
        with_crumbs.run(crumbs_log.info, "step %d of %s", number, "job")
    runs: dict[str, Callable[[], tuple[float, float]]] = {
        "base": lambda: _loop(None, n),
        "floor": lambda: _loop(floor_log, n),
        "ours": lambda: _loop(ours_log, n),
        "crumbs": lambda: with_crumbs.run(_loop, ours_log, n),
        "locals": lambda: _loop(locals_log, n),
        "both": lambda: with_crumbs.run(_loop, locals_log, n),
    }

    def drain() -> None:
        handler.flush(30)
        with_locals.flush(30)
        while not q.empty():
            time.sleep(0.01)

    try:
        best = _best(runs, rounds, drain)
    finally:
        listener.stop()
        ours_log.removeHandler(handler)
        locals_log.removeHandler(with_locals)
        floor_log.handlers.clear()
    dropped = handler.stats()["dropped_total"] + with_locals.stats()["dropped_total"]
    reset()
    per = _per_call(best, n)
    floor = per["floor"][1]
    return {
        "floor_cpu_us": floor,
        "ours_cpu_us": per["ours"][1],
        "locals_cpu_us": per["locals"][1],
        "ratio_cpu": per["ours"][1] / floor,
        "ratio_wall": per["ours"][0] / per["floor"][0],
        "ratio_crumbs_cpu": per["crumbs"][1] / floor,
        "ratio_locals_cpu": per["locals"][1] / floor,
        "ratio_both_cpu": per["both"][1] / floor,
        "dropped": float(dropped),
    }


def run() -> list[dict[str, Any]]:
    """Rows for the benchmark table."""
    m = measure()
    name = "client caller cost (logger.exception, 6 frames deep)"
    rows: list[dict[str, Any]] = [
        {"benchmark": name, "metric": "IssueHandler µs/call (thread CPU)",
         "value": round(m["ours_cpu_us"], 2), "target": "", "ok": True},
        {"benchmark": name, "metric": "floor QueueHandler µs/call (thread CPU)",
         "value": round(m["floor_cpu_us"], 2), "target": "", "ok": True},
        {"benchmark": name, "metric": "ratio vs floor (thread CPU)",
         "value": round(m["ratio_cpu"], 2), "target": "<= 2.0", "ok": m["ratio_cpu"] <= 2.0},
        {"benchmark": name, "metric": "ratio vs floor (wall)",
         "value": round(m["ratio_wall"], 2), "target": "<= 2.0 (informative)",
         "ok": m["ratio_wall"] <= 2.0},
        {"benchmark": name, "metric": "with breadcrumbs (default): ratio vs floor (thread CPU)",
         "value": round(m["ratio_crumbs_cpu"], 2), "target": "<= 2.0",
         "ok": m["ratio_crumbs_cpu"] <= 2.0},
        {"benchmark": name, "metric": "IssueHandler µs/call (thread CPU), with locals",
         "value": round(m["locals_cpu_us"], 2), "target": "", "ok": True},
        {"benchmark": name, "metric": "with locals: ratio vs floor (thread CPU)",
         "value": round(m["ratio_locals_cpu"], 2), "target": "<= 2.0 to be on by default",
         "ok": True},
        {"benchmark": name, "metric": "with locals and breadcrumbs: ratio vs floor (thread CPU)",
         "value": round(m["ratio_both_cpu"], 2), "target": "<= 2.0 to be on by default",
         "ok": True},
        {"benchmark": name, "metric": "events dropped",
         "value": m["dropped"], "target": "== 0", "ok": m["dropped"] == 0},
    ]
    sentry = _sentry_in_child()
    if sentry is not None:
        rows.append(
            {"benchmark": name, "metric": "sentry-sdk with locals: ratio vs floor (thread CPU)",
             "value": round(sentry["ratio_cpu"], 2), "target": "(information)", "ok": True})
    return rows


def _sentry_in_child() -> dict[str, float] | None:
    """:func:`measure_sentry` in a child process, or None without sentry-sdk."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.client_caller_cost", "--sentry"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    try:
        result: dict[str, float] | None = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return result


if __name__ == "__main__":
    if sys.argv[1:] == ["--sentry"]:
        print(json.dumps(measure_sentry()))
    else:
        print(format_rows(run()))
