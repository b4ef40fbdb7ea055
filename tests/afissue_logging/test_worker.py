"""Worker: lazy thread, flush and stop markers, errors counted, fork detection."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

from afissue_logging._worker import Worker


@dataclasses.dataclass
class _Item:
    """A queued item as the queue sees a snapshot: a storm key and an occurrence count."""

    key: str
    count: int = 1


def _key_of(item: Any) -> str:
    return str(item.key)


class _Job:
    """Records what the worker thread asked of it."""

    def __init__(self, fail_on: Any = None) -> None:
        self.items: list[Any] = []
        self.flushed: list[int] = []
        self.stopped: list[float] = []
        self.errors = 0
        self.fail_on = fail_on
        #: What on_flush answers (None: it raises).
        self.delivered: bool | None = True
        self.gate = threading.Event()
        self.gate.set()

    def on_start(self) -> None:
        pass

    def on_item(self, item: Any) -> None:
        self.gate.wait(10)
        if item == self.fail_on:
            raise RuntimeError("boom")
        self.items.append(item)

    def on_tick(self) -> None:
        pass

    def on_flush(self) -> bool:
        self.flushed.append(len(self.items))
        if self.delivered is None:
            raise RuntimeError("flush failed")
        return self.delivered

    def on_stop(self, deadline: float) -> None:
        self.stopped.append(deadline)

    def idle_timeout(self) -> float:
        return 5.0

    def on_error(self) -> None:
        self.errors += 1


class TestWorker:
    def test_flush_returns_after_everything_put_before_it(self) -> None:
        """flush() waits until the job has taken every item put before the flush."""
        job = _Job()
        worker = Worker(job, queue_size=100)
        assert worker.start()
        for i in range(50):
            assert worker.put(i)
        assert worker.flush(10)
        assert job.items == list(range(50))
        assert job.flushed == [50]

    def test_flush_says_what_the_job_delivered(self) -> None:
        """flush() is the job's answer: False when it did not deliver everything, or
        when its flush raised (counted as an error)."""
        job = _Job()
        worker = Worker(job, queue_size=10)
        worker.start()
        worker.put(1)
        job.delivered = False
        assert not worker.flush(10)
        job.delivered = None
        assert not worker.flush(10)
        assert job.errors == 1
        job.delivered = True
        assert worker.flush(10)
        assert job.flushed == [1, 1, 1]

    def test_flush_before_start_and_in_a_fork_is_true(self) -> None:
        """Nothing to wait for: no thread yet, or a worker of another process."""
        worker = Worker(_Job(), queue_size=1)
        assert worker.flush(0)
        worker.start()
        worker.pid = -1
        assert worker.forked()
        assert worker.flush(0)

    def test_a_full_queue_coalesces_by_key_then_refuses_without_blocking(self) -> None:
        """Once queue_size items wait, a put joins the waiting item of its key; a new key
        beyond the bound is refused (False: the caller counts the drop)."""
        job = _Job()
        job.gate.clear()
        worker = Worker(job, queue_size=2, key=_key_of)
        worker.start()
        worker.put(_Item("taken"))
        while worker:  # the thread took the first item and waits at the gate
            time.sleep(0.001)
        assert worker.put(_Item("a")) and worker.put(_Item("b"))
        assert worker.put(_Item("x")) and worker.put(_Item("x")) and worker.put(_Item("y"))
        assert not worker.put(_Item("z"))
        job.gate.set()
        assert worker.flush(10)
        assert [(i.key, i.count) for i in job.items] == [
            ("taken", 1), ("a", 1), ("b", 1), ("x", 2), ("y", 1)
        ]

    def test_a_failing_item_is_counted_and_the_thread_goes_on(self) -> None:
        """An exception from the job is reported to on_error; later items still arrive."""
        job = _Job(fail_on="bad")
        worker = Worker(job, queue_size=10)
        worker.start()
        for item in ("a", "bad", "b"):
            worker.put(item)
        assert worker.flush(10)
        assert job.items == ["a", "b"]
        assert job.errors == 1

    def test_stop_passes_the_deadline_and_closes(self) -> None:
        """stop() hands the deadline to the job once; afterwards flush() is False."""
        job = _Job()
        worker = Worker(job, queue_size=10)
        worker.start()
        done = worker.stop(123.0)
        assert done is not None and done.wait(10)
        assert job.stopped == [123.0]
        assert worker.closed
        assert worker.stop(456.0) is None
        assert not worker.start()
        assert not worker.flush(1)

    def test_flush_from_the_worker_thread_does_not_deadlock(self) -> None:
        """A flush the job itself triggers (say, by logging) returns False at once."""
        results: list[bool] = []

        class _Reentrant(_Job):
            def on_item(self, item: Any) -> None:
                results.append(worker.flush(10))

        worker = Worker(_Reentrant(), queue_size=10)
        worker.start()
        worker.put("x")
        assert worker.flush(10)
        assert results == [False]

    def test_take_pending_returns_items_not_markers(self) -> None:
        """A rescue at exit gets the items the thread never took, without the markers."""
        job = _Job()
        job.gate.clear()
        worker = Worker(job, queue_size=10)
        worker.start()
        worker.put("taken")
        while worker:
            time.sleep(0.001)
        worker.put("left")
        worker.stop(0.0)
        assert worker.take_pending() == ["left"]
        job.gate.set()
