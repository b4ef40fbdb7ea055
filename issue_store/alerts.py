"""The alert outbox as people read it: an issue's alerts (web UI) and the recent ones
(``afissue alerts list``), with each channel's delivery state.

The consumer writes the outbox documents in its flush and the notifier updates their
delivery state (layout in ``alerting.outbox``); this module only reads them, defensively
(any field may be missing).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Mapping
from typing import Any

from issue_store.ids import valid_issue_id
from issue_store.present import as_datetime

__all__ = ["AlertView", "ChannelDelivery", "alert_view", "issue_alerts", "recent_alerts"]

#: What each trigger is called on a page.
_TRIGGER_LABELS = {
    "new": "New issue", "regression": "Regression", "count": "Count", "velocity": "Velocity",
}


@dataclasses.dataclass(frozen=True)
class ChannelDelivery:
    """One channel's delivery of an alert."""

    channel: str
    state: str
    attempts: int
    last_error: str
    delivered_at: _dt.datetime | None
    next_attempt_at: _dt.datetime | None


@dataclasses.dataclass(frozen=True)
class AlertView:
    """One alert, ready for a page or a table."""

    alert_id: str
    issue_id: str
    trigger: str
    summary: str
    state: str
    created_at: _dt.datetime | None
    rule_names: list[str]
    title: str
    channels: list[ChannelDelivery]

    def as_dict(self) -> dict[str, Any]:
        """The view as plain values (``--json``)."""
        return dataclasses.asdict(self)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _summary(trigger: str, n: int, detail: Mapping[str, Any]) -> str:
    """``"Regression #2"``, ``"Count passed 1,000"``, ``"Velocity: 153 events in 5 min"``."""
    label = _TRIGGER_LABELS.get(trigger, trigger or "?")
    if trigger == "regression":
        return f"{label} #{n}"
    if trigger == "count":
        threshold = detail.get("threshold")
        return f"{label} passed {threshold:,}" if isinstance(threshold, int) else label
    if trigger == "velocity":
        events, minutes = detail.get("events"), detail.get("minutes")
        if isinstance(events, int) and isinstance(minutes, int):
            return f"{label}: {events:,} events in {minutes} min"
    return label


def alert_view(document: Mapping[str, Any], alert_id: str = "") -> AlertView:
    """*document* (an outbox document as stored) as an :class:`AlertView`."""
    trigger = str(document.get("trigger") or "")
    detail = document.get("detail")
    issue = document.get("issue")
    channels = document.get("channels")
    deliveries = []
    for name, delivery in sorted(channels.items() if isinstance(channels, Mapping) else []):
        if not isinstance(delivery, Mapping):
            continue
        deliveries.append(ChannelDelivery(
            channel=str(name),
            state=str(delivery.get("state") or "?"),
            attempts=_int(delivery.get("attempts")),
            last_error=str(delivery.get("last_error") or ""),
            delivered_at=as_datetime(delivery.get("delivered_at")),
            next_attempt_at=as_datetime(delivery.get("next_attempt_at")),
        ))
    names = document.get("rule_names")
    return AlertView(
        alert_id=str(document.get("alert_id") or alert_id),
        issue_id=str(document.get("issue_id") or ""),
        trigger=trigger,
        summary=_summary(trigger, _int(document.get("n")),
                         detail if isinstance(detail, Mapping) else {}),
        state=str(document.get("state") or "?"),
        created_at=as_datetime(document.get("created_at")),
        rule_names=[str(n) for n in names] if isinstance(names, list) else [],
        title=str(issue.get("title") or "") if isinstance(issue, Mapping) else "",
        channels=deliveries,
    )


def issue_alerts(db: Any, collection: str, issue_id: str, limit: int,
                 calls: Mapping[str, Any]) -> list[AlertView]:
    """The most recent *limit* alerts of *issue_id*, newest first (index: issue_id,
    created_at descending)."""
    from google.cloud import firestore

    if not valid_issue_id(issue_id):
        return []
    query = (db.collection(collection)
             .where(filter=firestore.FieldFilter("issue_id", "==", issue_id))
             .order_by("created_at", direction=firestore.Query.DESCENDING)
             .limit(limit))
    return [alert_view(s.to_dict() or {}, s.id) for s in query.stream(**calls)]


def recent_alerts(db: Any, collection: str, limit: int,
                  calls: Mapping[str, Any]) -> list[AlertView]:
    """The most recent *limit* alerts of every issue, newest first."""
    from google.cloud import firestore

    query = (db.collection(collection)
             .order_by("created_at", direction=firestore.Query.DESCENDING)
             .limit(limit))
    return [alert_view(s.to_dict() or {}, s.id) for s in query.stream(**calls)]
