"""SnapshotQueue: a full queue coalesces by storm key instead of dropping; counts stay exact."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from afissue_logging import IssueHandler
from afissue_logging._queue import SnapshotQueue
from afissue_logging._snapshot import Snapshot
from afissue_logging._transport import Response
from afissue_logging.testing import CapturingTransport


def _snap(message: str) -> Snapshot:
    snap = Snapshot("record")
    snap.message = message
    return snap


def _drain(queue: SnapshotQueue) -> list[Any]:
    items = []
    while (item := queue.pop()) is not None:
        items.append(item)
    return items


def _by_message(snap: Snapshot) -> str | None:
    return snap.message


class TestSnapshotQueue:
    def test_a_full_queue_coalesces_by_key(self) -> None:
        """Past maxsize, equal keys add to one entry's count; the first snapshot is kept."""
        queue = SnapshotQueue(3, key=_by_message)
        snaps = [_snap(m) for m in ["a", "b", "c", "a", "b", "a"]]
        assert all(queue.put_nowait(snap) for snap in snaps)
        assert len(queue) == 6
        items = _drain(queue)
        assert [(s.message, s.count) for s in items] == [
            ("a", 1), ("b", 1), ("c", 1), ("a", 2), ("b", 1)
        ]
        assert items[3] is snaps[3]
        assert len(queue) == 0

    def test_new_keys_beyond_the_bound_are_refused(self) -> None:
        """At most maxsize distinct keys wait in the overflow; a new one beyond is refused."""
        queue = SnapshotQueue(2, key=_by_message)
        results = [queue.put_nowait(_snap(m)) for m in ["q1", "q2", "o1", "o2", "o3", "o1"]]
        assert results == [True, True, True, True, False, True]
        assert [(s.message, s.count) for s in _drain(queue)] == [
            ("q1", 1), ("q2", 1), ("o1", 2), ("o2", 1)
        ]

    def test_unkeyed_snapshots_take_a_slot_each(self) -> None:
        """A snapshot without a usable key (none, unhashable, or the key function fails)
        is never merged."""
        def key(snap: Snapshot) -> Any:
            if snap.message == "boom":
                raise TypeError("unhashable")
            return ["a list"] if snap.message == "list" else None

        queue = SnapshotQueue(3, key=key)
        assert all(queue.put_nowait(_snap(m)) for m in ["x", "y", "z", "boom", "boom", "list"])
        assert queue.put_nowait(_snap("list")) is False
        assert [(s.message, s.count) for s in _drain(queue)] == [
            ("x", 1), ("y", 1), ("z", 1), ("boom", 1), ("boom", 1), ("list", 1)
        ]

    def test_while_the_overflow_holds_anything_new_items_go_there(self) -> None:
        """Order is kept: nothing overtakes the overflow through room made in the deque."""
        queue = SnapshotQueue(2, key=_by_message)
        for message in ["a", "b", "c"]:
            queue.put_nowait(_snap(message))
        head = queue.pop()
        assert head is not None and head.message == "a"
        queue.put_nowait(_snap("d"))  # room in the deque, but "c" waits in the overflow
        assert [s.message for s in _drain(queue)] == ["b", "c", "d"]
        queue.put_nowait(_snap("e"))  # the overflow is empty again: the deque takes it
        assert [s.message for s in _drain(queue)] == ["e"]

    def test_a_control_marker_comes_after_the_overflow(self) -> None:
        """A flush marker put while the overflow holds entries is taken after them."""
        queue = SnapshotQueue(1, key=_by_message)
        for message in ["a", "b", "b"]:
            queue.put_nowait(_snap(message))
        marker = object()
        queue.put_control(marker)
        items = _drain(queue)
        assert [getattr(i, "message", i) for i in items] == ["a", "b", marker]
        assert items[1].count == 2


class _StalledTransport(CapturingTransport):
    """Blocks the sender inside its first request until released."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def send(self, body: bytes, headers: Mapping[str, str], timeout: float) -> Response:
        self.entered.set()
        assert self.release.wait(30)
        return super().send(body, headers, timeout)


def _stalled_handler(spool_dir: str, queue_size: int) -> tuple[IssueHandler, _StalledTransport]:
    transport = _StalledTransport()
    handler = IssueHandler(
        service="svc", spool_dir=spool_dir, transport=transport, queue_size=queue_size,
        flush_interval=0.01,
    )
    handler.handle(logging.makeLogRecord({"name": "app", "levelno": 40, "msg": "first"}))
    assert transport.entered.wait(20)
    return handler, transport


def _record(msg: str, *args: Any) -> logging.LogRecord:
    return logging.makeLogRecord({"name": "app", "levelno": 40, "msg": msg, "args": args})


_KINDS = ("parse", "lookup", "connect", "timeout", "decode")  # digits would normalise away


class TestFullQueueThroughTheSender:
    def test_a_stalled_sender_loses_nothing_and_counts_exactly(self, spool_dir: str) -> None:
        """1,000 errors of 5 kinds against a 10-record queue while the sender is stuck in
        a request: none dropped, every kind's count exact, and each kind's first event
        carries its first occurrence's own message."""
        handler, transport = _stalled_handler(spool_dir, queue_size=10)
        for i in range(1_000):
            handler.handle(_record(f"{_KINDS[i % 5]} failed for item %d", i))
        transport.release.set()
        assert handler.flush(20)
        stats = handler.stats()
        assert stats["dropped_total"] == 0, stats["dropped"]
        assert stats["sent"] == 1_001
        counts: dict[str, int] = {}
        first: dict[str, str] = {}
        for event in transport.events:
            counts[event["message"].split(" for ")[0]] = (
                counts.get(event["message"].split(" for ")[0], 0) + event["count"]
            )
            first.setdefault(event["message"].split(" for ")[0], event["message"])
        assert counts == {"first": 1, **{f"{kind} failed": 200 for kind in _KINDS}}
        assert first == {
            "first": "first", **{f"{kind} failed": f"{kind} failed for item {k}"
                                 for k, kind in enumerate(_KINDS)}
        }

    def test_distinct_keys_beyond_the_bound_are_drop_counted(self, spool_dir: str) -> None:
        """50 distinct errors against a 10-record queue: 10 queued, 10 coalescing
        entries, 30 dropped as queue_full, and the accounting closes."""
        handler, transport = _stalled_handler(spool_dir, queue_size=10)
        for i in range(50):
            handler.handle(_record(f"distinct {i}"))
        transport.release.set()
        assert not handler.flush(20)  # done, but not everything was delivered
        stats = handler.stats()
        assert stats["dropped"]["queue_full"] == 30
        assert stats["sent"] == 21
        assert stats["sent"] + stats["dropped_total"] == 51
