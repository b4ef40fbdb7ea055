"""Where counts go: the :class:`IssueStore` port and its Firestore adapter.

One flush of one partition is one atomic Firestore batch: every issue's increment and
the partition's checkpoint, with preconditions (``exists=False`` for new documents, the
read ``update_time`` for existing ones and for the checkpoint). If the checkpoint moved
since this consumer last read it, another consumer owns the partition now: the flush is
*fenced* and its pending state dropped, never written twice.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import os
import threading
import time
from collections.abc import Iterable
from typing import Any, Protocol

from google.api_core import exceptions as gexc

from consumer.checkpoint import Checkpoint, checkpoint_id
from consumer.coalesce import PartitionBatch
from consumer.document import plan_issue_write
from consumer.errors import FencedError, StoreUnavailable
from consumer.settings import ConsumerSettings

__all__ = ["FirestoreStore", "FlushResult", "IssueStore", "firestore_client"]

log = logging.getLogger("consumer")

_CONFLICTS = (gexc.FailedPrecondition, gexc.AlreadyExists, gexc.NotFound, gexc.Aborted,
              gexc.Conflict)
_OUTAGES = (gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError,
            gexc.Unknown, gexc.RetryError, gexc.Cancelled, gexc.TooManyRequests,
            gexc.ResourceExhausted)
_MAX_CONFLICT_RETRIES = 5
_EMULATOR_VARIABLE = "FIRESTORE_EMULATOR_HOST"


@dataclasses.dataclass(frozen=True)
class FlushResult:
    """What one partition flush wrote."""

    created: list[str]
    regressed: list[str]
    issue_writes: int
    writes: int
    seconds: float = 0.0


class IssueStore(Protocol):
    """The consumer's view of its store."""

    def read_checkpoints(self, topic: str, partitions: Iterable[int]) -> list[Checkpoint]:
        """The stored checkpoints of *partitions*; ``StoreUnavailable`` on outage."""
        ...

    def flush(self, batch: PartitionBatch) -> FlushResult:
        """Write *batch* and its checkpoint atomically; ``FencedError`` if superseded."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


_CLIENT_LOCK = threading.Lock()


def firestore_client(settings: ConsumerSettings) -> Any:
    """A Firestore client for *settings* (anonymous credentials on the emulator)."""
    from google.cloud import firestore

    if not settings.firestore_emulator_host:
        return firestore.Client(project=settings.firestore_project)
    from google.auth.credentials import AnonymousCredentials

    # The client takes the emulator's address from this variable, in its constructor
    # only; set it just for that call so other clients in the process keep theirs.
    with _CLIENT_LOCK:
        previous = os.environ.get(_EMULATOR_VARIABLE)
        os.environ[_EMULATOR_VARIABLE] = settings.firestore_emulator_host
        try:
            return firestore.Client(
                project=settings.firestore_project,
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            )
        finally:
            if previous is None:
                os.environ.pop(_EMULATOR_VARIABLE, None)
            else:
                os.environ[_EMULATOR_VARIABLE] = previous


class FirestoreStore:
    """:class:`IssueStore` on Google Cloud Firestore."""

    def __init__(self, settings: ConsumerSettings, client: Any | None = None) -> None:
        self._settings = settings
        self._client = client if client is not None else firestore_client(settings)
        self._issues = self._client.collection(settings.firestore_collection)
        self._checkpoints = self._client.collection(settings.checkpoint_collection)
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

    def flush(self, batch: PartitionBatch) -> FlushResult:
        started = time.perf_counter()
        for _attempt in range(_MAX_CONFLICT_RETRIES):
            try:
                result = self._flush_once(batch)
                return dataclasses.replace(result, seconds=time.perf_counter() - started)
            except _CONFLICTS as exc:
                # A document changed between our read and our write (a status change
                # from the UI, or a zombie consumer): read again and re-decide.
                log.info("flush of partition %s conflicted (%s); retrying", batch.partition, exc)
            except _OUTAGES as exc:
                raise StoreUnavailable(f"Firestore unavailable: {exc}") from exc
        raise StoreUnavailable(
            f"partition {batch.partition}: {_MAX_CONFLICT_RETRIES} conflicting flushes in a row"
        )

    def _flush_once(self, batch: PartitionBatch) -> FlushResult:
        settings = self._settings
        checkpoint_ref = self._checkpoint_ref(batch.topic, batch.partition)
        issue_refs = {issue_id: self._issues.document(issue_id) for issue_id in batch.issues}
        snaps = {
            s.reference.path: s
            for s in self._client.get_all(
                [checkpoint_ref, *issue_refs.values()], retry=None, timeout=self._timeout
            )
        }
        checkpoint = snaps.get(checkpoint_ref.path)
        stored = checkpoint.get("next_offset") if checkpoint is not None and checkpoint.exists else None
        if stored != batch.base_offset:
            raise FencedError(batch.partition, batch.base_offset, stored)

        now = _dt.datetime.now(_dt.UTC)
        writes = self._client.batch()
        created: list[str] = []
        regressed: list[str] = []
        for issue_id, delta in batch.issues.items():
            ref = issue_refs[issue_id]
            snap = snaps.get(ref.path)
            existing = snap.to_dict() if snap is not None and snap.exists else None
            plan = plan_issue_write(
                existing, delta, now, settings.max_list_values, settings.recent_occurrences
            )
            if plan.created:
                writes.create(ref, plan.fields)
                created.append(issue_id)
            else:
                option = self._client.write_option(last_update_time=snap.update_time)  # type: ignore[union-attr]
                writes.update(ref, plan.fields, option=option)
            if plan.regressed:
                regressed.append(issue_id)
            writes.set(ref.collection("occurrences").document(plan.occurrence_slot), plan.occurrence)
        record = {
            "group": settings.group_id,
            "topic": batch.topic,
            "partition": batch.partition,
            "next_offset": batch.next_offset,
            "updated_at": now,
        }
        if checkpoint is not None and checkpoint.exists:
            writes.update(
                checkpoint_ref, record,
                option=self._client.write_option(last_update_time=checkpoint.update_time),
            )
        else:
            writes.create(checkpoint_ref, record)
        writes.commit(retry=None, timeout=self._timeout)
        issue_writes = len(batch.issues)
        return FlushResult(created, regressed, issue_writes, issue_writes * 2 + 1)

    def close(self) -> None:
        self._client.close()
