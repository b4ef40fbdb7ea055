"""Alert decisions from one issue write: which triggers fire, with which ids and state."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from afissue_logging.wire import encode_event
from alerting.rules import AlertConfig, Channel, Rule, Velocity
from consumer.alert_triggers import (
    VELOCITY_FIELD,
    AlertPlan,
    alert_writes_per_issue,
    plan_alerts,
)
from consumer.coalesce import IssueDelta
from consumer.document import READ_FIELDS, Increment, plan_issue_write
from consumer.occurrence import parse_occurrence
from tests.consumer.helpers import BASE_TIME, make_event

NOW = _dt.datetime(2026, 12, 2, 9, 0, tzinfo=_dt.UTC)
ALL = frozenset({"new", "regression", "count", "velocity"})
CHANNELS = {"ops": Channel("ops", "webhook", url="http://h/x")}


def _config(*rules: Rule) -> AlertConfig:
    return AlertConfig(CHANNELS, list(rules))


EVERYTHING = _config(Rule("all", ALL, ("ops",), velocity=Velocity(100, 5)))


def _delta(count: int = 1, at: float = BASE_TIME, **fields: Any) -> IssueDelta:
    return IssueDelta.start(parse_occurrence(encode_event(make_event("a", count=count, at=at, **fields))))


class Issue:
    """One issue's stored document, written through planning as a flush would."""

    def __init__(self, config: AlertConfig = EVERYTHING) -> None:
        self.config = config
        self.document: dict[str, Any] | None = None
        self.alerts: list[dict[str, Any]] = []

    def write(self, delta: IssueDelta) -> AlertPlan:
        plan = plan_issue_write(self.document, delta, NOW, 20, 20)
        decided = plan_alerts(self.config, self.document, plan, delta, NOW)
        document = dict(self.document or {})
        for name, value in {**plan.fields, **decided.issue_fields}.items():
            document[name] = (document.get(name, 0) + value.value) if isinstance(value, Increment) else value
        self.document = {k: v for k, v in document.items() if k in READ_FIELDS}
        self.alerts.extend(decided.alerts)
        return decided

    def ids(self, trigger: str | None = None) -> list[str]:
        return [a["alert_id"] for a in self.alerts if trigger in (None, a["trigger"])]


class TestPlanAlerts:
    """plan_alerts()"""

    def test_no_rules_no_alerts_no_fields(self) -> None:
        """Without rules nothing is decided and the issue write gains no field."""
        issue = Issue(AlertConfig({}, []))
        assert issue.write(_delta(count=500)) == AlertPlan([], {})

    def test_new_issue_fires_once(self) -> None:
        """Creating the issue fires 'new' (n = 0); later writes do not."""
        issue = Issue()
        issue.write(_delta())
        issue.write(_delta())
        assert issue.ids("new") == ["a:new:0"]
        first = issue.alerts[0]
        assert first["channels"]["ops"]["state"] == "pending"
        assert first["issue"]["service"] == "checkout" and first["issue"]["count"] == 1
        assert first["issue"]["environment"] == "prod" and first["rule_names"] == ["all"]

    def test_regressions_fire_with_their_number(self) -> None:
        """Each reopening of a resolved issue fires one regression alert, numbered."""
        issue = Issue()
        issue.write(_delta())
        for _ in range(2):
            assert issue.document is not None
            issue.document["status"] = "resolved"
            issue.write(_delta())
            issue.write(_delta())
        assert issue.ids("regression") == ["a:regression:1", "a:regression:2"]

    def test_ignored_issue_never_alerts(self) -> None:
        """An ignored issue crosses thresholds and bursts without any alert."""
        issue = Issue()
        issue.write(_delta())
        assert issue.document is not None
        issue.document["status"] = "ignored"
        before = issue.ids()
        decided = issue.write(_delta(count=5000))
        assert decided == AlertPlan([], {}) and issue.ids() == before

    def test_count_crossings(self) -> None:
        """Each power of ten fires once when crossed; a jump over several fires the highest."""
        issue = Issue()
        for count in (3, 6, 1, 80, 9, 1, 2000):  # 3, 9, 10, 90, 99, 100, 2100
            issue.write(_delta(count=count))
        assert issue.ids("count") == ["a:count:1", "a:count:2", "a:count:3"]
        last = [a for a in issue.alerts if a["trigger"] == "count"][-1]
        assert last["detail"] == {"threshold": 1000, "count": 2100}

    @settings(max_examples=200, deadline=None)
    @given(counts=st.lists(st.integers(1, 400), min_size=1, max_size=30))
    def test_count_alerts_never_repeat_and_reach_the_top(self, counts: list[int]) -> None:
        """Over any split of occurrences into writes, each threshold fires at most once,
        and the highest power of ten reached always fires."""
        issue = Issue(_config(Rule("c", frozenset({"count"}), ("ops",))))
        for count in counts:
            issue.write(_delta(count=count))
        numbers = [a["n"] for a in issue.alerts]
        assert len(numbers) == len(set(numbers)) and numbers == sorted(numbers)
        total = sum(counts)
        top = len(str(total)) - 1
        assert (numbers[-1] if numbers else 0) == top

    def test_rules_filter_by_service_environment_and_level(self) -> None:
        """Only rules whose service, environment and minimum level fit fire, each to its channels."""
        channels = {**CHANNELS, "team": Channel("team", "slack", url="http://h/y")}
        config = AlertConfig(channels, [
            Rule("prod", frozenset({"new"}), ("ops",), environments=frozenset({"prod"})),
            Rule("staging", frozenset({"new"}), ("team",), environments=frozenset({"staging"})),
            Rule("billing", frozenset({"new"}), ("team",), services=frozenset({"billing"})),
            Rule("critical", frozenset({"new"}), ("team",), min_level="critical"),
            Rule("errors", frozenset({"new"}), ("ops",), min_level="error"),
        ])
        issue = Issue(config)
        issue.write(_delta())
        (alert,) = issue.alerts
        assert alert["rule_names"] == ["prod", "errors"] and list(alert["channels"]) == ["ops"]
        nothing = Issue(config)
        nothing.write(_delta(environment="dev", level="warning"))
        assert nothing.alerts == []

    def test_velocity_fires_once_per_burst_and_rearms_after_quiet(self) -> None:
        """A burst above N in M minutes fires once however long it lasts; after a quiet
        window the next burst fires again, with the next number."""
        issue = Issue()
        start = (BASE_TIME // 300 + 1) * 300  # a window boundary
        for second in range(0, 900, 10):  # 15 minutes at 30 events per 10 s
            issue.write(_delta(count=30, at=start + second))
        assert issue.ids("velocity") == ["a:velocity:all:1"]
        issue.write(_delta(count=1, at=start + 1500))  # a whole quiet window later
        issue.write(_delta(count=150, at=start + 1510))
        assert issue.ids("velocity") == ["a:velocity:all:1", "a:velocity:all:2"]
        detail = issue.alerts[-1]["detail"]
        assert detail["minutes"] == 5 and detail["threshold"] == 100 and detail["events"] > 100

    def test_velocity_below_threshold_never_fires(self) -> None:
        """A steady rate under the threshold (80 per 5 minutes against 100) is not a burst."""
        issue = Issue()
        for second in range(0, 1800, 30):
            issue.write(_delta(count=8, at=BASE_TIME + second))
        assert issue.ids("velocity") == []
        assert issue.document is not None
        assert issue.document[VELOCITY_FIELD]["all"]["armed"] is True

    def test_velocity_spanning_a_window_boundary_fires(self) -> None:
        """A burst split across two windows still fires (the previous window is weighted in)."""
        issue = Issue()
        boundary = (BASE_TIME // 300 + 1) * 300
        issue.write(_delta(count=60, at=boundary - 5))
        issue.write(_delta(count=60, at=boundary + 5))
        assert issue.ids("velocity") == ["a:velocity:all:1"]

    def test_writes_per_issue_bound(self) -> None:
        """The outbox writes one issue may cost: none without rules, 2 plus velocity rules."""
        assert alert_writes_per_issue(AlertConfig({}, [])) == 0
        assert alert_writes_per_issue(EVERYTHING) == 3
        assert VELOCITY_FIELD in READ_FIELDS
