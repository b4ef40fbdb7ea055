"""Reading issue documents from Firestore and changing their status, for the web UI and the CLI.

The documents are written by the consumer (layout in ``docs/consumer.md``); this module
reads them defensively (any field may be missing) and writes only ``status``,
``status_history`` and ``updated_at``, in a transaction, so a status change and the
consumer's counting never overwrite each other.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from typing import Any

from afissue_logging import wire
from issue_store.alerts import AlertView, issue_alerts, recent_alerts
from issue_store.errors import FirestoreUnavailable, IssueNotFound
from issue_store.ids import valid_issue_id
from issue_store.query import Cursor, IssueQuery

__all__ = ["ACTIONS", "IssuePage", "IssueReader", "StatusOutcome"]

#: The status each triage action sets (the UI's buttons, the CLI's subcommands).
ACTIONS: dict[str, wire.Status] = {"resolve": "resolved", "ignore": "ignored", "reopen": "open"}
_SCAN_BATCH = 200


@dataclasses.dataclass(frozen=True)
class IssuePage:
    """One page of a list: the issues, where the next page starts, how many were read."""

    issues: list[dict[str, Any]]
    next_cursor: Cursor | None
    scanned: int


@dataclasses.dataclass(frozen=True)
class StatusOutcome:
    """The outcome of a status change asked for: the issue afterwards and whether its
    status changed (asking for the status it has changes nothing)."""

    issue: dict[str, Any]
    changed: bool


def _as_row(snapshot: Any) -> dict[str, Any]:
    row: dict[str, Any] = snapshot.to_dict() or {}
    row["issue_id"] = snapshot.id
    return row


def _cursor_after(row: dict[str, Any], sort: str) -> Cursor | None:
    value = row.get(sort)
    if isinstance(value, _dt.datetime | int | float) and not isinstance(value, bool):
        return Cursor(sort, value, row["issue_id"])
    return None


def _timestamp_of(row: dict[str, Any]) -> float:
    moment = row.get("timestamp")
    if isinstance(moment, _dt.datetime):
        return moment.timestamp()
    if isinstance(moment, str):
        try:
            return _dt.datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return 0.0
    return 0.0


class IssueReader:
    """The issue documents of one collection."""

    def __init__(
        self,
        db: Any,
        collection: str = "issues",
        *,
        search_scan_limit: int = 1000,
        history_limit: int = 100,
        timeout_s: float = 10.0,
        alerts_collection: str = "alerts",
    ) -> None:
        from google.api_core.retry import Retry

        self.db = db
        self.collection = collection
        self.search_scan_limit = search_scan_limit
        self.history_limit = history_limit
        self.alerts_collection = alerts_collection
        # A page waiting minutes on an unreachable Firestore helps nobody: bound the
        # retries of every read to about timeout_s, then let the caller show an error.
        self._calls: dict[str, Any] = {"retry": Retry(timeout=timeout_s), "timeout": timeout_s}

    def _base_query(self, query: IssueQuery) -> Any:
        from google.cloud import firestore

        ref = self.db.collection(self.collection)
        for field, op, value in query.equality_filters():
            ref = ref.where(filter=firestore.FieldFilter(field, op, value))
        return ref.order_by(query.sort, direction=firestore.Query.DESCENDING).order_by(
            "__name__", direction=firestore.Query.DESCENDING
        )

    def _fetch(self, query: IssueQuery, after: Cursor | None, size: int) -> list[dict[str, Any]]:
        ref = self._base_query(query)
        if after is not None:
            ref = ref.start_after({query.sort: after.value, "__name__": after.issue_id})
        return [_as_row(snapshot) for snapshot in ref.limit(size).stream(**self._calls)]

    def find(self, query: IssueQuery) -> IssuePage:
        """One page of issues matching *query*, starting after ``query.cursor``.

        When Firestore checks every condition this is one query of ``limit + 1``
        documents. Otherwise (several words, or filters beyond the one array clause a
        query may hold) the candidates Firestore returns are read in batches until the
        page is full or ``search_scan_limit`` were read; the cursor then resumes.
        """
        if not query.filtered:
            rows = self._fetch(query, query.cursor, query.limit + 1)
            more = len(rows) > query.limit
            rows = rows[: query.limit]
            next_cursor = _cursor_after(rows[-1], query.sort) if more and rows else None
            return IssuePage(rows, next_cursor, len(rows))

        found: list[dict[str, Any]] = []
        scanned = 0
        position = query.cursor
        while len(found) < query.limit and scanned < self.search_scan_limit:
            batch = self._fetch(query, position, min(_SCAN_BATCH, self.search_scan_limit - scanned))
            if not batch:
                return IssuePage(found, None, scanned)
            for row in batch:
                scanned += 1
                position = _cursor_after(row, query.sort)
                if query.matches(row):
                    found.append(row)
                    if len(found) == query.limit:
                        break
            if position is None:
                break
        return IssuePage(found, position, scanned)

    def get(self, issue_id: str) -> dict[str, Any] | None:
        """The issue document *issue_id* (with ``issue_id`` set), or None."""
        if not valid_issue_id(issue_id):
            return None
        snapshot = self.db.collection(self.collection).document(issue_id).get(**self._calls)
        return _as_row(snapshot) if snapshot.exists else None

    def occurrences(self, issue_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """The recent occurrences kept under the issue, newest first."""
        if not valid_issue_id(issue_id):
            return []
        ref = self.db.collection(self.collection).document(issue_id).collection("occurrences")
        rows = [snapshot.to_dict() or {} for snapshot in ref.limit(200).stream(**self._calls)]
        rows.sort(key=_timestamp_of, reverse=True)
        return rows[:limit]

    def alerts(self, issue_id: str, limit: int = 20) -> list[AlertView]:
        """The issue's most recent alerts with their delivery state, newest first."""
        return issue_alerts(self.db, self.alerts_collection, issue_id, limit, self._calls)

    def recent_alerts(self, limit: int = 50) -> list[AlertView]:
        """The most recent alerts of all issues, newest first."""
        return recent_alerts(self.db, self.alerts_collection, limit, self._calls)

    def set_status(self, issue_id: str, status: str, by: str, reason: str) -> StatusOutcome:
        """Set *issue_id*'s status in a transaction, appending to its bounded history.

        Setting the status it already has changes nothing. ``IssueNotFound`` if there is
        no such issue.
        """
        from google.cloud import firestore

        if status not in wire.STATUSES:
            raise ValueError(f"status {status!r} is not one of {', '.join(wire.STATUSES)}")
        if not valid_issue_id(issue_id):
            raise IssueNotFound(issue_id)
        ref = self.db.collection(self.collection).document(issue_id)
        history_limit = self.history_limit

        @firestore.transactional
        def apply(transaction: Any) -> StatusOutcome:
            snapshot = ref.get(transaction=transaction, **self._calls)
            if not snapshot.exists:
                raise IssueNotFound(issue_id)
            row = _as_row(snapshot)
            if row.get("status") == status:
                return StatusOutcome(row, changed=False)
            now = _dt.datetime.now(_dt.UTC)
            history = [h for h in row.get("status_history") or [] if isinstance(h, dict)]
            history.append({"status": status, "at": now, "by": by, "reason": reason})
            fields = {
                "status": status,
                "status_history": history[-history_limit:],
                "updated_at": now,
            }
            transaction.update(ref, fields)
            return StatusOutcome({**row, **fields}, changed=True)

        # The transaction's own begin/commit retry for about a minute when Firestore is
        # unreachable; a bounded read first makes that case fail fast (and a missing
        # issue fail before any transaction).
        if not ref.get(**self._calls).exists:
            raise IssueNotFound(issue_id)
        try:
            result: StatusOutcome = apply(self.db.transaction())
        except ValueError as exc:  # the client's "cannot be rolled back" after a failed begin
            raise FirestoreUnavailable(f"the status change of {issue_id!r} failed: {exc}") from exc
        return result
