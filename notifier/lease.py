"""Claiming outbox documents, so one notifier replica sends each alert.

A replica claims a document in a Firestore transaction that sets ``lease = {owner,
until}`` only while the document is pending and its lease is absent, expired or its
own; a concurrent claim conflicts and Firestore retries it, when it sees the other's
lease and backs off. A replica that dies holding a lease lets it expire, and another
takes the document over (at least once: it may send again what the dead one sent but
did not record, with the same idempotency id).

:meth:`Leases.finish` writes the attempts' results and clears the lease in a second
transaction. A result of "delivered" is always kept (it is true whoever holds the lease
now); other results are written only while the lease is still this replica's, so a
replica that was too slow cannot overwrite the progress of the one that took over.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

from alerting.outbox import CHANNEL_DELIVERED, STATE_PENDING
from notifier.delivery import document_state

__all__ = ["Leases", "lease_free"]


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def lease_free(document: Mapping[str, Any], owner: str, now: datetime.datetime) -> bool:
    """Whether *owner* may claim *document* at *now*."""
    lease = document.get("lease")
    if not isinstance(lease, Mapping) or not lease:
        return True
    until = lease.get("until")
    if not isinstance(until, datetime.datetime):
        return True
    return lease.get("owner") == owner or until <= now


class Leases:
    """Claims and releases the outbox documents of *collection* for replica *owner*."""

    def __init__(
        self,
        db: Any,
        collection: str,
        owner: str,
        lease_seconds: float,
        clock: Callable[[], datetime.datetime] = _utcnow,
    ) -> None:
        self.db = db
        self.collection = collection
        self.owner = owner
        self.lease_seconds = lease_seconds
        self._clock = clock

    def _ref(self, alert_id: str) -> Any:
        return self.db.collection(self.collection).document(alert_id)

    def claim(self, alert_id: str) -> dict[str, Any] | None:
        """The document, now leased to this replica; None when it is done, gone or leased
        by another replica."""
        from google.cloud import firestore

        ref = self._ref(alert_id)

        @firestore.transactional
        def attempt(transaction: Any) -> dict[str, Any] | None:
            snapshot = ref.get(transaction=transaction)
            if not snapshot.exists:
                return None
            data: dict[str, Any] = snapshot.to_dict() or {}
            now = self._clock()
            if data.get("state") != STATE_PENDING or not lease_free(data, self.owner, now):
                return None
            lease = {"owner": self.owner, "until": now + datetime.timedelta(seconds=self.lease_seconds)}
            transaction.update(ref, {"lease": lease})
            data["lease"] = lease
            return data

        result: dict[str, Any] | None = attempt(self.db.transaction())
        return result

    def finish(self, alert_id: str, results: Mapping[str, Mapping[str, Any]]) -> str | None:
        """Record *results* (channel -> new entry) and release the lease; the document's
        new state, or None when it is gone."""
        from google.cloud import firestore

        ref = self._ref(alert_id)

        @firestore.transactional
        def attempt(transaction: Any) -> str | None:
            snapshot = ref.get(transaction=transaction)
            if not snapshot.exists:
                return None
            data = snapshot.to_dict() or {}
            lease = data.get("lease")
            mine = isinstance(lease, Mapping) and lease.get("owner") == self.owner
            raw = data.get("channels")
            channels: dict[str, Any] = dict(raw) if isinstance(raw, Mapping) else {}
            for name, entry in results.items():
                current = channels.get(name)
                if isinstance(current, Mapping) and current.get("state") == CHANNEL_DELIVERED:
                    continue
                if mine or entry.get("state") == CHANNEL_DELIVERED:
                    channels[name] = dict(entry)
            state = document_state(channels) if channels else data.get("state", STATE_PENDING)
            update: dict[str, Any] = {"channels": channels, "state": state}
            if mine:
                update["lease"] = None
            transaction.update(ref, update)
            return str(state)

        outcome: str | None = attempt(self.db.transaction())
        return outcome
