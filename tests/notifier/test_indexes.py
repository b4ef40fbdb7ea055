"""firestore.indexes.json has the composite index the notifier's pending query needs
(the emulator runs it without one; production refuses it)."""

from __future__ import annotations

import json
from pathlib import Path

from alerting.outbox import DEFAULT_COLLECTION
from notifier.loop import PENDING_FILTER, PENDING_ORDER

INDEXES = Path(__file__).resolve().parents[2] / "firestore.indexes.json"


class TestPendingQueryIndex:
    def test_state_and_created_at_are_indexed_together(self) -> None:
        """An index on the outbox collection: the equality field, then the sort ascending."""
        field, op, _ = PENDING_FILTER
        assert op == "=="
        wanted = [(field, "ASCENDING"), (PENDING_ORDER, "ASCENDING")]
        declared = [
            [(f["fieldPath"], f.get("order")) for f in index["fields"]]
            for index in json.loads(INDEXES.read_text())["indexes"]
            if index["collectionGroup"] == DEFAULT_COLLECTION
        ]
        assert wanted in declared
