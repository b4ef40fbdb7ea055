"""The consumer process's garbage-collector settings."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator

import pytest

from consumer import run_consumer
from consumer.runtime import tune_gc
from consumer.settings import ConsumerSettings


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


class _Node:
    ref: object = None


class TestTuneGc:
    """tune_gc()"""

    def test_young_threshold_set_and_start_up_frozen(self) -> None:
        """The young generation is collected every *threshold* allocations; what exists is frozen."""
        _, older, oldest = gc.get_threshold()
        tune_gc(12345)
        assert gc.get_threshold() == (12345, older, oldest)
        assert gc.get_freeze_count() > 0

    def test_zero_leaves_the_collector_alone(self) -> None:
        """A threshold of 0 changes nothing."""
        before, frozen = gc.get_threshold(), gc.get_freeze_count()
        tune_gc(0)
        assert (gc.get_threshold(), gc.get_freeze_count()) == (before, frozen)

    def test_cycles_made_afterwards_are_still_collected(self) -> None:
        """Garbage cycles made after tuning are still found by the collector."""
        tune_gc(10000)
        node = _Node()
        node.ref = node
        gone = weakref.ref(node)
        del node
        gc.collect()
        assert gone() is None


class TestRunConsumer:
    """run_consumer(own_process=...)"""

    @pytest.mark.parametrize("own_process", [True, False])
    def test_tunes_only_a_process_of_its_own(
        self, settings: ConsumerSettings, monkeypatch: pytest.MonkeyPatch, own_process: bool
    ) -> None:
        """The collector is set when the process is the consumer, never for an embedding one."""
        calls: list[int] = []
        monkeypatch.setattr("consumer.runtime.tune_gc", calls.append)
        stop = threading.Event()
        stop.set()
        run_consumer(settings, stop, own_process=own_process)
        assert calls == ([settings.gc_threshold] if own_process else [])
