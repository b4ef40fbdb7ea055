"""Deleting old resolved issues with their subcollections, in batches, resumably.

Firestore deletes no subcollection with its parent (and its TTL policies neither), so an
issue is deleted bottom up: its subcollections' documents (``occurrences``, and any
other) in batches of at most ``batch_size``, then the issue document itself, last. A run
stopped anywhere (a crash, Ctrl-C, a Firestore outage) leaves every unfinished issue
still matching, so the next run picks it up where it stopped; nothing is recorded
elsewhere. The issue is deleted only if it was not written since it was read (an
``update_time`` precondition): an issue that regressed meanwhile is kept.

An issue is pruned when its status is ``resolved``, it was last seen before the
cutoff, and it was resolved before the cutoff (its last ``status_history`` entry).
The alert outbox documents of a pruned issue are kept (they are the record of what
was sent).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["PruneProgress", "Pruner", "parse_age"]

_AGE = re.compile(r"^(\d{1,5})([hdw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> _dt.timedelta:
    """``90d``, ``12h``, ``2w`` as a duration; ``ValueError`` naming the text otherwise."""
    match = _AGE.match(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not an age; expected a number and h, d or w, like 90d")
    return _dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@dataclasses.dataclass
class PruneProgress:
    """What a run did so far (or, with ``dry_run``, would do)."""

    issues: int = 0
    documents: int = 0
    kept_changed: int = 0
    pruned_ids: list[str] = dataclasses.field(default_factory=list)


def _resolved_at(row: dict[str, Any]) -> _dt.datetime | None:
    history = [h for h in row.get("status_history") or [] if isinstance(h, dict)]
    if history and history[-1].get("status") == "resolved":
        at = history[-1].get("at")
        return at if isinstance(at, _dt.datetime) else None
    return None


class Pruner:
    """Prunes the issues of one collection."""

    def __init__(self, db: Any, collection: str = "issues", *, batch_size: int = 200) -> None:
        if not 1 <= batch_size <= 500:
            raise ValueError(f"batch_size={batch_size}: expected 1..500 (a Firestore batch)")
        self.db = db
        self.collection = collection
        self.batch_size = batch_size

    def candidates(self, cutoff: _dt.datetime) -> Iterator[Any]:
        """Snapshots of resolved issues last seen before *cutoff*, resolved before it too.

        The query is ``status == resolved``, ``last_seen < cutoff``, newest first: the
        (status, last_seen descending) index the issue list already has.
        """
        from google.cloud import firestore

        query = (
            self.db.collection(self.collection)
            .where(filter=firestore.FieldFilter("status", "==", "resolved"))
            .where(filter=firestore.FieldFilter("last_seen", "<", cutoff))
            .order_by("last_seen", direction=firestore.Query.DESCENDING)
        )
        after = None
        while True:
            page = query.start_after(after) if after is not None else query
            snapshots = list(page.limit(self.batch_size).stream())
            for snapshot in snapshots:
                resolved = _resolved_at(snapshot.to_dict() or {})
                if resolved is None or resolved < cutoff:
                    yield snapshot
            if len(snapshots) < self.batch_size:
                return
            after = snapshots[-1]

    def _subdocuments(self, ref: Any) -> Iterator[list[Any]]:
        """Batches of the references under *ref*, until none is left."""
        for sub in ref.collections():
            while True:
                refs = [s.reference for s in sub.select([]).limit(self.batch_size).stream()]
                if not refs:
                    break
                yield refs

    def run(
        self,
        older_than: _dt.timedelta,
        *,
        dry_run: bool = False,
        now: _dt.datetime | None = None,
        progress: Callable[[PruneProgress], None] | None = None,
    ) -> PruneProgress:
        """Prune (or with *dry_run* count) every issue resolved longer than *older_than*.

        *progress* is called after each committed batch and each issue.
        """
        from google.api_core import exceptions as gexc

        cutoff = (now or _dt.datetime.now(_dt.UTC)) - older_than
        done = PruneProgress()
        for snapshot in self.candidates(cutoff):
            ref = snapshot.reference
            if dry_run:
                done.documents += sum(
                    1 for sub in ref.collections() for _ in sub.select([]).stream()
                )
            else:
                for refs in self._subdocuments(ref):
                    batch = self.db.batch()
                    for sub_ref in refs:
                        batch.delete(sub_ref)
                    batch.commit()
                    done.documents += len(refs)
                    if progress is not None:
                        progress(done)
                try:
                    ref.delete(option=self.db.write_option(last_update_time=snapshot.update_time))
                except gexc.FailedPrecondition:  # written since it was read: it regressed
                    done.kept_changed += 1
                    continue
            done.issues += 1
            done.documents += 1
            done.pruned_ids.append(snapshot.id)
            if progress is not None:
                progress(done)
        return done
