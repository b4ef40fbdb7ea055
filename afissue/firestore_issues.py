"""Reading issue documents back from Firestore, and printing them as a table.

Used by the demo of ``afissue dev`` and by ``afissue issues``. The documents are written
by the consumer (layout in ``docs/consumer.md``); this module only reads them.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["firestore_client", "format_table", "list_issues", "relative_time"]


def firestore_client(project: str, emulator_host: str | None) -> Any:
    """A Firestore client; anonymous credentials when talking to the emulator."""
    from google.cloud import firestore

    if emulator_host:
        import os

        from google.auth.credentials import AnonymousCredentials

        os.environ["FIRESTORE_EMULATOR_HOST"] = emulator_host
        return firestore.Client(project=project, credentials=AnonymousCredentials())
    return firestore.Client(project=project)


def list_issues(
    db: Any,
    collection: str,
    *,
    service: str | None = None,
    status: str | None = None,
    order_by: str = "last_seen",
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Issue documents as dicts (with ``issue_id``), newest/highest *order_by* first."""
    from google.cloud import firestore

    query = db.collection(collection)
    if service:
        query = query.where(filter=firestore.FieldFilter("service", "==", service))
    if status:
        query = query.where(filter=firestore.FieldFilter("status", "==", status))
    query = query.order_by(order_by, direction=firestore.Query.DESCENDING).limit(limit)
    rows = []
    for snapshot in query.stream():
        row = snapshot.to_dict() or {}
        row.setdefault("issue_id", snapshot.id)
        rows.append(row)
    return rows


def relative_time(moment: Any, now: _dt.datetime | None = None) -> str:
    """``"3s ago"`` / ``"5m ago"`` / ``"2h ago"`` / ``"4d ago"`` for a datetime; ``"-"`` otherwise."""
    if not isinstance(moment, _dt.datetime):
        return "-"
    now = now or _dt.datetime.now(_dt.UTC)
    seconds = max(0, int((now - moment).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _cell(value: Any) -> str:
    if isinstance(value, _dt.datetime):
        return value.astimezone(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


def format_table(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], max_width: int = 60
) -> str:
    """A plain-text table of *columns* of *rows*, cells cut at *max_width*."""
    cells = [[_cell(row.get(col))[:max_width] for col in columns] for row in rows]
    widths = [max([len(col), *(len(r[i]) for r in cells)]) for i, col in enumerate(columns)]
    lines = ["  ".join(col.upper().ljust(w) for col, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)
