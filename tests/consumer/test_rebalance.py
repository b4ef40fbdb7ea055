"""Consumers joining and leaving the group while events stream in."""

from __future__ import annotations

import dataclasses
from typing import Any

from consumer.settings import ConsumerSettings
from tests.consumer.helpers import (
    Stream,
    WorkerThread,
    assert_trends_match_counts,
    wait_counts,
    wait_for,
)


class TestRebalance:
    """Cooperative rebalances among up to three consumers."""

    def test_counts_exact_while_consumers_join_and_leave(
        self, settings: ConsumerSettings, db: Any
    ) -> None:
        """Partitions handed between three consumers keep every count exact, and the
        trend buckets sum to it."""
        settings = dataclasses.replace(settings, flush_interval=0.3)
        stream = Stream(settings, issues=9, seed=7).start()
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
            assert assert_trends_match_counts(db.collection(settings.firestore_collection)) == len(expected)
            assert workers[2].assigned == [0, 1, 2]
        finally:
            stream.finish()
            for worker in workers:
                worker.stop_event.set()
            workers[-1].stop()
