"""Where counts go: the :class:`IssueWriter` port and its Firestore adapter.

One flush is one atomic Firestore batch over one or more partitions: every issue's
increment and each partition's checkpoint, with preconditions (``exists=False`` for new
documents, the read ``update_time`` for existing ones and for the checkpoints). If a
partition's checkpoint moved since this consumer last read it, another consumer owns
the partition now: that partition is *fenced* (nothing of it written, its pending state
dropped by the worker), the others are written.

The writes themselves are built by ``consumer.firestore_writes``, the one module that
touches the client library's internals; the client comes from ``issue_store.client``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from google.api_core import exceptions as gexc

from alerting.rules import AlertConfig
from consumer import firestore_writes
from consumer.alert_triggers import plan_alerts
from consumer.checkpoint import Checkpoint, checkpoint_id
from consumer.coalesce import IssueDelta, PartitionBatch
from consumer.document import READ_FIELDS, Increment, plan_issue_write
from consumer.errors import FencedError, FlushRejected, StoreUnavailable
from consumer.settings import ConsumerSettings
from consumer.trends import Delete
from issue_store.client import firestore_client

__all__ = ["FirestoreStore", "FlushResult", "IssueWriter"]

log = logging.getLogger("consumer")

_CONFLICTS = (gexc.FailedPrecondition, gexc.AlreadyExists, gexc.NotFound, gexc.Aborted,
              gexc.Conflict)
_OUTAGES = (gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError,
            gexc.Unknown, gexc.RetryError, gexc.Cancelled, gexc.TooManyRequests,
            gexc.ResourceExhausted)
_MAX_CONFLICT_RETRIES = 5
#: What a flush reads back: the checkpoint's offset and what planning an issue write
#: needs; not the stored latest occurrence (the largest field, replaced anyway).
_FLUSH_READ_MASK = ["next_offset", *READ_FIELDS]


@dataclasses.dataclass(frozen=True)
class FlushResult:
    """What one flush wrote, and the partitions it found superseded (nothing of them written)."""

    created: list[str]
    regressed: list[str]
    issue_writes: int
    writes: int
    fenced: list[FencedError] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    #: Ids of the outbox documents (alerts) the flush created.
    alerts: list[str] = dataclasses.field(default_factory=list)


class IssueWriter(Protocol):
    """What the consumer needs of the issue store: its checkpoints, and atomic flushes."""

    def read_checkpoints(self, topic: str, partitions: Iterable[int]) -> list[Checkpoint]:
        """The stored checkpoints of *partitions*; ``StoreUnavailable`` on outage."""
        ...

    def flush(self, batches: Sequence[PartitionBatch]) -> FlushResult:
        """Write *batches* (distinct partitions) and their checkpoints atomically."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...



class FirestoreStore:
    """:class:`IssueWriter` on Google Cloud Firestore."""

    def __init__(
        self, settings: ConsumerSettings, client: Any | None = None,
        alerts: AlertConfig | None = None,
    ) -> None:
        self._settings = settings
        self._alert_config = alerts or AlertConfig({}, [])
        self._client = (
            client if client is not None
            else firestore_client(settings.firestore_project, settings.firestore_emulator_host)
        )
        self._issues = self._client.collection(settings.firestore_collection)
        self._checkpoints = self._client.collection(settings.checkpoint_collection)
        self._alerts = self._client.collection(settings.alerts_collection)
        #: Where a refused flush is probed issue by issue (emptied again at once).
        self._probes = self._client.collection(f"{settings.firestore_collection}_probes")
        self._timeout = settings.store_timeout

    def _checkpoint_ref(self, topic: str, partition: int) -> Any:
        return self._checkpoints.document(
            checkpoint_id(self._settings.group_id, topic, partition)
        )

    def read_checkpoints(self, topic: str, partitions: Iterable[int]) -> list[Checkpoint]:
        parts = list(partitions)
        refs = [self._checkpoint_ref(topic, p) for p in parts]
        try:
            snaps = {s.reference.path: s for s in self._client.get_all(
                refs, retry=None, timeout=self._timeout)}
        except _OUTAGES as exc:
            raise StoreUnavailable(f"Firestore unavailable reading checkpoints: {exc}") from exc
        result = []
        for partition, ref in zip(parts, refs, strict=True):
            snap = snaps.get(ref.path)
            offset = snap.get("next_offset") if snap is not None and snap.exists else None
            result.append(Checkpoint(partition, offset))
        return result

    def flush(self, batches: Sequence[PartitionBatch]) -> FlushResult:
        started = time.perf_counter()
        partitions = [b.partition for b in batches]
        for _attempt in range(_MAX_CONFLICT_RETRIES):
            try:
                result = self._flush_once(batches)
                return dataclasses.replace(result, seconds=time.perf_counter() - started)
            except _CONFLICTS as exc:
                # A document changed between our read and our write (a status change
                # from the UI, or a zombie consumer): read again and re-decide.
                log.info("flush of partitions %s conflicted (%s); retrying", partitions, exc)
            except _OUTAGES as exc:
                raise StoreUnavailable(f"Firestore unavailable: {exc}") from exc
            except gexc.GoogleAPICallError as exc:
                if not isinstance(exc, gexc.BadRequest):  # permissions, auth: not the data
                    raise StoreUnavailable(f"Firestore refused the flush: {exc}") from exc
                self._reject(batches, exc)
            except Exception as exc:  # the data broke planning or encoding a write
                log.exception("flush of partitions %s failed", partitions)
                self._reject(batches, exc)
        raise StoreUnavailable(
            f"partitions {partitions}: {_MAX_CONFLICT_RETRIES} conflicting flushes in a row"
        )

    def _flush_once(self, batches: Sequence[PartitionBatch]) -> FlushResult:
        settings = self._settings
        checkpoint_refs = [self._checkpoint_ref(b.topic, b.partition) for b in batches]
        issue_refs = {
            issue_id: self._issues.document(issue_id)
            for batch in batches for issue_id in batch.issues
        }
        snaps = {
            s.reference.path: s
            for s in self._client.get_all(
                [*checkpoint_refs, *issue_refs.values()], field_paths=_FLUSH_READ_MASK,
                retry=None, timeout=self._timeout,
            )
        }
        now = _dt.datetime.now(_dt.UTC)
        # Writes are built as protobufs directly (firestore_writes: the library's encoder
        # is 4x slower, and its time is held under the GIL the consuming loop needs).
        writes = self._client.batch()
        fenced: list[FencedError] = []
        deltas: dict[str, IssueDelta] = {}
        for batch, checkpoint_ref in zip(batches, checkpoint_refs, strict=True):
            checkpoint = snaps.get(checkpoint_ref.path)
            exists = checkpoint is not None and checkpoint.exists
            stored = checkpoint.get("next_offset") if exists else None  # type: ignore[union-attr]
            if stored != batch.base_offset:
                fenced.append(FencedError(batch.partition, batch.base_offset, stored))
                continue
            record = {
                "group": settings.group_id,
                "topic": batch.topic,
                "partition": batch.partition,
                "next_offset": batch.next_offset,
                "updated_at": now,
            }
            path = firestore_writes.document_path(checkpoint_ref)
            firestore_writes.add_writes(writes, [
                firestore_writes.update(path, record, checkpoint.update_time)  # type: ignore[union-attr]
                if exists else firestore_writes.create(path, record)
            ])
            for issue_id, delta in batch.issues.items():
                # One issue in two partitions (a producer keyed it differently): one write.
                seen = deltas.get(issue_id)
                deltas[issue_id] = delta if seen is None else seen.plus(delta)
        checkpoints = len(batches) - len(fenced)
        if not checkpoints:
            return FlushResult([], [], 0, 0, fenced)

        created: list[str] = []
        regressed: list[str] = []
        alerts: list[dict[str, Any]] = []
        for issue_id, delta in deltas.items():
            ref = issue_refs[issue_id]
            snap = snaps.get(ref.path)
            existing = snap.to_dict() if snap is not None and snap.exists else None
            plan = plan_issue_write(
                existing, delta, now, settings.max_list_values, settings.recent_occurrences,
                occurrence_ttl=settings.occurrence_ttl,
            )
            if self._alert_config.enabled:
                decided = plan_alerts(self._alert_config, existing, plan, delta, now)
                plan.fields.update(decided.issue_fields)
                alerts.extend(decided.alerts)
            ring = ref.collection("occurrences").document(plan.occurrence_slot)
            path = firestore_writes.document_path(ref)
            if plan.created:
                issue_write = firestore_writes.create(path, plan.fields)
                created.append(issue_id)
            else:
                issue_write = firestore_writes.update(
                    path, plan.fields, snap.update_time  # type: ignore[union-attr]
                )
            if plan.regressed:
                regressed.append(issue_id)
            firestore_writes.add_writes(writes, [
                issue_write,
                firestore_writes.replace(firestore_writes.document_path(ring), plan.occurrence),
            ])
        fired = self._new_alerts(alerts)
        firestore_writes.add_writes(writes, [
            firestore_writes.create(firestore_writes.document_path(self._alerts.document(a["alert_id"])), a)
            for a in fired
        ])
        writes.commit(retry=None, timeout=self._timeout)
        return FlushResult(
            created, regressed, len(deltas), len(deltas) * 2 + checkpoints + len(fired), fenced,
            alerts=[a["alert_id"] for a in fired],
        )

    def _new_alerts(self, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """*alerts* but those already in the outbox.

        The issue state an alert's id derives from is written with the alert, so an
        existing id means that state was lost since (an issue document deleted and seen
        again): the alert was decided once already, and the batch's create precondition
        must not fail on it at every retry.
        """
        if not alerts:
            return []
        refs = [self._alerts.document(a["alert_id"]) for a in alerts]
        found = {
            s.reference.path for s in self._client.get_all(
                refs, field_paths=["state"], retry=None, timeout=self._timeout)
            if s.exists
        }
        for ref in refs:
            if ref.path in found:
                log.info("alert %s was decided before: not written again", ref.id)
        return [a for a, ref in zip(alerts, refs, strict=True) if ref.path not in found]

    # -- rejected flushes -------------------------------------------------------------

    def _reject(self, batches: Sequence[PartitionBatch], error: Exception) -> None:
        """Raise ``FlushRejected`` naming the issues whose data *error* is about."""
        culprits = self._culprits(batches)
        if not culprits:
            raise StoreUnavailable(
                f"Firestore refused a flush ({error}), yet every issue of it on its own is "
                "accepted; retrying"
            ) from error
        log.warning("Firestore refuses the writes of issues %s: %s", sorted(culprits),
                    next(iter(culprits.values())))
        raise FlushRejected(culprits) from error

    def _culprits(self, batches: Sequence[PartitionBatch]) -> dict[str, str]:
        """The issues of *batches* whose write Firestore (or the encoder) refuses, and why.

        Each issue's resulting document is written to a probe collection, in halves
        until the refused ones are alone, then deleted: the probes hold the same values
        the real write would leave, so Firestore judges them by the same rules.
        """
        deltas: dict[str, IssueDelta] = {}
        for batch in batches:
            for issue_id, delta in batch.issues.items():
                seen = deltas.get(issue_id)
                deltas[issue_id] = delta if seen is None else seen.plus(delta)
        refs = {issue_id: self._issues.document(issue_id) for issue_id in deltas}
        try:
            snaps = {s.reference.path: s for s in self._client.get_all(
                list(refs.values()), retry=None, timeout=self._timeout)}
        except _OUTAGES as exc:
            raise StoreUnavailable(f"Firestore unavailable reading issues: {exc}") from exc
        now = _dt.datetime.now(_dt.UTC)
        culprits: dict[str, str] = {}
        probes: list[tuple[str, list[Any]]] = []
        for issue_id, delta in deltas.items():
            snap = snaps.get(refs[issue_id].path)
            existing = snap.to_dict() if snap is not None and snap.exists else None
            probe = self._probes.document(issue_id)
            try:
                plan = plan_issue_write(existing, delta, now, self._settings.max_list_values,
                                        self._settings.recent_occurrences)
                ring = probe.collection("occurrences").document("00")
                probes.append((issue_id, [
                    firestore_writes.replace(
                        firestore_writes.document_path(probe), _stored(existing, plan.fields)
                    ),
                    firestore_writes.replace(
                        firestore_writes.document_path(ring), plan.occurrence
                    ),
                ]))
            except Exception as exc:  # noqa: BLE001 - whatever it is, this issue caused it
                culprits[issue_id] = f"{type(exc).__name__}: {exc}"[:1000]
        self._probe(probes, culprits)
        return culprits

    def _probe(self, probes: list[tuple[str, list[Any]]], culprits: dict[str, str]) -> None:
        if not probes:
            return
        batch = self._client.batch()
        firestore_writes.add_writes(batch, [write for _, writes in probes for write in writes])
        try:
            batch.commit(retry=None, timeout=self._timeout)
        except gexc.BadRequest as exc:
            if len(probes) == 1:
                culprits[probes[0][0]] = str(exc)[:1000]
                return
            half = len(probes) // 2
            self._probe(probes[:half], culprits)
            self._probe(probes[half:], culprits)
            return
        except _OUTAGES as exc:
            raise StoreUnavailable(f"Firestore unavailable probing a flush: {exc}") from exc
        cleanup = self._client.batch()
        for issue_id, _ in probes:
            probe = self._probes.document(issue_id)
            cleanup.delete(probe.collection("occurrences").document("00"))
            cleanup.delete(probe)
        try:
            cleanup.commit(retry=None, timeout=self._timeout)
        except gexc.GoogleAPICallError as exc:  # leftovers are harmless: overwritten next time
            log.info("could not delete flush probes: %s", exc)

    def close(self) -> None:
        self._client.close()


def _stored(existing: dict[str, Any] | None, fields: dict[str, Any]) -> dict[str, Any]:
    """The document an update of *existing* with *fields* leaves (increments applied,
    dotted names into maps, ``DELETE`` removed)."""
    document = dict(existing or {})
    for name, value in fields.items():
        *parents, leaf = name.split(".")
        target = document
        for parent in parents:
            inner = target.get(parent)
            target[parent] = inner = dict(inner) if isinstance(inner, dict) else {}
            target = inner
        if isinstance(value, Delete):
            target.pop(leaf, None)
        elif isinstance(value, Increment):
            before = target.get(leaf)
            target[leaf] = (before if isinstance(before, int) else 0) + value.value
        else:
            target[leaf] = value
    return document
