"""What an alert says, whatever the channel: an outbox document made into a message.

Outbox documents are read back from Firestore and may hold anything the consumer stored
(huge titles, control characters, missing fields, odd types): :func:`alert_message` never
raises for a document that has an ``alert_id``, and every text a channel puts in a header
or a subject line goes through :func:`one_line`.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "AlertMessage",
    "Digest",
    "alert_message",
    "dumps",
    "idempotency_id",
    "json_safe",
    "one_line",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_TRIGGER_HEADLINES = {
    "new": "New issue",
    "regression": "Regression",
    "count": "Count crossed",
    "velocity": "Velocity",
    "test": "Test alert",
}


def idempotency_id(alert_id: str, channel: str) -> str:
    """The message id of *alert_id* on *channel*: the same on every retry and replica."""
    return f"{alert_id}/{channel}"


def one_line(text: object, limit: int = 200) -> str:
    """*text* as one printable line of at most *limit* characters (control characters and
    line breaks become spaces), for subjects, headers and titles."""
    flat = _CONTROL.sub(" ", str(text)).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def json_safe(value: Any, depth: int = 0) -> Any:
    """*value* as plain JSON types: timestamps as ISO 8601 strings, anything else as str."""
    if isinstance(value, datetime.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        return aware.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth > 8:
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, depth + 1) for v in value]
    return str(value)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return 0


@dataclasses.dataclass(frozen=True)
class AlertMessage:
    """One alert for one channel."""

    alert_id: str
    channel: str
    trigger: str
    n: int
    issue: Mapping[str, Any]
    detail: Mapping[str, Any]
    rule_names: tuple[str, ...]
    created_at: str | None
    url: str

    @property
    def idempotency_id(self) -> str:
        return idempotency_id(self.alert_id, self.channel)

    @property
    def title(self) -> str:
        return str(self.issue.get("title") or "(untitled issue)")

    @property
    def headline(self) -> str:
        """What happened, in a few words: "New issue", "Regression #2", "Count crossed 100",
        "Velocity: 153 events in 5 min"."""
        base = _TRIGGER_HEADLINES.get(self.trigger, f"Alert ({one_line(self.trigger, 40)})")
        if self.trigger == "regression":
            return f"{base} #{self.n}"
        if self.trigger == "count":
            return f"{base} {self.detail.get('threshold', 10 ** min(self.n, 18))}"
        if self.trigger == "velocity":
            events, minutes = self.detail.get("events"), self.detail.get("minutes")
            return f"{base}: {events} events in {minutes} min" if events else base
        return base

    def summary(self, limit: int = 200) -> str:
        """``[service/environment] Headline: title`` on one line."""
        where = "/".join(
            one_line(self.issue.get(key), 60)
            for key in ("service", "environment") if self.issue.get(key)
        )
        prefix = f"[{where}] " if where else ""
        return one_line(f"{prefix}{self.headline}: {self.title}", limit)

    def payload(self) -> dict[str, Any]:
        """The JSON ``data`` of a generic webhook: everything the outbox document says."""
        return {
            "id": self.idempotency_id,
            "alert_id": self.alert_id,
            "channel": self.channel,
            "trigger": self.trigger,
            "n": self.n,
            "headline": self.headline,
            "rules": list(self.rule_names),
            "created_at": self.created_at,
            "url": self.url,
            "issue": json_safe(self.issue),
            "detail": json_safe(self.detail),
        }


@dataclasses.dataclass(frozen=True)
class Digest:
    """One message standing for several alerts of one channel that its rate limit held back."""

    channel: str
    alerts: tuple[AlertMessage, ...]

    @property
    def idempotency_id(self) -> str:
        """Stable for the same set of alerts (a retried digest keeps its id)."""
        ids = "\n".join(sorted(alert.alert_id for alert in self.alerts))
        return f"digest/{self.channel}/{hashlib.sha256(ids.encode()).hexdigest()[:24]}"

    @property
    def headline(self) -> str:
        return f"{len(self.alerts)} alerts held back by the rate limit of {self.channel}"

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.idempotency_id,
            "channel": self.channel,
            "trigger": "digest",
            "headline": self.headline,
            "count": len(self.alerts),
            "alerts": [alert.payload() for alert in self.alerts],
        }


def alert_message(document: Mapping[str, Any], channel: str, base_url: str) -> AlertMessage:
    """The message of outbox *document* for *channel*, linking to the issue page under
    *base_url*."""
    issue_raw = document.get("issue")
    issue: Mapping[str, Any] = issue_raw if isinstance(issue_raw, Mapping) else {}
    detail_raw = document.get("detail")
    detail: Mapping[str, Any] = detail_raw if isinstance(detail_raw, Mapping) else {}
    issue_id = str(document.get("issue_id") or issue.get("issue_id") or "")
    path = str(issue.get("path") or (f"/issues/{issue_id}" if issue_id else "/issues"))
    if not path.startswith("/"):
        path = "/" + path
    names = document.get("rule_names")
    created = json_safe(document.get("created_at"))
    return AlertMessage(
        alert_id=str(document.get("alert_id")),
        channel=channel,
        trigger=str(document.get("trigger") or ""),
        n=_int(document.get("n")),
        issue=issue,
        detail=detail,
        rule_names=tuple(str(n) for n in names) if isinstance(names, list) else (),
        created_at=created if isinstance(created, str) else None,
        url=base_url.rstrip("/") + path,
    )


def dumps(payload: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON of *payload* (what is signed and sent)."""
    return json.dumps(json_safe(payload), ensure_ascii=False, separators=(",", ":")).encode()
