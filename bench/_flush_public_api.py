"""Why google-cloud-firestore is pinned: one 200-issue flush, the library's public
``WriteBatch`` API against the consumer's protobuf writes (``consumer.firestore_writes``).

``python -m bench._flush_public_api`` (not part of the ``python -m bench`` table): starts
a Firestore emulator, writes 200 issues once, then flushes a window of all 200 again
(an update with increments and a last-update-time precondition, and the ring document,
per issue: the consumer's steady state) ROUNDS times each way, interleaved. Building the
batch is CPU held under the GIL the consuming loop needs; committing is waiting on gRPC.
"""

from __future__ import annotations

import datetime as _dt
import json
import statistics
import sys
import time
import uuid
from typing import Any

ISSUES = 200
ROUNDS = 7


def _deltas() -> list[Any]:
    from consumer.coalesce import IssueDelta
    from consumer.occurrence import parse_occurrence
    from tests.consumer.helpers import make_event

    now = time.time()
    return [
        IssueDelta.start(parse_occurrence(json.dumps(make_event(f"issue-{n}", at=now)).encode()))
        for n in range(ISSUES)
    ]


def _plans(client: Any, collection: str, deltas: list[Any]) -> list[tuple[Any, Any, Any]]:
    """(issue reference, its snapshot, the planned update) for each delta."""
    from consumer.document import plan_issue_write

    refs = [client.collection(collection).document(d.issue_id) for d in deltas]
    snaps = {s.reference.path: s for s in client.get_all(refs)}
    now = _dt.datetime.now(_dt.UTC)
    planned = []
    for ref, delta in zip(refs, deltas, strict=True):
        snap = snaps[ref.path]
        planned.append((ref, snap, plan_issue_write(snap.to_dict(), delta, now, 20, 20)))
    return planned


def _protobuf_batch(client: Any, planned: list[tuple[Any, Any, Any]]) -> Any:
    from consumer import firestore_writes as fw

    batch = client.batch()
    for ref, snap, plan in planned:
        ring = ref.collection("occurrences").document(plan.occurrence_slot)
        fw.add_writes(batch, [
            fw.update(fw.document_path(ref), plan.fields, snap.update_time),
            fw.replace(fw.document_path(ring), plan.occurrence),
        ])
    return batch


def _public_batch(client: Any, planned: list[tuple[Any, Any, Any]]) -> Any:
    from google.cloud.firestore_v1.transforms import Increment as LibraryIncrement

    from consumer.document import Increment

    batch = client.batch()
    for ref, snap, plan in planned:
        fields = {
            name: LibraryIncrement(value.value) if isinstance(value, Increment) else value
            for name, value in plan.fields.items()
        }
        batch.update(ref, fields, option=client.write_option(last_update_time=snap.update_time))
        batch.set(ref.collection("occurrences").document(plan.occurrence_slot), plan.occurrence)
    return batch


def main() -> int:
    from afissue.services import FirestoreEmulator
    from consumer import firestore_writes as fw
    from consumer.document import plan_issue_write
    from issue_store.client import firestore_client

    deltas = _deltas()
    with FirestoreEmulator() as emulator:
        client = firestore_client(f"bench-{uuid.uuid4().hex[:8]}", emulator.host_port)
        collection = "issues"
        first = client.batch()
        now = _dt.datetime.now(_dt.UTC)
        for delta in deltas:
            ref = client.collection(collection).document(delta.issue_id)
            plan = plan_issue_write(None, delta, now, 20, 20)
            fw.add_writes(first, [fw.create(fw.document_path(ref), plan.fields)])
        first.commit()
        times: dict[str, dict[str, list[float]]] = {
            name: {"build": [], "commit": []} for name in ("protobuf", "public")
        }
        for _ in range(ROUNDS):
            for name, make in (("protobuf", _protobuf_batch), ("public", _public_batch)):
                planned = _plans(client, collection, deltas)
                started = time.perf_counter()
                batch = make(client, planned)
                built = time.perf_counter()
                batch.commit()
                times[name]["build"].append((built - started) * 1000)
                times[name]["commit"].append((time.perf_counter() - built) * 1000)
        client.close()
    for name, parts in times.items():
        build, commit = parts["build"], parts["commit"]
        print(
            f"{name:8}  build median {statistics.median(build):6.1f} ms "
            f"(min {min(build):.1f}, max {max(build):.1f})   "
            f"commit median {statistics.median(commit):6.1f} ms "
            f"(min {min(commit):.1f}, max {max(commit):.1f})"
        )
    ratio = statistics.median(times["public"]["build"]) / statistics.median(
        times["protobuf"]["build"]
    )
    print(f"public/protobuf build time: {ratio:.1f}x ({ISSUES} issues, {ROUNDS} rounds each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
