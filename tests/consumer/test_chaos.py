"""Chaos: subprocess consumers killed, added and removed, the broker down and up, retries."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from consumer.settings import ConsumerSettings
from tests.consumer.helpers import (
    ConsumerProcess,
    Stream,
    assert_trends_match_counts,
    processes,
    wait_counts,
)
from tests.kafka_helpers import KafkaBed


@pytest.mark.slow
class TestChaos:
    """Everything at once; counts must still be exact."""

    def test_exact_counts_through_chaos(
        self, settings: ConsumerSettings, db: Any, kafka: KafkaBed, tmp_path: Path
    ) -> None:
        """Thousands of occurrences over dozens of issues, 10% re-sent, survive kills,
        a broker outage and consumers joining and leaving, with exact per-issue counts
        and trend buckets summing to them."""
        mock = kafka.require_mock()
        settings = dataclasses.replace(settings, flush_interval=0.3)
        stream = Stream(settings, issues=36, seed=11, pause=0.3).start()
        try:
            with processes(tmp_path) as started:
                started.extend([ConsumerProcess(settings, tmp_path) for _ in range(2)])
                started[0].wait_assigned()
                stream.stop.wait(3)
                started[0].kill9()
                started.append(ConsumerProcess(settings, tmp_path))
                stream.stop.wait(2)
                mock.broker_down(1)
                stream.stop.wait(2)
                mock.broker_up(1)
                stream.stop.wait(3)
                started[1].kill9()
                started.append(ConsumerProcess(settings, tmp_path))
                stream.stop.wait(3)
                assert started[2].terminate() == 0  # a consumer removed gracefully
                stream.stop.wait(2)
                started[3].kill9()
                started.append(ConsumerProcess(settings, tmp_path))
                expected = stream.finish()
                assert sum(expected.values()) > 2000
                wait_counts(db, settings, expected, timeout=120)
                assert assert_trends_match_counts(db.collection(settings.firestore_collection)) == len(expected)
        finally:
            stream.finish()
