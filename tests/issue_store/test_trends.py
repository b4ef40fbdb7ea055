"""Trend series read back from the stored maps, their SVG charts and the text sparkline."""

from __future__ import annotations

import datetime as _dt
import xml.etree.ElementTree as ET
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from issue_store import trends

NOW = _dt.datetime(2026, 12, 2, 14, 30, tzinfo=_dt.UTC)
SVG = "{http://www.w3.org/2000/svg}"


def _issue(hours: dict[int, int] | None = None, days: dict[int, int] | None = None) -> dict[str, Any]:
    """An issue whose buckets are *hours* / *days* ago -> count."""
    hour = NOW.replace(minute=0)
    return {
        "trend_hourly": {(hour - _dt.timedelta(hours=h)).strftime("%Y%m%d%H"): c
                         for h, c in (hours or {}).items()},
        "trend_daily": {(hour - _dt.timedelta(days=d)).strftime("%Y%m%d"): c
                        for d, c in (days or {}).items()},
    }


class TestSeries:
    """hourly_series, daily_series, events_last_24h"""

    @given(st.dictionaries(st.integers(0, 400), st.integers(0, 10**6), max_size=40))
    def test_last_24_hours_only(self, hours: dict[int, int]) -> None:
        """The 24-hour series holds exactly the buckets of the current hour and the 23
        before it, oldest first; older stored keys are ignored."""
        series = trends.hourly_series(_issue(hours), NOW)
        assert series.counts == tuple(hours.get(h, 0) for h in range(23, -1, -1))
        assert trends.events_last_24h(_issue(hours), NOW) == sum(
            c for h, c in hours.items() if h < 24)
        assert series.starts[-1] == NOW.replace(minute=0)

    def test_fourteen_days_from_the_daily_map(self) -> None:
        """The 14-day series is today and the 13 days before, from trend_daily."""
        series = trends.daily_series(_issue(days={0: 4, 13: 2, 14: 99}), NOW)
        assert len(series.counts) == 14
        assert (series.counts[0], series.counts[-1], series.total) == (2, 4, 6)

    def test_an_old_document_has_empty_series(self) -> None:
        """A document written before the trend maps (or with odd values) reads as zeros."""
        assert trends.hourly_series({}, NOW).total == 0
        assert trends.hourly_series({"trend_hourly": {"2026120214": "x", "2026120213": True}},
                                    NOW).total == 0

    def test_counts_move_with_time_not_with_writes(self) -> None:
        """An idle issue's 24-hour count falls as its hours leave the window."""
        issue = _issue({0: 5, 20: 3})
        assert trends.events_last_24h(issue, NOW) == 8
        assert trends.events_last_24h(issue, NOW + _dt.timedelta(hours=4)) == 5
        assert trends.events_last_24h(issue, NOW + _dt.timedelta(hours=24)) == 0


class TestCharts:
    """bar_chart_svg and sparkline_svg"""

    def test_bar_chart_has_a_bar_and_tooltip_per_bucket(self) -> None:
        """One bar per hour carrying its count, a tooltip naming the hour, the peak labelled."""
        svg = trends.bar_chart_svg(trends.hourly_series(_issue({0: 7, 1: 3}), NOW), "Last 24 hours")
        root = ET.fromstring(svg)
        bars = root.findall(f"{SVG}rect[@class='bar']")
        assert [b.get("data-count") for b in bars][-2:] == ["3", "7"]
        assert len(bars) == 24
        assert bars[-1].findtext(f"{SVG}title") == "2026-12-02 14:00-15:00 UTC: 7 events"
        assert float(bars[-1].get("height", 0)) > float(bars[-2].get("height", 0)) > 0
        assert float(bars[0].get("height", 1)) == 0
        assert root.get("aria-label") == "Last 24 hours: 10 events, peak 7 per hour"

    def test_sparkline_is_valid_svg_without_script_or_style(self) -> None:
        """A sparkline is plain SVG: no script, no inline style (the CSP allows neither)."""
        svg = trends.sparkline_svg(trends.hourly_series(_issue({0: 1}), NOW))
        root = ET.fromstring(svg)
        assert root.get("aria-label") == "1 events in the last 24 hours"
        assert "script" not in svg and "style" not in svg
        assert len(root.findall(f"{SVG}rect")) == 25  # the baseline and 24 bars

    @given(st.text(max_size=30))
    def test_titles_are_escaped(self, title: str) -> None:
        """Whatever the chart title, the SVG parses and carries it (less what XML cannot hold)."""
        svg = trends.bar_chart_svg(trends.daily_series({}, NOW), title)
        kept = "".join(ch for ch in title if ord(ch) >= 32 or ch in "\t\n\r")
        kept = kept.replace("\r\n", "\n").replace("\r", "\n")  # XML's end-of-line handling
        assert ET.fromstring(svg).findtext(f"{SVG}title", "") == f"{kept}: 0 events, peak 0 per day"


class TestTextSparkline:
    """text_sparkline"""

    @given(st.lists(st.integers(0, 10**9), max_size=48))
    def test_one_block_per_bucket_any_count_shows(self, counts: list[int]) -> None:
        """One character per bucket; empty ones are ``▁``, any other is higher, the peak ``█``."""
        line = trends.text_sparkline(counts)
        assert len(line) == len(counts)
        for count, block in zip(counts, line, strict=True):
            assert (block == "▁") == (count == 0)
            if count == max(counts):
                assert block == ("█" if count else "▁")

    def test_order_follows_counts(self) -> None:
        """Bigger counts never get lower blocks."""
        assert trends.text_sparkline([0, 1, 2, 4, 8]) == "▁▂▃▅█"


class TestBusiestFirst:
    """busiest_first"""

    def test_orders_by_the_last_24_hours_then_by_recency(self) -> None:
        """Most events in the last 24 h first; ties (and no events) keep the read order."""
        quiet, busy, old, tie = _issue({30: 100}), _issue({0: 9}), _issue(), _issue({3: 9})
        assert trends.busiest_first([quiet, busy, old, tie], NOW) == [busy, tie, quiet, old]
