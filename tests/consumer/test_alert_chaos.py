"""Alerts through chaos: subprocess consumers ``kill -9``-ed, added and removed (rebalances)
while events stream in and issues are resolved; every alert exactly once."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from consumer.settings import ConsumerSettings
from tests.consumer.helpers import ConsumerProcess, Stream, processes, wait_counts, wait_for

RULES = """
[channels.ops]
type = "webhook"
url = "http://127.0.0.1:9/hook"

[[rules]]
name = "everything"
triggers = ["new", "regression", "count"]
channels = ["ops"]
"""


def _alerts(db: Any, settings: ConsumerSettings) -> dict[str, dict[str, Any]]:
    return {s.id: s.to_dict() for s in db.collection(settings.alerts_collection).stream()}


@pytest.mark.slow
class TestAlertChaos:
    """Alert decisions while consumers die and partitions move."""

    def test_one_alert_per_new_issue_and_regression_through_kills_and_rebalances(
        self, settings: ConsumerSettings, db: Any, tmp_path: Path
    ) -> None:
        """Each issue gets one 'new' alert, each resolved issue seen again one regression
        alert, and each count threshold at most one alert, the highest reached always,
        while consumers are killed with SIGKILL and partitions rebalance mid-stream."""
        rules = tmp_path / "alerts.toml"
        rules.write_text(RULES)
        settings = dataclasses.replace(settings, flush_interval=0.3, alerts_file=str(rules))
        issues = db.collection(settings.firestore_collection)
        stream = Stream(settings, issues=12, seed=5, pause=0.3).start()
        resolved = [f"issue-{i}" for i in range(0, 12, 2)]
        try:
            with processes(tmp_path) as started:
                started.extend([ConsumerProcess(settings, tmp_path) for _ in range(2)])
                started[0].wait_assigned()
                wait_for(lambda: all(issues.document(i).get().exists for i in resolved), 60,
                         "the issues to resolve")
                started[0].kill9()
                for issue_id in resolved:  # as the UI does, racing the consumers' flushes
                    issues.document(issue_id).update({"status": "resolved"})
                started.append(ConsumerProcess(settings, tmp_path))
                stream.stop.wait(3)
                started[1].kill9()
                started.append(ConsumerProcess(settings, tmp_path))
                stream.stop.wait(3)
                assert started[2].terminate() == 0  # a graceful leave: another rebalance
                stream.stop.wait(2)
                expected = stream.finish()
                counts = wait_counts(db, settings, expected, timeout=120)
        finally:
            stream.finish()
        alerts = _alerts(db, settings)
        by_trigger: dict[str, set[str]] = {}
        for alert_id, alert in alerts.items():
            assert alert["alert_id"] == alert_id and alert["state"] == "pending"
            by_trigger.setdefault(alert["trigger"], set()).add(alert_id)
        assert by_trigger["new"] == {f"{issue}:new:0" for issue in expected}
        reopened = [i for i in resolved if issues.document(i).get().get("status") == "open"]
        assert reopened == resolved, "every resolved issue saw new occurrences"
        assert by_trigger["regression"] == {f"{issue}:regression:1" for issue in resolved}
        for issue, count in counts.items():
            numbers = sorted(a["n"] for a in alerts.values()
                             if a["issue_id"] == issue and a["trigger"] == "count")
            assert numbers and numbers[-1] == len(str(count)) - 1, (issue, count, numbers)
