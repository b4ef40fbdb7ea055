"""The issue document layout and what one window writes to it."""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afissue_logging.wire import encode_event
from consumer.coalesce import IssueDelta
from consumer.document import (
    READ_FIELDS,
    Increment,
    culprit,
    latest_payload,
    plan_issue_write,
)
from consumer.occurrence import Occurrence, parse_occurrence
from tests.consumer.helpers import BASE_TIME, make_event
from tests.firestore_rules import violations

NOW = _dt.datetime(2026, 11, 26, 20, 0, tzinfo=_dt.UTC)


def _delta(at: float = BASE_TIME, count: int = 1, **fields: Any) -> IssueDelta:
    return IssueDelta.start(parse_occurrence(encode_event(make_event("a", at=at, count=count,
                                                                     **fields))))


def _time(offset: float) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(BASE_TIME + offset, tz=_dt.UTC)


class TestCulprit:
    """culprit()"""

    def test_innermost_in_app_frame(self) -> None:
        """The innermost in-app frame names the culprit, not library frames around it."""
        assert culprit(make_event()) == "app.pay in charge"

    def test_logger_without_exception(self) -> None:
        """Without an exception the logger name is the culprit."""
        event = make_event()
        del event["exception"]
        assert culprit(event) == "app.payments"


class TestPlanIssueWrite:
    """plan_issue_write()"""

    def test_new_issue_has_every_console_field(self) -> None:
        """A first occurrence creates a flat document with every documented field."""
        plan = plan_issue_write(None, _delta(count=3), NOW, 20, 20)
        assert plan.created
        fields = plan.fields
        for name in ("issue_id", "service", "fingerprint", "title", "culprit", "level", "type",
                     "priority", "status", "count", "first_seen", "last_seen", "environments",
                     "releases", "latest", "created_at", "updated_at", "regressed_at",
                     "status_history"):
            assert name in fields, name
        assert (fields["status"], fields["count"], fields["environments"]) == ("open", 3, ["prod"])
        assert fields["latest"]["frames"][1]["function"] == "charge"
        assert fields["latest"]["exception"]["type"] == "ValueError"
        assert fields["latest"]["context"]["release"] == "1.0.0"

    def test_existing_issue_is_incremented(self) -> None:
        """Later windows increment the count instead of overwriting it."""
        existing = {"status": "open", "first_seen": _time(0), "last_seen": _time(10)}
        plan = plan_issue_write(existing, _delta(at=BASE_TIME + 5, count=4), NOW, 20, 20)
        assert not plan.created
        assert isinstance(plan.fields["count"], Increment)
        assert plan.fields["count"].value == 4

    def test_older_occurrence_keeps_last_seen_and_latest(self) -> None:
        """An occurrence older than last_seen does not replace last_seen or latest."""
        existing = {"status": "open", "first_seen": _time(0), "last_seen": _time(10)}
        plan = plan_issue_write(existing, _delta(at=BASE_TIME + 5), NOW, 20, 20)
        assert "last_seen" not in plan.fields
        assert "latest" not in plan.fields
        assert "first_seen" not in plan.fields

    def test_earlier_occurrence_moves_first_seen(self) -> None:
        """An occurrence before first_seen moves it back."""
        existing = {"status": "open", "first_seen": _time(0), "last_seen": _time(10)}
        plan = plan_issue_write(existing, _delta(at=BASE_TIME - 5), NOW, 20, 20)
        assert plan.fields["first_seen"] == _time(-5)

    def test_bounded_lists(self) -> None:
        """Environments seen stay within the bound, the most recent kept."""
        existing = {"status": "open", "environments": [f"e{i}" for i in range(3)]}
        plan = plan_issue_write(existing, _delta(environment="new"), NOW, 3, 20)
        assert plan.fields["environments"] == ["e1", "e2", "new"]

    def test_occurrence_ring_slot(self) -> None:
        """The recent-occurrence document cycles through a ring of the configured size."""
        plan = plan_issue_write({"status": "open", "occurrence_seq": 7}, _delta(), NOW, 20, 5)
        assert plan.occurrence_slot == "02"
        assert plan.occurrence["coalesced_count"] == 1


class TestLatestPayload:
    """latest_payload()"""

    def test_deep_nesting_is_kept_as_text(self) -> None:
        """Values nested deeper than Firestore accepts are stored as JSON text."""
        deep: Any = "leaf"
        for _ in range(30):
            deep = {"k": deep}
        payload = latest_payload(parse_occurrence(encode_event(make_event(extra={"deep": deep}))))
        node = payload["context"]["extra"]
        depth = 0
        while isinstance(node, dict):
            node = next(iter(node.values()))
            depth += 1
        assert depth < 10
        assert isinstance(node, str)
        assert json.loads(node)

    def test_request_is_kept_as_sent_even_beside_huge_frames(self) -> None:
        """The request object is stored whole, ahead of frames that spend the size budget."""
        request = {"method": "GET", "path": "/orders/7", "route": "/orders/{order_id}",
                   "query_string": "page=2&token=[Filtered]", "status": 500}
        frames = [{"filename": "x.py", "module": "x", "function": "f" * 1000, "lineno": 1,
                   "context_line": "y" * 4000, "in_app": True}] * 90
        event = make_event(request=request)
        event["exception"]["frames"] = frames
        payload = latest_payload(parse_occurrence(encode_event(event)))
        assert payload["request"] == request
        assert "request" not in latest_payload(parse_occurrence(encode_event(make_event())))


def _crumb(number: int, size: int, keys: int = 0) -> dict[str, Any]:
    return {"timestamp": "2026-11-26T19:59:00.000000Z", "level": "info", "logger": "app",
            "message": f"{number} " + "m" * size, "thread": "MainThread",
            **({"data": {f"k{n}": "v" * size for n in range(keys)}} if keys else {})}


class TestBreadcrumbs:
    """The latest occurrence's breadcrumbs: stored oldest first, within their own budget."""

    def test_stored_as_sent(self) -> None:
        """A few breadcrumbs are stored as the event carried them, oldest first."""
        crumbs = [_crumb(n, 10, keys=2) for n in range(3)]
        payload = latest_payload(parse_occurrence(encode_event(make_event(breadcrumbs=crumbs))))
        assert payload["breadcrumbs"] == crumbs
        assert "breadcrumbs" not in latest_payload(parse_occurrence(encode_event(make_event())))

    @given(
        count=st.integers(min_value=1, max_value=400),
        size=st.sampled_from([0, 100, 5_000, 60_000]),
        keys=st.integers(min_value=0, max_value=60),
        frame_text=st.sampled_from([0, 4_000]),
        extra_text=st.sampled_from([0, 300_000]),
    )
    @settings(max_examples=40, deadline=None)
    def test_huge_or_many_never_break_the_document_rules(
        self, count: int, size: int, keys: int, frame_text: int, extra_text: int
    ) -> None:
        """Whatever an event's breadcrumbs hold, beside huge frames and extra, the issue
        and ring documents stay within 1 MiB and 40,000 index entries; the newest
        breadcrumbs are the ones kept."""
        event = make_event(breadcrumbs=[_crumb(n, size, keys) for n in range(count)],
                           extra={"blob": "x" * extra_text})
        event["exception"]["frames"] = [
            {"filename": "x.py", "module": "x", "function": "f", "lineno": 1,
             "context_line": "y" * frame_text, "in_app": True}
        ] * 90
        # Built directly: past the wire's size limit too, which parsing would dead-letter.
        delta = IssueDelta.start(Occurrence("e" * 32, "i" * 32, NOW, 1, event))
        plan = plan_issue_write(None, delta, NOW, 20, 20)
        assert violations(plan.fields) == []
        assert violations(plan.occurrence) == []
        stored = plan.fields["latest"]["breadcrumbs"]
        kept = [c for c in stored if isinstance(c, dict)]
        assert kept and kept[-1]["message"].startswith(f"{count - 1} ")
        assert all(isinstance(c, dict) for c in stored[1:])


class TestReadFields:
    """A flush reads only READ_FIELDS back; planning must not need anything else."""

    @pytest.mark.parametrize("status", ["open", "resolved", "ignored"])
    def test_planning_reads_only_the_masked_fields(self, status: str) -> None:
        """Every field plan_issue_write looks up on a stored issue is in READ_FIELDS."""
        asked: set[str] = set()

        class Recording(dict[str, Any]):
            def get(self, key: str, default: Any = None) -> Any:
                asked.add(key)
                return super().get(key, default)

            def __getitem__(self, key: str) -> Any:
                asked.add(key)
                return super().__getitem__(key)

        stored = Recording(
            status=status, status_history=[], occurrence_seq=3,
            first_seen=_dt.datetime.fromtimestamp(BASE_TIME + 50, _dt.UTC),
            last_seen=_dt.datetime.fromtimestamp(BASE_TIME + 60, _dt.UTC),
            level="error", environments=["prod"], releases=["1"],
        )
        for at in (BASE_TIME, BASE_TIME + 100):  # older and newer than the stored times
            delta = IssueDelta.start(parse_occurrence(encode_event(make_event(
                "a", at=at, environment="staging", release="2"))))
            plan_issue_write(stored, delta, _dt.datetime.now(_dt.UTC), 20, 20)
        assert asked <= set(READ_FIELDS)
        assert {"first_seen", "last_seen", "occurrence_seq", "status"} <= asked


class TestReleasesAndTrends:
    """First- and last-seen release, each release's first time, and the trend maps."""

    def test_new_issue_names_its_release_and_buckets(self) -> None:
        """A new issue stores its first and last release, when each was first seen, and its
        occurrences in the hourly and daily maps."""
        delta = _delta(count=3, release="1.0.0")
        delta.merge(_delta(at=BASE_TIME + 3600, count=2, release="1.1.0"))
        now = _time(7200)
        fields = plan_issue_write(None, delta, now, 20, 20).fields
        assert (fields["first_release"], fields["last_release"]) == ("1.0.0", "1.1.0")
        assert fields["release_seen"] == [{"release": "1.0.0", "first_seen": _time(0)},
                                          {"release": "1.1.0", "first_seen": _time(3600)}]
        assert sum(fields["trend_hourly"].values()) == 5
        assert len(fields["trend_hourly"]) == 2
        assert sum(fields["trend_daily"].values()) == 5

    def test_old_document_with_plain_release_list(self) -> None:
        """A document written before release_seen existed gains it and a first release;
        the plain ``releases`` list is still kept."""
        existing = {"status": "open", "first_seen": _time(-100), "last_seen": _time(-50),
                    "releases": ["0.9.0"], "occurrence_seq": 1}
        fields = plan_issue_write(existing, _delta(release="1.0.0"), _time(10), 20, 20).fields
        assert fields["releases"] == ["0.9.0", "1.0.0"]
        assert fields["release_seen"] == [{"release": "1.0.0", "first_seen": _time(0)}]
        assert fields["first_release"] == "1.0.0"
        assert fields["last_release"] == "1.0.0"

    def test_known_release_is_not_rewritten(self) -> None:
        """A release already listed with an earlier first time leaves the list alone."""
        existing = {"status": "open", "first_seen": _time(-100), "last_seen": _time(-50),
                    "first_release": "1.0.0", "occurrence_seq": 1,
                    "release_seen": [{"release": "1.0.0", "first_seen": _time(-100)}]}
        fields = plan_issue_write(existing, _delta(release="1.0.0"), _time(10), 20, 20).fields
        assert "release_seen" not in fields and "first_release" not in fields
        assert fields["last_release"] == "1.0.0"

    def test_update_increments_dotted_trend_keys(self) -> None:
        """An update adds to single trend keys (Increment on dotted names)."""
        existing = {"status": "open", "first_seen": _time(-100), "last_seen": _time(-50),
                    "occurrence_seq": 1, "trend_hourly": {}}
        fields = plan_issue_write(existing, _delta(count=4), _time(10), 20, 20).fields
        hourly = {k: v for k, v in fields.items() if k.startswith("trend_hourly.")}
        assert list(hourly.values()) == [Increment(4)]
        assert "trend_hourly" in READ_FIELDS and "trend_daily" in READ_FIELDS


class TestDocumentBudget:
    """The whole issue document with every part at its maximum."""

    def test_full_trend_maps_fit_with_everything_else_at_its_maximum(self) -> None:
        """Full hourly and daily maps, the biggest latest occurrence, longest title and
        culprit and full release lists still fit Firestore's 1 MiB and 40,000 entries."""
        from consumer import trends
        from tests.consumer.fake_store import _applied
        from tests.firestore_rules import violations

        huge = "x" * 360_000
        delta = _delta(title="T" * 5000, message=huge, logger="L" * 5000,
                       extra={f"k{i}": [i] * 2 for i in range(4000)}, release="r" * 300)
        for i in range(40):
            delta.merge(_delta(at=BASE_TIME - i * 86_400, release=f"{i}" + "r" * 300,
                               environment=f"{i}" + "e" * 300))
        now = _time(0)
        document = plan_issue_write(None, delta, now, 20, 20).fields
        hour = now.replace(minute=0, second=0, microsecond=0)
        document["trend_hourly"] = {
            trends.hour_key(hour - _dt.timedelta(hours=h)): 2**62 for h in range(trends.HOURLY_BUCKETS)}
        document["trend_daily"] = {
            trends.day_key(hour - _dt.timedelta(days=d)): 2**62 for d in range(trends.DAILY_BUCKETS)}
        later = plan_issue_write(document, _delta(at=BASE_TIME + 60, message=huge), now, 20, 20)
        document = _applied(document, later.fields)
        assert len(document["release_seen"]) == 20
        assert len(document["trend_hourly"]) == trends.HOURLY_BUCKETS
        assert len(document["trend_daily"]) <= trends.DAILY_BUCKETS
        assert violations(document) == []
