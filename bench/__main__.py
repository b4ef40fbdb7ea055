"""``python -m bench``: run every benchmark of SPEC section 8 and print one table.

Each benchmark module under ``bench/`` exposes ``run() -> list[dict]`` whose rows are
``{"benchmark", "metric", "value", "target", "ok"}``; figures are ratios measured
against a baseline in the same run, never absolute timings. ``--only SUBSTRING``
runs the modules whose name contains it; ``--json`` prints the rows as JSON.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench._table import format_rows


def _modules(only: str | None) -> list[str]:
    here = Path(__file__).parent
    names = [m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_")]
    return sorted(n for n in names if only is None or only in n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", help="run modules whose name contains this")
    parser.add_argument("--json", action="store_true", help="print rows as JSON")
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    for name in _modules(args.only):
        started = time.monotonic()
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"bench.{name}")
            rows.extend(module.run())
        except Exception:
            traceback.print_exc()
            rows.append(
                {
                    "benchmark": name,
                    "metric": "failed to run",
                    "value": float("nan"),
                    "target": "-",
                    "ok": False,
                }
            )
        print(f"bench: {name} took {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)
    print(json.dumps(rows, indent=2) if args.json else format_rows(rows))
    return 0 if all(row["ok"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
