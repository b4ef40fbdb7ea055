"""Consumers joining and leaving the group while events stream in."""

from __future__ import annotations

import dataclasses
import random
import threading
from typing import Any

from consumer.settings import ConsumerSettings
from tests.consumer.helpers import WorkerThread, make_event, produce, wait_counts, wait_for


class _Stream:
    """Produces batches of events (10% of them re-sent) until stopped; remembers the counts."""

    def __init__(self, settings: ConsumerSettings, issues: int, seed: int) -> None:
        self._settings = settings
        self._rng = random.Random(seed)
        self._issues = issues
        self.expected: dict[str, int] = {}
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            events = [make_event(f"issue-{self._rng.randrange(self._issues)}",
                                 count=self._rng.randint(1, 3)) for _ in range(100)]
            for event in events:
                issue = event["issue_id"]
                self.expected[issue] = self.expected.get(issue, 0) + event["count"]
            produce(self._settings.kafka_bootstrap, self._settings.kafka_topic,
                    events + self._rng.sample(events, 10))
            self.stop.wait(0.5)

    def start(self) -> _Stream:
        self._thread.start()
        return self

    def finish(self) -> dict[str, int]:
        self.stop.set()
        self._thread.join(60)
        return self.expected


class TestRebalance:
    """Cooperative rebalances among up to three consumers."""

    def test_counts_exact_while_consumers_join_and_leave(
        self, settings: ConsumerSettings, db: Any
    ) -> None:
        """Partitions handed between three consumers keep every count exact."""
        settings = dataclasses.replace(settings, flush_interval=0.3)
        stream = _Stream(settings, issues=9, seed=7).start()
        workers = [WorkerThread(settings).start()]
        try:
            wait_for(lambda: workers[0].metric("afissue_consumer_flushes_total") >= 1)
            for _joining in range(2):
                workers.append(WorkerThread(settings).start())
                wait_for(lambda: workers[-1].assigned, 60, "the new consumer's partitions")
            for leaving in range(2):
                workers[leaving].stop()
                remaining = workers[leaving + 1:]
                wait_for(lambda r=remaining: sum(len(w.assigned) for w in r) == 3,  # type: ignore[misc]
                         60, "partitions moving over")
            expected = stream.finish()
            wait_counts(db, settings, expected)
            assert workers[2].assigned == [0, 1, 2]
        finally:
            stream.finish()
            for worker in workers:
                worker.stop_event.set()
            workers[-1].stop()
