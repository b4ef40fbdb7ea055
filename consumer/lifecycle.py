"""Issue status transitions driven by new occurrences.

A new occurrence of a *resolved* issue reopens it (a regression, numbered by the issue's
``regressions`` field: the id of its alert, ``consumer.alert_triggers``); an *ignored* issue keeps
counting and stays ignored; an *open* one stays open.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Mapping
from typing import Any

__all__ = ["IGNORED", "OPEN", "RESOLVED", "StatusChange", "on_occurrence", "status_entry"]

OPEN = "open"
RESOLVED = "resolved"
IGNORED = "ignored"
BY_CONSUMER = "consumer"


@dataclasses.dataclass(frozen=True)
class StatusChange:
    """Fields to write when an occurrence changes an issue's status."""

    fields: dict[str, Any]


def status_entry(status: str, at: _dt.datetime, by: str, reason: str) -> dict[str, Any]:
    """One ``status_history`` element."""
    return {"status": status, "at": at, "by": by, "reason": reason}


def on_occurrence(
    existing: Mapping[str, Any], now: _dt.datetime, max_history: int
) -> StatusChange | None:
    """The status change a new occurrence causes on *existing*, or ``None``."""
    if existing.get("status") != RESOLVED:
        return None
    history = list(existing.get("status_history") or [])
    before = existing.get("regressions")
    regressions = (before if isinstance(before, int) and not isinstance(before, bool) else 0) + 1
    history.append(status_entry(OPEN, now, BY_CONSUMER, "regression"))
    return StatusChange(
        {
            "status": OPEN,
            "regressed_at": now,
            "regressions": regressions,
            "status_history": history[-max_history:],
        }
    )
