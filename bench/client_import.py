"""Import time of ``afissue_logging`` (``python -X importtime -c "import afissue_logging"``).

Reported as the cumulative import time of the package in a fresh interpreter (median of
5 runs) and as a ratio to ``import logging`` measured the same way.

    python -m bench.client_import
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from typing import Any

from bench._table import format_rows

RUNS = 5


def _cumulative_us(module: str) -> int:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True, text=True, check=True,
    )
    for line in result.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1])
    raise RuntimeError(f"no importtime line for {module}")


def measure() -> dict[str, float]:
    """Median cumulative import times (ms)."""
    ours = statistics.median(_cumulative_us("afissue_logging") for _ in range(RUNS)) / 1000
    logging_ms = statistics.median(_cumulative_us("logging") for _ in range(RUNS)) / 1000
    return {"ours_ms": ours, "logging_ms": logging_ms}


def run() -> list[dict[str, Any]]:
    """Rows for the benchmark table."""
    m = measure()
    name = "client import time"
    return [
        {"benchmark": name, "metric": "import afissue_logging (ms, cumulative)",
         "value": round(m["ours_ms"], 1), "target": "report", "ok": True},
        {"benchmark": name, "metric": "ratio to import logging",
         "value": round(m["ours_ms"] / m["logging_ms"], 1), "target": "report", "ok": True},
        {"benchmark": name, "metric": "import logging (ms, same run)",
         "value": round(m["logging_ms"], 1), "target": "informative", "ok": True},
    ]


if __name__ == "__main__":
    print(format_rows(run()))
