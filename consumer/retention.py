"""Which ``occurrences`` documents expire, and when: the field a Firestore TTL policy reads.

A ring slot (``00``..``N-1``) carries ``expire_at`` = the write time plus the consumer's
``occurrence_ttl_days``; a TTL policy on the ``occurrences`` collection group
(``docs/deployment.md``) deletes it some time after (Firestore promises within about a
day, not at the second). Two occurrences are kept for good, outside the ring so it
never overwrites them: the issue's first (slot ``first``) and the one of each
regression (``regression-001``, ...), the occurrences an engineer compares with. Both
replace the ring write of their flush, so keeping them costs no extra write.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

__all__ = ["EXPIRY_FIELD", "FIRST_SLOT", "expiry", "regression_slot"]

EXPIRY_FIELD = "expire_at"
FIRST_SLOT = "first"


def regression_slot(existing: Mapping[str, Any]) -> str:
    """The kept slot of the regression a new occurrence of *existing* makes."""
    before = existing.get("regressions")
    number = (before if isinstance(before, int) and not isinstance(before, bool) else 0) + 1
    return f"regression-{number:03d}"


def expiry(now: _dt.datetime, ttl: _dt.timedelta | None) -> dict[str, Any]:
    """``{"expire_at": now + ttl}`` for a ring slot, or ``{}`` when nothing expires."""
    return {} if ttl is None else {EXPIRY_FIELD: now + ttl}
