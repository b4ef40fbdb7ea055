"""Which alerts one issue write fires, decided from the issue's own stored state.

Planned next to the issue write (``consumer.document``) from the same read, and written
in the same atomic batch: the outbox documents (``alerting.outbox``) and the state the
next decision needs, kept on the issue document itself (``regressions``, ``count`` and
``alert_velocity``). So a flush that is replayed, retried after a conflict or fenced
decides the same alerts with the same ids, or none: an alert exists if and only if the
issue change that fired it was written.

Triggers:

- ``new``: the write creates the issue (n = 0);
- ``regression``: it reopens a resolved issue (n = the issue's regression number);
- ``count``: the stored count crosses 10ⁿ; one alert per write, for the highest power
  crossed (n = its exponent), so a burst from 3 to 2,000 is one alert for 1,000;
- ``velocity``: more than ``events`` occurrences within ``minutes``, per rule, estimated
  from per-window counts (below); it fires once and re-arms after a quiet window.

An ignored issue fires nothing (its velocity state does not move either).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from collections.abc import Mapping
from typing import Any

from alerting.outbox import new_outbox_document
from alerting.rules import AlertConfig, Rule, Velocity
from consumer import lifecycle
from consumer.coalesce import IssueDelta
from consumer.document import IssueWrite, culprit

__all__ = ["VELOCITY_FIELD", "AlertPlan", "alert_writes_per_issue", "plan_alerts"]

#: The issue field holding each velocity rule's state, by rule slug.
VELOCITY_FIELD = "alert_velocity"


@dataclasses.dataclass(frozen=True)
class AlertPlan:
    """Outbox documents to create and issue fields to add to the same issue write."""

    alerts: list[dict[str, Any]]
    issue_fields: dict[str, Any]


def alert_writes_per_issue(config: AlertConfig) -> int:
    """Most outbox documents one issue write can create under *config*: new or
    regression, one count alert, one per velocity rule."""
    if not config.enabled:
        return 0
    velocity = sum(1 for rule in config.rules if "velocity" in rule.triggers)
    return 2 + velocity


def plan_alerts(
    config: AlertConfig,
    existing: Mapping[str, Any] | None,
    plan: IssueWrite,
    delta: IssueDelta,
    now: _dt.datetime,
) -> AlertPlan:
    """The alerts *plan* (the write of *delta* to the issue stored as *existing*) fires."""
    if not config.enabled:
        return AlertPlan([], {})
    stored = existing or {}
    status = plan.fields.get("status", stored.get("status", lifecycle.OPEN))
    if status == lifecycle.IGNORED:
        return AlertPlan([], {})
    event = delta.latest.event
    service = str(event.get("service", ""))
    level = plan.fields.get("level", stored.get("level", event.get("level", "error")))
    environments: list[str | None] = [*delta.environments] or [None]

    def matching(trigger: str) -> list[Rule]:
        return [
            rule for rule in config.rules
            if trigger in rule.triggers
            and any(rule.matches(service, env, str(level)) for env in environments)
        ]

    before = stored.get("count") if existing is not None else 0
    before = before if isinstance(before, int) else 0
    after = before + delta.count
    alerts: list[dict[str, Any]] = []

    def fire(trigger: str, n: int, rules: list[Rule], detail: dict[str, Any],
             slug: str | None = None) -> None:
        if rules:
            issue = _summary(event, stored, plan, after, delta)
            alerts.append(new_outbox_document(
                issue_id=delta.issue_id, trigger=trigger, n=n,
                rule_names=[r.name for r in rules],
                channels=[c for r in rules for c in r.channels],
                created_at=now, issue=issue, detail=detail, rule_slug=slug,
            ))

    if plan.created:
        fire("new", 0, matching("new"), {})
    if plan.regressed:
        number = plan.fields.get("regressions", 1)
        fire("regression", number, matching("regression"), {"regression": number})
    exponent = _highest_power_crossed(before, after)
    if exponent:
        fire("count", exponent, matching("count"), {"threshold": 10**exponent, "count": after})
    fields: dict[str, Any] = {}
    velocity_rules = matching("velocity")
    if velocity_rules:
        states = stored.get(VELOCITY_FIELD)
        states = dict(states) if isinstance(states, Mapping) else {}
        for rule in velocity_rules:
            assert rule.velocity is not None
            state, estimate = _advance(states.get(rule.slug), rule.velocity, delta.last_seen,
                                       delta.count)
            if state["armed"] and estimate > rule.velocity.events:
                state = {**state, "armed": False, "fired": state["fired"] + 1}
                fire("velocity", state["fired"], [rule],
                     {"events": estimate, "minutes": rule.velocity.minutes,
                      "threshold": rule.velocity.events}, rule.slug)
            states[rule.slug] = state
        fields[VELOCITY_FIELD] = states
    return AlertPlan(alerts, fields)


def _highest_power_crossed(before: int, after: int) -> int:
    """The largest n >= 1 with before < 10**n <= after, else 0."""
    if after < 10 or after <= before:
        return 0
    exponent = int(math.log10(after))
    while 10**exponent > after:  # float rounding near powers of ten
        exponent -= 1
    while 10 ** (exponent + 1) <= after:
        exponent += 1
    return exponent if before < 10**exponent else 0


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _advance(
    state: Any, speed: Velocity, at: _dt.datetime, count: int
) -> tuple[dict[str, Any], int]:
    """One velocity rule's state after *count* occurrences at *at*, and the estimate of
    occurrences within the last ``speed.minutes``.

    Time is cut into windows of ``minutes`` (aligned to the epoch). The state keeps the
    current window's count and the previous one's; the estimate is the current count
    plus the previous one weighted by the part of it the sliding window still covers
    (the sliding-window counter of rate limiters): a few numbers, however many events.
    A fired rule stays disarmed until a window closes with at most ``events``
    occurrences, or a whole window passes without any: the burst is over.
    """
    width = speed.minutes * 60
    window = int(at.timestamp() // width)
    old = state if isinstance(state, Mapping) and state.get("minutes") == speed.minutes else {}
    armed = old.get("armed", True) is not False
    current = old.get("window")
    events, previous = _int(old.get("events")), _int(old.get("previous"))
    if not isinstance(current, int) or window > current:
        if isinstance(current, int) and (window > current + 1 or events <= speed.events):
            armed = True
        previous = events if isinstance(current, int) and window == current + 1 else 0
        events, current = 0, window
    events += count
    covered = max(0.0, 1.0 - (at.timestamp() - current * width) / width)
    estimate = events + int(previous * covered)
    return {
        "minutes": speed.minutes, "window": current, "events": events, "previous": previous,
        "armed": armed, "fired": _int(old.get("fired")),
    }, estimate


def _summary(
    event: Mapping[str, Any], stored: Mapping[str, Any], plan: IssueWrite, count: int,
    delta: IssueDelta,
) -> dict[str, Any]:
    """The issue as the alert shows it, after this write."""
    fields = plan.fields
    first_seen = fields.get("first_seen", stored.get("first_seen", delta.first_seen))
    last_seen = fields.get("last_seen", stored.get("last_seen", delta.last_seen))
    return {
        "title": str(event.get("title", "?"))[:1024],
        "culprit": culprit(event)[:1024],
        "service": event.get("service"),
        "level": fields.get("level", stored.get("level", event.get("level"))),
        "environment": event.get("environment"),
        "release": event.get("release"),
        "count": count,
        "first_seen": first_seen,
        "last_seen": last_seen,
    }
