"""Pending state of one flush window, per partition: counts coalesced per issue.

A hot issue receiving thousands of events a second becomes one ``IssueDelta`` per
window — one ``Increment(n)`` write instead of thousands.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt

from consumer.occurrence import Occurrence
from consumer.trends import epoch_hour

__all__ = ["MAX_LIST_VALUE_CHARS", "IssueDelta", "PartitionBatch"]

#: Environments and releases longer than this are cut (they are listed on the issue).
MAX_LIST_VALUE_CHARS = 256


@dataclasses.dataclass
class IssueDelta:
    """What one window adds to one issue."""

    issue_id: str
    count: int
    records: int
    first_seen: _dt.datetime
    last_seen: _dt.datetime
    latest: Occurrence
    environments: list[str]
    releases: list[str]
    #: Occurrences per hour of their time (``consumer.trends.epoch_hour``).
    hourly: dict[int, int] = dataclasses.field(default_factory=dict)
    #: Earliest occurrence time of each release in ``releases``.
    release_first: dict[str, _dt.datetime] = dataclasses.field(default_factory=dict)

    @classmethod
    def start(cls, occurrence: Occurrence) -> IssueDelta:
        delta = cls(
            issue_id=occurrence.issue_id, count=0, records=0,
            first_seen=occurrence.timestamp, last_seen=occurrence.timestamp,
            latest=occurrence, environments=[], releases=[],
        )
        delta.add(occurrence)
        return delta

    def add(self, occurrence: Occurrence) -> None:
        """Fold *occurrence* in: sum counts, min/max times, keep the most recent in full."""
        self.count += occurrence.count
        self.records += 1
        key = epoch_hour(occurrence.timestamp)
        self.hourly[key] = self.hourly.get(key, 0) + occurrence.count
        self.first_seen = min(self.first_seen, occurrence.timestamp)
        if occurrence.timestamp >= self.last_seen:
            self.last_seen = occurrence.timestamp
            self.latest = occurrence
        for name, seen in (("environment", self.environments), ("release", self.releases)):
            value = occurrence.event.get(name)
            if isinstance(value, str) and value:
                value = value[:MAX_LIST_VALUE_CHARS]
                if value not in seen:
                    seen.append(value)
                if name == "release":
                    first = self.release_first.get(value)
                    if first is None or occurrence.timestamp < first:
                        self.release_first[value] = occurrence.timestamp

    def plus(self, later: IssueDelta) -> IssueDelta:
        """A new delta of this one's occurrences and then *later*'s; neither is changed."""
        both = dataclasses.replace(
            self, environments=list(self.environments), releases=list(self.releases),
            hourly=dict(self.hourly), release_first=dict(self.release_first),
        )
        both.merge(later)
        return both

    def merge(self, later: IssueDelta) -> None:
        """Fold in *later*, a delta of occurrences read after ours: as if each were added."""
        self.count += later.count
        self.records += later.records
        for key, count in later.hourly.items():
            self.hourly[key] = self.hourly.get(key, 0) + count
        self.first_seen = min(self.first_seen, later.first_seen)
        if later.last_seen >= self.last_seen:
            self.last_seen = later.last_seen
            self.latest = later.latest
        for seen, new in ((self.environments, later.environments),
                          (self.releases, later.releases)):
            seen.extend(value for value in new if value not in seen)
        for release, moment in later.release_first.items():
            first = self.release_first.get(release)
            if first is None or moment < first:
                self.release_first[release] = moment


@dataclasses.dataclass
class PartitionBatch:
    """Everything consumed from one partition since its last checkpoint.

    ``base_offset`` is the checkpoint this state builds on (``None``: no checkpoint
    yet); ``next_offset`` is where the next checkpoint will point.
    """

    topic: str
    partition: int
    base_offset: int | None
    next_offset: int | None = None
    issues: dict[str, IssueDelta] = dataclasses.field(default_factory=dict)
    records: int = 0
    #: A position already re-read once because of a gap after it (a real gap, then).
    gap_checked: int | None = None

    def add(self, occurrence: Occurrence, offset: int) -> None:
        """Count *occurrence*, read at *offset*."""
        delta = self.issues.get(occurrence.issue_id)
        if delta is None:
            self.issues[occurrence.issue_id] = IssueDelta.start(occurrence)
        else:
            delta.add(occurrence)
        self.advance(offset)

    def advance(self, offset: int) -> None:
        """Move past *offset* without counting anything (duplicate, dead letter)."""
        self.next_offset = offset + 1
        self.records += 1

    @property
    def position(self) -> int | None:
        """The next offset this batch expects (``None``: whatever comes first)."""
        return self.next_offset if self.next_offset is not None else self.base_offset

    @property
    def dirty(self) -> bool:
        """Whether there is anything to checkpoint."""
        return self.next_offset is not None and self.next_offset != self.base_offset

    def detach(self) -> PartitionBatch:
        """Hand the pending state over for writing; keep reading on top of it.

        The returned batch holds everything up to ``next_offset``; this one continues
        from there, empty. If the write fails, :meth:`restore` takes the state back.
        """
        written = PartitionBatch(
            self.topic, self.partition, self.base_offset, self.next_offset, self.issues,
            self.records,
        )
        self.rebase(self.next_offset)
        return written

    def restore(self, unwritten: PartitionBatch) -> None:
        """Take back a :meth:`detach`-ed batch whose write failed; its records came first."""
        issues = unwritten.issues
        for issue_id, delta in self.issues.items():
            if issue_id in issues:
                issues[issue_id].merge(delta)
            else:
                issues[issue_id] = delta
        self.issues = issues
        self.records += unwritten.records
        self.base_offset = unwritten.base_offset
        if self.next_offset is None:
            self.next_offset = unwritten.next_offset

    def rebase(self, offset: int | None) -> None:
        """Drop the pending state: it was flushed to, or superseded at, *offset*."""
        self.base_offset = offset
        self.next_offset = None
        self.issues = {}
        self.records = 0
