"""The consumer process: its garbage-collector settings, and the alert rules it refuses at start."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

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


def _afissue_consumer(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``afissue consumer`` (the real entry point) in a subprocess with *env* added."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AFISSUE_")}
    return subprocess.run(
        [sys.executable, "-m", "afissue", "consumer"], env=environment | env,
        capture_output=True, text=True, timeout=60, check=False,
    )


class TestAlertRulesAtStart:
    """``afissue consumer`` with alert rules."""

    @pytest.mark.parametrize(
        ("rules", "expected"),
        [
            ('[[rules]]\nname = "prod"\ntriggers = ["new"]\nchannels = ["ops"]\n',
             "rule #1 'prod': field 'channels': no channel named 'ops' is defined"),
            ('[channels.ops]\ntype = "webhook"\nurl = "http://h/x"\nsecret = "nope"\n',
             "channel 'ops': field 'secret': expected 'whsec_'"),
            ("[[rules]\n", "invalid TOML"),
        ],
    )
    def test_bad_rules_file_is_one_line_and_exit_2(self, tmp_path: Path, rules: str, expected: str) -> None:
        """An invalid rules file stops the consumer before it connects, with one line
        naming the file, the place and what was expected."""
        path = tmp_path / "alerts.toml"
        path.write_text(rules)
        result = _afissue_consumer({"AFISSUE_ALERTS_FILE": str(path)})
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"consumer: alerts file {path}: "), result.stderr
        assert expected in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1

    def test_bad_shortcut_secret_and_missing_file(self, tmp_path: Path) -> None:
        """A malformed shortcut secret and a missing rules file are refused the same way."""
        result = _afissue_consumer({"AFISSUE_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/h",
                                    "AFISSUE_ALERT_WEBHOOK_SECRET": "plain"})
        assert result.returncode == 2
        assert result.stderr.strip() == (
            "consumer: AFISSUE_ALERT_WEBHOOK_SECRET: expected 'whsec_' followed by the base64 "
            "of 16 to 64 bytes")
        missing = _afissue_consumer({"AFISSUE_ALERTS_FILE": str(tmp_path / "none.yaml")})
        assert missing.returncode == 2 and "cannot be read" in missing.stderr
