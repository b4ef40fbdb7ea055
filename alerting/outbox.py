"""The outbox document: one alert, written by the consumer's flush, delivered by the notifier.

``{collection}/{alert_id}`` (collection ``alerts`` unless ``AFISSUE_ALERTS_COLLECTION``
says otherwise; same Firestore project as the issues)::

    alert_id, issue_id, trigger, n, rule_names [..], created_at (flush time),
    state ("pending" | "done"),
    issue {title, culprit, service, level, environment, release, count, first_seen,
           last_seen, path: "/issues/<id>"},
    channels {<name>: {state ("pending" | "delivered" | "dead"), attempts, next_attempt_at,
                       last_error, delivered_at}},
    lease {owner, until} | None,
    detail {...}   # per trigger: {"threshold": 100}, {"events": 153, "minutes": 5}, ...

The id is decided by the flush from the issue's own history (:func:`alert_id`), so a
replayed or concurrent flush names the same document, and the batch's create
precondition stops a second one.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "CHANNEL_DEAD",
    "CHANNEL_DELIVERED",
    "CHANNEL_PENDING",
    "CHANNEL_STATES",
    "DEFAULT_COLLECTION",
    "ISSUE_FIELDS",
    "STATES",
    "STATE_DONE",
    "STATE_PENDING",
    "alert_id",
    "idempotency_id",
    "new_outbox_document",
]

DEFAULT_COLLECTION = "alerts"
#: The alert as a whole: "done" once every channel is delivered or dead.
STATE_PENDING = "pending"
STATE_DONE = "done"
STATES = (STATE_PENDING, STATE_DONE)
#: One channel's delivery of the alert.
CHANNEL_PENDING = "pending"
CHANNEL_DELIVERED = "delivered"
CHANNEL_DEAD = "dead"
CHANNEL_STATES = (CHANNEL_PENDING, CHANNEL_DELIVERED, CHANNEL_DEAD)
#: The issue's fields copied into the alert (besides ``path``), so the notifier needs no
#: second read.
ISSUE_FIELDS = (
    "title", "culprit", "service", "level", "environment", "release", "count", "first_seen",
    "last_seen",
)
#: Firestore's limit on a document id, in bytes of UTF-8 (issue_store.ids has the rule).
_MAX_ID_BYTES = 1500


def alert_id(issue_id: str, trigger: str, n: int, rule_slug: str | None = None) -> str:
    """The outbox document id: ``{issue_id}:{trigger}:{n}``, or
    ``{issue_id}:velocity:{rule_slug}:{n}`` for a velocity alert.

    *n* is 0 for "new", the regression number for "regression" (1 for the first), the
    exponent for "count" (10 → 1, 100 → 2) and the rule's firing number for "velocity".
    An issue id so long that the alert id would pass Firestore's limit is replaced by
    ``sha256-`` and its digest (the alert keeps the real ``issue_id`` field).
    """
    if (trigger == "velocity") != (rule_slug is not None):
        raise ValueError(f"a rule slug is required for velocity alerts only, got {trigger!r}, {rule_slug!r}")
    tail = f"velocity:{rule_slug}:{n}" if rule_slug is not None else f"{trigger}:{n}"
    candidate = f"{issue_id}:{tail}"
    if len(candidate.encode("utf-8", "surrogatepass")) <= _MAX_ID_BYTES:
        return candidate
    digest = hashlib.sha256(issue_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"sha256-{digest}:{tail}"


def idempotency_id(alert: str, channel: str) -> str:
    """The message id every delivery of *alert* on *channel* carries (``webhook-id``)."""
    return f"{alert}/{channel}"


def new_outbox_document(
    *,
    issue_id: str,
    trigger: str,
    n: int,
    rule_names: Iterable[str],
    channels: Iterable[str],
    created_at: _dt.datetime,
    issue: Mapping[str, Any],
    detail: Mapping[str, Any] | None = None,
    rule_slug: str | None = None,
) -> dict[str, Any]:
    """A pending alert for *issue_id*, every channel pending and due at *created_at*.

    *issue* holds the issue's fields (:data:`ISSUE_FIELDS`; missing ones are stored as
    ``None``).
    """
    identifier = alert_id(issue_id, trigger, n, rule_slug)
    return {
        "alert_id": identifier,
        "issue_id": issue_id,
        "trigger": trigger,
        "n": n,
        "rule_names": list(dict.fromkeys(rule_names)),
        "created_at": created_at,
        "state": STATE_PENDING,
        "issue": {
            **{name: issue.get(name) for name in ISSUE_FIELDS},
            "path": "/issues/" + urllib.parse.quote(issue_id, safe=""),
        },
        "channels": {
            name: {
                "state": CHANNEL_PENDING,
                "attempts": 0,
                "next_attempt_at": created_at,
                "last_error": "",
                "delivered_at": None,
            }
            for name in dict.fromkeys(channels)
        },
        "lease": None,
        "detail": dict(detail or {}),
    }
