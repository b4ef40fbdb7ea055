"""Reading issue documents back from Firestore, and printing them as a table.

Used by the demo of ``afissue dev`` and by ``afissue issues``. The documents are written
by the consumer (layout in ``docs/consumer.md``); the store that reads them and changes
their status is ``ingest_service.ui.store``, shared with the web UI.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ingest_service.ui.present import relative_time
from ingest_service.ui.query import IssueQuery
from ingest_service.ui.store import IssueStore, firestore_client

__all__ = ["firestore_client", "format_table", "list_issues", "printable", "relative_time"]

# Terminal control characters (C0 without tab/newline, DEL, C1): a title or message
# could otherwise move the cursor or recolour the terminal of whoever reads it.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


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
    query = IssueQuery(status=status, service=service, sort=order_by, limit=limit)
    return IssueStore(db, collection).find(query).issues


def printable(text: str) -> str:
    """*text* with terminal control characters shown as ``\\xNN`` escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _cell(value: Any) -> str:
    if isinstance(value, _dt.datetime):
        return value.astimezone(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    text = "" if value is None else str(value)
    return printable(" ".join(text.split("\n")).replace("\t", " "))


def format_table(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], max_width: int = 60
) -> str:
    """A plain-text table of *columns* of *rows*, cells cut at *max_width*."""
    cells = [[_cell(row.get(col))[:max_width] for col in columns] for row in rows]
    widths = [max([len(col), *(len(r[i]) for r in cells)]) for i, col in enumerate(columns)]
    lines = ["  ".join(col.upper().ljust(w) for col, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)
