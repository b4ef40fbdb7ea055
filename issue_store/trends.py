"""An issue's trend maps read back: series for a window ending now, and their charts.

The consumer writes ``trend_hourly`` (``YYYYMMDDHH`` -> occurrences) and ``trend_daily``
(``YYYYMMDD`` -> occurrences), UTC (``consumer.trends``). An idle issue keeps keys until
its next write, so every series here is computed at read time from *now*: a count is
never stale, whatever was stored when. Charts are SVG built on the server (the UI's
Content-Security-Policy allows no script); the CLI gets a text sparkline.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
from collections.abc import Mapping, Sequence
from html import escape as _html_escape
from typing import Any, TypeVar

__all__ = [
    "BUSIEST_SORT",
    "Series",
    "bar_chart_svg",
    "busiest_first",
    "daily_series",
    "events_last_24h",
    "hourly_series",
    "sparkline_svg",
    "text_sparkline",
]

_BLOCKS = "▁▂▃▄▅▆▇█"
_Issue = TypeVar("_Issue", bound=Mapping[str, Any])
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: The list's sort by events in the last 24 hours (computed at read time, see
#: :func:`busiest_first`), next to the stored sorts of ``issue_store.query.SORTS``.
BUSIEST_SORT = "events_24h"


@dataclasses.dataclass(frozen=True)
class Series:
    """Counts per bucket, oldest first, with each bucket's start (UTC)."""

    starts: tuple[_dt.datetime, ...]
    counts: tuple[int, ...]
    unit: str  # "hour" | "day"

    @property
    def total(self) -> int:
        return sum(self.counts)


def escape(text: str) -> str:
    """*text* for SVG (XML): escaped, without the characters XML cannot hold."""
    return _html_escape(_NOT_XML.sub("", text))


def _counts(raw: Any) -> dict[str, int]:
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): v for k, v in raw.items() if isinstance(v, int) and not isinstance(v, bool)}


def hourly_series(issue: Mapping[str, Any], now: _dt.datetime, hours: int = 24) -> Series:
    """The last *hours* hours ending with the current one, from ``trend_hourly``."""
    stored = _counts(issue.get("trend_hourly"))
    current = now.astimezone(_dt.UTC).replace(minute=0, second=0, microsecond=0)
    starts = tuple(current - _dt.timedelta(hours=h) for h in range(hours - 1, -1, -1))
    return Series(starts, tuple(stored.get(s.strftime("%Y%m%d%H"), 0) for s in starts), "hour")


def daily_series(issue: Mapping[str, Any], now: _dt.datetime, days: int = 14) -> Series:
    """The last *days* days ending with today, from ``trend_daily``."""
    stored = _counts(issue.get("trend_daily"))
    today = now.astimezone(_dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    starts = tuple(today - _dt.timedelta(days=d) for d in range(days - 1, -1, -1))
    return Series(starts, tuple(stored.get(s.strftime("%Y%m%d"), 0) for s in starts), "day")


def events_last_24h(issue: Mapping[str, Any], now: _dt.datetime) -> int:
    """Occurrences in the 24 hourly buckets ending with the current hour."""
    return hourly_series(issue, now).total


def text_sparkline(counts: Sequence[int]) -> str:
    """One block character per bucket (``▁`` for none, ``▂``..``█`` scaled to the
    largest, so any non-zero bucket shows)."""
    top = max(counts, default=0)
    levels = len(_BLOCKS) - 1
    return "".join(
        _BLOCKS[0] if c <= 0 else _BLOCKS[1 + min(levels - 1, (c * levels - 1) // top)]
        for c in counts
    )


def _label(start: _dt.datetime, unit: str) -> str:
    if unit == "hour":
        return f"{start:%Y-%m-%d %H:00}-{start + _dt.timedelta(hours=1):%H:00} UTC"
    return f"{start:%Y-%m-%d} UTC"


def sparkline_svg(series: Series, width: int = 96, height: int = 22) -> str:
    """A small bar sparkline (no axes) whose accessible name states the total."""
    n = max(len(series.counts), 1)
    top = max(series.counts, default=0) or 1
    step = width / n
    bars = []
    for i, count in enumerate(series.counts):
        h = 0.0 if count <= 0 else max(1.0, count / top * (height - 1))
        bars.append(
            f'<rect x="{i * step:.2f}" y="{height - h:.2f}" width="{max(step - 1, 1):.2f}" '
            f'height="{h:.2f}"><title>{escape(_label(series.starts[i], series.unit))}: '
            f"{count}</title></rect>"
        )
    name = f"{series.total} events in the last {len(series.counts)} {series.unit}s"
    return (
        f'<svg class="spark" role="img" aria-label="{escape(name)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f'<rect class="base" x="0" y="{height - 1}" width="{width}" height="1"></rect>'
        + "".join(bars) + "</svg>"
    )


def bar_chart_svg(series: Series, title: str, width: int = 560, height: int = 140) -> str:
    """A bar chart with the peak on a gridline, first/last bucket labels and a tooltip
    (``<title>``) per bar: the bucket and its count."""
    left, bottom, top_pad = 36, 18, 8
    plot_w, plot_h = width - left - 4, height - bottom - top_pad
    n = max(len(series.counts), 1)
    peak = max(series.counts, default=0)
    scale = peak or 1
    step = plot_w / n
    parts = [
        f'<line class="axis" x1="{left}" y1="{top_pad + plot_h}" x2="{width - 4}" '
        f'y2="{top_pad + plot_h}"></line>',
        f'<line class="grid" x1="{left}" y1="{top_pad}" x2="{width - 4}" y2="{top_pad}"></line>',
        f'<text class="tick" x="{left - 4}" y="{top_pad + 4}" text-anchor="end">{peak}</text>',
        f'<text class="tick" x="{left - 4}" y="{top_pad + plot_h}" text-anchor="end">0</text>',
    ]
    for i, count in enumerate(series.counts):
        h = 0.0 if count <= 0 else max(1.0, count / scale * plot_h)
        parts.append(
            f'<rect class="bar" x="{left + i * step + 0.5:.2f}" y="{top_pad + plot_h - h:.2f}" '
            f'width="{max(step - 1.5, 1):.2f}" height="{h:.2f}" data-count="{count}">'
            f"<title>{escape(_label(series.starts[i], series.unit))}: {count} events</title></rect>"
        )
    if series.starts:
        fmt = "%H:00" if series.unit == "hour" else "%b %d"
        parts.append(f'<text class="tick" x="{left}" y="{height - 4}">'
                     f"{series.starts[0]:{fmt}}</text>")
        parts.append(f'<text class="tick" x="{width - 4}" y="{height - 4}" text-anchor="end">'
                     f"{series.starts[-1]:{fmt}}</text>")
    name = f"{title}: {series.total} events, peak {peak} per {series.unit}"
    return (
        f'<svg class="chart" role="img" aria-label="{escape(name)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(name)}</title>" + "".join(parts) + "</svg>"
    )


def busiest_first(issues: Sequence[_Issue], now: _dt.datetime) -> list[_Issue]:
    """*issues* (read most recently seen first) ordered by events in the last 24 hours,
    then by last seen.

    Every issue with an event in the last 24 hours was seen after every issue without
    one, so a list read by ``last_seen`` descending holds all of them first: ordering
    that prefix at read time is exact, with no stored count that goes stale as the
    hours pass without events.
    """
    ranked = sorted(enumerate(issues), key=lambda pair: (-events_last_24h(pair[1], now), pair[0]))
    return [issue for _index, issue in ranked]
