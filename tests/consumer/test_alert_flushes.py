"""Alerts written by a flush, in the same atomic batch as the issues: on the Firestore
store over the emulator and on the in-memory fake (one suite)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from afissue_logging.wire import encode_event
from alerting.rules import AlertConfig, Channel, Rule, Velocity
from consumer.coalesce import PartitionBatch
from consumer.flushes import max_issues_per_batch
from consumer.occurrence import parse_occurrence
from consumer.settings import ConsumerSettings
from consumer.store import FirestoreStore, IssueWriter
from issue_store.client import firestore_client
from tests.consumer.fake_store import FakeStore
from tests.consumer.helpers import make_event

CONFIG = AlertConfig(
    {"ops": Channel("ops", "webhook", url="http://127.0.0.1:9/hook")},
    [Rule("all", frozenset({"new", "regression", "count"}), ("ops",)),
     Rule("burst", frozenset({"velocity"}), ("ops",), velocity=Velocity(100, 5))],
)


@dataclasses.dataclass
class Outbox:
    """A store with alert rules, and a view of its issues and outbox."""

    settings: ConsumerSettings
    store: IssueWriter
    client: Any = None

    def alerts(self) -> dict[str, dict[str, Any]]:
        if isinstance(self.store, FakeStore):
            return dict(self.store.alerts)
        return {s.id: s.to_dict() for s in self.client.collection(self.settings.alerts_collection).stream()}

    def set_status(self, issue_id: str, status: str) -> None:
        if isinstance(self.store, FakeStore):
            self.store.issues[issue_id]["status"] = status
        else:
            self.client.collection(self.settings.firestore_collection).document(issue_id).update(
                {"status": status})

    def delete_issue(self, issue_id: str) -> None:
        if isinstance(self.store, FakeStore):
            del self.store.issues[issue_id]
        else:
            self.client.collection(self.settings.firestore_collection).document(issue_id).delete()

    def flush(self, batch: PartitionBatch) -> list[str]:
        result = self.store.flush([batch])
        return result.alerts if not result.fenced else []


def _batch(settings: ConsumerSettings, base: int | None, counts: dict[str, int],
           partition: int = 0) -> PartitionBatch:
    batch = PartitionBatch(settings.kafka_topic, partition, base)
    offset = base or 0
    for issue, count in counts.items():
        batch.add(parse_occurrence(encode_event(make_event(issue, count=count))), offset)
        offset += 1
    return batch


def _make(kind: str, request: pytest.FixtureRequest, config: AlertConfig) -> Iterator[Outbox]:
    settings = ConsumerSettings(
        kafka_topic="issues", group_id=f"g-{uuid.uuid4().hex[:8]}",
        firestore_project=f"test-{uuid.uuid4().hex[:12]}",
        firestore_emulator_host=(request.getfixturevalue("firestore_emulator").host_port
                                 if kind == "firestore" else None),
        store_timeout=5.0,
    )
    if kind == "fake":
        yield Outbox(settings, FakeStore(settings, alerts=config))
        return
    client = firestore_client(settings.firestore_project, settings.firestore_emulator_host)
    store = FirestoreStore(settings, alerts=config)
    yield Outbox(settings, store, client)
    store.close()
    client.close()


@pytest.fixture(params=["fake", "firestore"])
def outbox(request: pytest.FixtureRequest) -> Iterator[Outbox]:
    """A store deciding alerts under CONFIG, in memory or over the emulator."""
    yield from _make(request.param, request, CONFIG)


@pytest.fixture(params=["fake", "firestore"])
def silent(request: pytest.FixtureRequest) -> Iterator[Outbox]:
    """A store without alert rules."""
    yield from _make(request.param, request, AlertConfig({}, []))


class TestAlertFlushes:
    """IssueWriter.flush() with alert rules."""

    def test_new_issue_alert_is_written_with_the_issue(self, outbox: Outbox) -> None:
        """The flush creating an issue creates its 'new' alert, pending on every channel."""
        assert outbox.flush(_batch(outbox.settings, None, {"a": 1, "b": 12})) == [
            "a:new:0", "b:new:0", "b:count:1"]
        alerts = outbox.alerts()
        assert set(alerts) == {"a:new:0", "b:new:0", "b:count:1"}
        assert alerts["a:new:0"]["state"] == "pending"
        assert alerts["a:new:0"]["channels"]["ops"]["attempts"] == 0
        assert alerts["b:count:1"]["detail"] == {"threshold": 10, "count": 12}

    def test_redelivered_batch_writes_nothing_twice(self, outbox: Outbox) -> None:
        """The same batch flushed again (a redelivery, a zombie) is fenced: no second alert."""
        first = _batch(outbox.settings, None, {"a": 1})
        outbox.flush(first)
        before = outbox.alerts()
        again = _batch(outbox.settings, None, {"a": 1})
        result = outbox.store.flush([again])
        assert result.fenced and result.alerts == []
        assert outbox.alerts() == before

    def test_regression_alert_numbered_from_the_issue(self, outbox: Outbox) -> None:
        """Resolving and seeing an issue again fires regression 1, then 2; an open issue none."""
        outbox.flush(_batch(outbox.settings, None, {"a": 1}))
        outbox.set_status("a", "resolved")
        assert outbox.flush(_batch(outbox.settings, 1, {"a": 1})) == ["a:regression:1"]
        assert outbox.flush(_batch(outbox.settings, 2, {"a": 1})) == []
        outbox.set_status("a", "resolved")
        assert outbox.flush(_batch(outbox.settings, 3, {"a": 1})) == ["a:regression:2"]

    def test_ignored_issue_never_alerts(self, outbox: Outbox) -> None:
        """An ignored issue counts on without alerts, thresholds included."""
        outbox.flush(_batch(outbox.settings, None, {"a": 1}))
        outbox.set_status("a", "ignored")
        assert outbox.flush(_batch(outbox.settings, 1, {"a": 500})) == []
        assert set(outbox.alerts()) == {"a:new:0"}

    def test_an_alert_decided_before_is_not_written_again(self, outbox: Outbox) -> None:
        """An issue deleted and seen again does not fail its flush on the old alert, nor
        resend it."""
        outbox.flush(_batch(outbox.settings, None, {"a": 1}))
        old = outbox.alerts()["a:new:0"]
        outbox.delete_issue("a")
        assert outbox.flush(_batch(outbox.settings, 1, {"a": 1})) == []
        assert outbox.alerts()["a:new:0"] == old

    def test_state_is_read_back_from_the_store(self, outbox: Outbox) -> None:
        """Thresholds and velocity build on what earlier flushes stored: a count crosses
        10 across two flushes once, and a burst spread over flushes fires once."""
        assert outbox.flush(_batch(outbox.settings, None, {"a": 6})) == ["a:new:0"]
        assert outbox.flush(_batch(outbox.settings, 1, {"a": 6})) == ["a:count:1"]
        assert outbox.flush(_batch(outbox.settings, 2, {"a": 60})) == []
        assert outbox.flush(_batch(outbox.settings, 3, {"a": 60})) == [
            "a:count:2", "a:velocity:burst:1"]
        assert outbox.flush(_batch(outbox.settings, 4, {"a": 60})) == []
        assert outbox.alerts()["a:velocity:burst:1"]["detail"]["events"] == 132

    def test_no_rules_no_outbox(self, silent: Outbox) -> None:
        """Without rules a flush writes issues, rings and the checkpoint only."""
        result = silent.store.flush([_batch(silent.settings, None, {"a": 50, "b": 1})])
        assert (result.alerts, result.writes) == ([], 5)
        assert silent.alerts() == {}


class TestMaxIssuesPerBatch:
    """max_issues_per_batch()"""

    def test_alerts_shrink_the_batch_to_fit_firestore(self) -> None:
        """With alert writes an issue costs more, so fewer fit one 500-write batch."""
        settings = ConsumerSettings()
        assert max_issues_per_batch(settings, 2) == 200
        assert max_issues_per_batch(settings, 4) == 124
        assert max_issues_per_batch(settings, 600) == 1
