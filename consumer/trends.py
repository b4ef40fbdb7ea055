"""Per-issue trends: hourly and daily occurrence counts as maps on the issue document.

``trend_hourly`` maps an hour ``YYYYMMDDHH`` (UTC) to the occurrences whose time falls in
that hour, for the last :data:`HOURLY_BUCKETS` hours; ``trend_daily`` maps a day
``YYYYMMDD`` (UTC) to its occurrences, for the last :data:`DAILY_BUCKETS` days. An update
writes them as ``Increment`` on dotted keys (``trend_hourly.2026120214``): a nested
object would *set* the map instead. Keys that fell out of the window are deleted in the
same update (:data:`DELETE`). The keys are fixed-width digits, so their string order is
their time order.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "DAILY_BUCKETS",
    "DAILY_FIELD",
    "DELETE",
    "HOURLY_BUCKETS",
    "HOURLY_FIELD",
    "Delete",
    "day_key",
    "epoch_hour",
    "hour_key",
    "plan_trends",
    "window_start",
]

HOURLY_FIELD: Final = "trend_hourly"
DAILY_FIELD: Final = "trend_daily"
#: 14 days of hours, 90 days.
HOURLY_BUCKETS: Final = 14 * 24
DAILY_BUCKETS: Final = 90


class Delete:
    """An update's value that removes the (dotted) field from the stored document."""

    _instance: Delete | None = None

    def __new__(cls) -> Delete:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DELETE"


DELETE: Final = Delete()


def hour_key(moment: _dt.datetime) -> str:
    """``YYYYMMDDHH`` of *moment* in UTC."""
    return moment.astimezone(_dt.UTC).strftime("%Y%m%d%H")


def day_key(moment: _dt.datetime) -> str:
    """``YYYYMMDD`` of *moment* in UTC."""
    return moment.astimezone(_dt.UTC).strftime("%Y%m%d")


def epoch_hour(moment: _dt.datetime) -> int:
    """Hours from the epoch to *moment*'s hour (cheap: counted per occurrence)."""
    return int(moment.timestamp()) // 3600


def window_start(now: _dt.datetime) -> tuple[str, str]:
    """The oldest hourly and daily key still kept at *now*."""
    hour = now.astimezone(_dt.UTC).replace(minute=0, second=0, microsecond=0)
    return (hour_key(hour - _dt.timedelta(hours=HOURLY_BUCKETS - 1)),
            day_key(hour - _dt.timedelta(days=DAILY_BUCKETS - 1)))


def _stale(stored: Any, oldest: str) -> list[str]:
    keys = stored.keys() if isinstance(stored, Mapping) else ()
    return sorted(k for k in keys if isinstance(k, str) and k < oldest)


def plan_trends(
    existing: Mapping[str, Any] | None, hourly: Mapping[int, int], now: _dt.datetime,
    increment: Any,
) -> dict[str, Any]:
    """The fields that add *hourly* (:func:`epoch_hour` -> occurrences) to the trend maps at *now*.

    For a new document (*existing* ``None``) the maps themselves; else ``increment(n)``
    per dotted key and :data:`DELETE` per stored key older than the window. Counts of
    hours (days) older than the window are not written at all.
    """
    oldest_hour, oldest_day = window_start(now)
    hours: dict[str, int] = {}
    days: dict[str, int] = {}
    for hour, count in hourly.items():
        key = hour_key(_dt.datetime.fromtimestamp(hour * 3600, _dt.UTC))
        if key >= oldest_hour:
            hours[key] = hours.get(key, 0) + count
        if key[:8] >= oldest_day:
            days[key[:8]] = days.get(key[:8], 0) + count
    if existing is None:
        return {HOURLY_FIELD: hours, DAILY_FIELD: days}
    fields: dict[str, Any] = {}
    for name, counts, oldest in ((HOURLY_FIELD, hours, oldest_hour),
                                 (DAILY_FIELD, days, oldest_day)):
        for key in _stale(existing.get(name), oldest):
            fields[f"{name}.{key}"] = DELETE
        for key, count in sorted(counts.items()):
            fields[f"{name}.{key}"] = increment(count)
    return fields
