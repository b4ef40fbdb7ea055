"""Trend buckets: hour and day keys around boundaries, and what a flush adds and deletes."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from consumer import trends
from consumer.document import Increment
from tests.consumer.fake_store import _applied

_MOMENTS = st.datetimes(
    min_value=_dt.datetime(2000, 1, 1), max_value=_dt.datetime(2090, 1, 1),
    timezones=st.just(_dt.UTC),
)
#: Times within a few seconds of an hour boundary, where an off-by-one would show.
_BOUNDARIES = st.builds(
    lambda hour, offset: _dt.datetime(2026, 1, 1, tzinfo=_dt.UTC)
    + _dt.timedelta(hours=hour, microseconds=offset),
    st.integers(0, 24 * 800), st.integers(-2_000_000, 2_000_000),
)


def _hour_of(moment: _dt.datetime) -> int:
    return trends.epoch_hour(moment)


class TestKeys:
    """hour_key, day_key and epoch_hour."""

    @given(_MOMENTS | _BOUNDARIES)
    def test_hour_key_is_the_hour_of_the_moment(self, moment: _dt.datetime) -> None:
        """The hour key names the UTC hour the moment falls in, as epoch_hour counts it."""
        start = moment.replace(minute=0, second=0, microsecond=0)
        assert trends.hour_key(moment) == start.strftime("%Y%m%d%H")
        assert trends.hour_key(moment) == trends.hour_key(
            _dt.datetime.fromtimestamp(trends.epoch_hour(moment) * 3600, _dt.UTC))
        assert trends.day_key(moment) == trends.hour_key(moment)[:8]

    @given(_BOUNDARIES)
    def test_keys_order_as_time(self, moment: _dt.datetime) -> None:
        """A later moment never has a smaller key: string order is time order."""
        later = moment + _dt.timedelta(microseconds=1)
        assert trends.hour_key(later) >= trends.hour_key(moment)
        assert (trends.hour_key(later) != trends.hour_key(moment)) == (
            later.minute == 0 and later.second == 0 and later.microsecond == 0)

    @given(_BOUNDARIES, st.sampled_from([_dt.timezone(_dt.timedelta(hours=h)) for h in (-8, 0, 5)]))
    def test_keys_are_utc_whatever_the_zone(self, moment: _dt.datetime, zone: _dt.tzinfo) -> None:
        """The same instant in another zone has the same keys (UTC, no DST)."""
        assert trends.hour_key(moment.astimezone(zone)) == trends.hour_key(moment)
        assert trends.day_key(moment.astimezone(zone)) == trends.day_key(moment)


_NOW = _dt.datetime(2026, 12, 2, 14, 30, tzinfo=_dt.UTC)


def _total(document: dict[str, Any], field: str) -> int:
    counts = document.get(field, {})
    return sum(counts.values())


class TestPlanTrends:
    """plan_trends"""

    @given(st.lists(st.tuples(st.integers(0, 100 * 24 * 3600), st.integers(1, 5)), max_size=40))
    def test_new_document_holds_the_window_only(self, ages: list[tuple[int, int]]) -> None:
        """A new issue's maps count exactly the occurrences of the last 336 hours / 90 days."""
        hourly: dict[int, int] = {}
        for age, count in ages:
            hour = _hour_of(_NOW - _dt.timedelta(seconds=age))
            hourly[hour] = hourly.get(hour, 0) + count
        fields = trends.plan_trends(None, hourly, _NOW, Increment)
        oldest_hour, oldest_day = trends.window_start(_NOW)
        in_hours = sum(c for a, c in ages
                       if trends.hour_key(_NOW - _dt.timedelta(seconds=a)) >= oldest_hour)
        in_days = sum(c for a, c in ages
                      if trends.day_key(_NOW - _dt.timedelta(seconds=a)) >= oldest_day)
        assert _total(fields, trends.HOURLY_FIELD) == in_hours
        assert _total(fields, trends.DAILY_FIELD) == in_days
        assert len(fields[trends.HOURLY_FIELD]) <= trends.HOURLY_BUCKETS
        assert len(fields[trends.DAILY_FIELD]) <= trends.DAILY_BUCKETS

    def test_update_uses_dotted_increments(self) -> None:
        """An update increments single keys, never sets the map (which would drop the others)."""
        fields = trends.plan_trends({}, {_hour_of(_NOW): 3}, _NOW, Increment)
        assert fields == {"trend_hourly.2026120214": Increment(3),
                          "trend_daily.20261202": Increment(3)}

    def test_old_keys_are_deleted(self) -> None:
        """Stored keys older than the window are deleted in the same update; kept ones stay."""
        existing = {"trend_hourly": {"2026111814": 1, "2026111815": 2},
                    "trend_daily": {"20260903": 4, "20260904": 5}}
        fields = trends.plan_trends(existing, {_hour_of(_NOW): 1}, _NOW, Increment)
        assert fields["trend_hourly.2026111814"] is trends.DELETE
        assert fields["trend_daily.20260903"] is trends.DELETE
        assert "trend_hourly.2026111815" not in fields
        assert "trend_daily.20260904" not in fields

    @given(st.lists(st.tuples(st.integers(0, 200 * 3600), st.integers(0, 30 * 3600),
                              st.integers(1, 9)), max_size=30))
    def test_buckets_sum_to_the_count_through_flushes(
        self, flushes: list[tuple[int, int, int]]
    ) -> None:
        """Flush after flush, the hourly buckets sum to every occurrence still in the window."""
        document: dict[str, Any] | None = None
        seen: list[tuple[_dt.datetime, int]] = []
        now = _NOW
        for step, age, count in flushes:
            now += _dt.timedelta(seconds=step)
            moment = now - _dt.timedelta(seconds=age)
            seen.append((moment, count))
            fields = trends.plan_trends(document, {_hour_of(moment): count}, now, Increment)
            document = fields if document is None else _applied(document, fields)
            oldest_hour, oldest_day = trends.window_start(now)
            assert _total(document, trends.HOURLY_FIELD) == sum(
                c for m, c in seen if trends.hour_key(m) >= oldest_hour)
            assert _total(document, trends.DAILY_FIELD) == sum(
                c for m, c in seen if trends.day_key(m) >= oldest_day)
            assert min(document[trends.HOURLY_FIELD], default=oldest_hour) >= oldest_hour
