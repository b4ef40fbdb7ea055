"""Re-sending dead alerts: their dead channels become pending again, with a fresh count
of attempts, and the notifier delivers them on its next pass (same idempotency id, so a
receiver that did get an earlier copy can still drop it).

Delivered channels are left alone; the previous error is kept in ``last_error`` until the
next attempt replaces it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from alerting.outbox import CHANNEL_DEAD, CHANNEL_PENDING, STATE_DONE, STATE_PENDING

__all__ = ["dead_alert_ids", "resend"]


def dead_alert_ids(db: Any, collection: str, since: datetime.datetime) -> list[str]:
    """The alerts created since *since* that have a dead channel."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = (
        db.collection(collection)
        .where(filter=FieldFilter("state", "==", STATE_DONE))
        .where(filter=FieldFilter("created_at", ">=", since))
        .order_by("created_at")
    )
    found = []
    for snapshot in query.stream():
        channels = (snapshot.to_dict() or {}).get("channels")
        if isinstance(channels, Mapping) and any(
            isinstance(e, Mapping) and e.get("state") == CHANNEL_DEAD for e in channels.values()
        ):
            found.append(str(snapshot.id))
    return found


def resend(
    db: Any, collection: str, alert_ids: Iterable[str], now: datetime.datetime
) -> dict[str, list[str]]:
    """Make the dead channels of *alert_ids* pending again; alert id -> channels re-queued
    (empty when it had none dead, or does not exist)."""
    from google.cloud import firestore

    requeued: dict[str, list[str]] = {}
    for alert_id in alert_ids:
        ref = db.collection(collection).document(alert_id)

        @firestore.transactional
        def reset(transaction: Any, ref: Any = ref) -> list[str]:
            snapshot = ref.get(transaction=transaction)
            data = snapshot.to_dict() if snapshot.exists else None
            raw = (data or {}).get("channels")
            if not isinstance(raw, Mapping):
                return []
            channels = dict(raw)
            dead = sorted(
                name for name, entry in channels.items()
                if isinstance(entry, Mapping) and entry.get("state") == CHANNEL_DEAD
            )
            for name in dead:
                channels[name] = {
                    **channels[name], "state": CHANNEL_PENDING, "attempts": 0,
                    "next_attempt_at": now,
                }
            if dead:
                transaction.update(ref, {"channels": channels, "state": STATE_PENDING})
            return dead

        requeued[alert_id] = reset(db.transaction())
    return requeued
