"""An in-memory :class:`consumer.store.IssueWriter` with the Firestore adapter's semantics.

One flush is atomic: each partition's checkpoint must still be the one its batch builds
on (else the partition is *fenced*: nothing of it is written, the others are), and if
any issue's resulting document is one Firestore would refuse (``tests.firestore_rules``)
nothing is written and ``FlushRejected`` names the refused issues. Documents are plain
dicts, so tests can read and change them.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from typing import Any

from alerting.rules import AlertConfig
from consumer.alert_triggers import plan_alerts
from consumer.checkpoint import Checkpoint, checkpoint_id
from consumer.coalesce import IssueDelta, PartitionBatch
from consumer.document import plan_issue_write
from consumer.errors import FencedError, FlushRejected
from consumer.settings import ConsumerSettings
from consumer.store import FlushResult
from tests.firestore_rules import violations

__all__ = ["FakeStore"]


def _is_increment(value: Any) -> bool:
    # The planner's increment transform is recognised by name, so this fake holds no
    # Google types of its own and keeps working whichever module defines the transform.
    return type(value).__name__ == "Increment"


def _applied(existing: dict[str, Any] | None, fields: dict[str, Any]) -> dict[str, Any]:
    """The document an update of *existing* with *fields* leaves: increments applied,
    a dotted name (``trend_hourly.2026120214``) reaching into maps, as Firestore field
    paths do, and ``DELETE`` removing the field."""
    document = dict(existing or {})
    for name, value in fields.items():
        *parents, leaf = name.split(".")
        target = document
        for parent in parents:
            inner = target.get(parent)
            target[parent] = inner = dict(inner) if isinstance(inner, dict) else {}
            target = inner
        if type(value).__name__ == "Delete":
            target.pop(leaf, None)
        elif _is_increment(value):
            before = target.get(leaf)
            target[leaf] = (before if isinstance(before, int) else 0) + value.value
        else:
            target[leaf] = value
    return document


class FakeStore:
    """The issue store in memory: ``issues``, their ``occurrences`` rings, ``checkpoints``
    and the ``alerts`` outbox (decided under *alerts*, as ``FirestoreStore`` does)."""

    def __init__(self, settings: ConsumerSettings, alerts: AlertConfig | None = None) -> None:
        self._settings = settings
        self._alert_config = alerts or AlertConfig({}, [])
        #: Alert id -> outbox document.
        self.alerts: dict[str, dict[str, Any]] = {}
        self.issues: dict[str, dict[str, Any]] = {}
        #: Per issue: ring slot -> the occurrence document.
        self.occurrences: dict[str, dict[str, dict[str, Any]]] = {}
        #: Checkpoint document id -> ``next_offset``.
        self.checkpoints: dict[str, int | None] = {}
        self.closed = False

    def _checkpoint_id(self, topic: str, partition: int) -> str:
        return checkpoint_id(self._settings.group_id, topic, partition)

    def read_checkpoints(self, topic: str, partitions: Iterable[int]) -> list[Checkpoint]:
        return [Checkpoint(p, self.checkpoints.get(self._checkpoint_id(topic, p)))
                for p in partitions]

    def flush(self, batches: Sequence[PartitionBatch]) -> FlushResult:
        fenced: list[FencedError] = []
        checkpoints: dict[str, int | None] = {}
        deltas: dict[str, IssueDelta] = {}
        for batch in batches:
            key = self._checkpoint_id(batch.topic, batch.partition)
            stored = self.checkpoints.get(key)
            if stored != batch.base_offset:
                fenced.append(FencedError(batch.partition, batch.base_offset, stored))
                continue
            checkpoints[key] = batch.next_offset
            for issue_id, delta in batch.issues.items():
                seen = deltas.get(issue_id)
                deltas[issue_id] = delta if seen is None else seen.plus(delta)
        if not checkpoints:
            return FlushResult([], [], 0, 0, fenced)

        now = _dt.datetime.now(_dt.UTC)
        documents: dict[str, tuple[dict[str, Any], str, dict[str, Any]]] = {}
        created: list[str] = []
        regressed: list[str] = []
        culprits: dict[str, str] = {}
        alerts: dict[str, dict[str, Any]] = {}
        for issue_id, delta in deltas.items():
            existing = self.issues.get(issue_id)
            try:
                plan = plan_issue_write(existing, delta, now, self._settings.max_list_values,
                                        self._settings.recent_occurrences)
                decided = plan_alerts(self._alert_config, existing, plan, delta, now)
                plan.fields.update(decided.issue_fields)
                alerts.update((a["alert_id"], a) for a in decided.alerts if a["alert_id"] not in self.alerts)
            except Exception as exc:
                culprits[issue_id] = f"{type(exc).__name__}: {exc}"
                continue
            document = _applied(existing, plan.fields)
            refused = violations(document) + violations(plan.occurrence)
            if refused:
                culprits[issue_id] = "; ".join(refused)
                continue
            documents[issue_id] = (document, plan.occurrence_slot, plan.occurrence)
            if plan.created:
                created.append(issue_id)
            if plan.regressed:
                regressed.append(issue_id)
        if culprits:
            raise FlushRejected(culprits)

        self.checkpoints.update(checkpoints)
        for issue_id, (document, slot, occurrence) in documents.items():
            self.issues[issue_id] = document
            self.occurrences.setdefault(issue_id, {})[slot] = occurrence
        self.alerts.update(alerts)
        return FlushResult(created, regressed, len(deltas),
                           len(deltas) * 2 + len(checkpoints) + len(alerts), fenced,
                           alerts=list(alerts))

    def close(self) -> None:
        self.closed = True
