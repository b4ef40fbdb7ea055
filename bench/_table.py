"""Render benchmark rows as the table printed by ``python -m bench``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def format_rows(rows: Iterable[Mapping[str, Any]]) -> str:
    """A Markdown table (benchmark, metric, value, target, ok) of *rows*."""
    header = ["benchmark", "metric", "value", "target", "ok"]
    body = [
        [
            str(r["benchmark"]),
            str(r["metric"]),
            _value(r["value"]),
            str(r["target"]),
            "yes" if r["ok"] else "NO",
        ]
        for r in rows
    ]
    widths = [
        max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)
    ]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)) + " |" for b in body
    ]
    return "\n".join(lines)
