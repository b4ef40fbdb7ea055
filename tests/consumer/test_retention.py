"""Occurrence retention: ring slots expire, the first and regression occurrences are kept."""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Iterator
from typing import Any

import pytest

from afissue_logging.wire import encode_event
from consumer import retention
from consumer.coalesce import PartitionBatch
from consumer.occurrence import parse_occurrence
from consumer.settings import ConsumerSettings
from consumer.store import FirestoreStore
from issue_store.reader import IssueReader
from tests.consumer.helpers import BASE_TIME, make_event


class TestRetention:
    def test_regression_slots_are_numbered_from_the_stored_count(self) -> None:
        """The n-th regression is kept as ``regression-00n``; garbage counts as none."""
        assert retention.regression_slot({}) == "regression-001"
        assert retention.regression_slot({"regressions": 2}) == "regression-003"
        assert retention.regression_slot({"regressions": True}) == "regression-001"

    def test_no_ttl_no_expiry(self) -> None:
        """With the TTL off the ring documents carry no ``expire_at``."""
        now = _dt.datetime(2026, 1, 1, tzinfo=_dt.UTC)
        assert retention.expiry(now, None) == {}
        assert retention.expiry(now, _dt.timedelta(days=30)) == {"expire_at": now + _dt.timedelta(days=30)}


@pytest.fixture
def store(settings: ConsumerSettings) -> Iterator[FirestoreStore]:
    adapter = FirestoreStore(settings)
    yield adapter
    adapter.close()


def _flush(store: FirestoreStore, settings: ConsumerSettings, base: int | None, offset: int,
           at: float) -> None:
    batch = PartitionBatch(settings.kafka_topic, 0, base)
    batch.add(parse_occurrence(encode_event(make_event("a", at=at))), offset)
    store.flush([batch])


class TestThroughTheFlush:
    def test_first_ring_and_regression_occurrences(
        self, settings: ConsumerSettings, store: FirestoreStore, db: Any
    ) -> None:
        """The consumer's flush keeps the first and the regression occurrence without
        expiry and gives ring occurrences ``expire_at`` = write time + 30 days."""
        _flush(store, settings, None, 0, BASE_TIME)
        _flush(store, settings, 1, 1, BASE_TIME + 5)
        issue = db.collection(settings.firestore_collection).document("a")
        reader = IssueReader(db, settings.firestore_collection)
        reader.set_status("a", "resolved", "test", "fixed")
        before = _dt.datetime.now(_dt.UTC)
        _flush(store, settings, 2, 2, BASE_TIME + 10)
        _flush(store, settings, 3, 3, BASE_TIME + 15)
        docs = {d.id: d.to_dict() for d in issue.collection("occurrences").stream()}
        assert sorted(docs) == ["01", "03", "first", "regression-001"]
        for kept in ("first", "regression-001"):
            assert "expire_at" not in docs[kept]
        for ring in ("01", "03"):
            expires = docs[ring]["expire_at"] - _dt.timedelta(days=settings.occurrence_ttl_days)
            assert abs((expires - before).total_seconds()) < 120
        assert len(reader.occurrences("a")) == 4

    def test_ttl_off_writes_no_expiry(self, settings: ConsumerSettings, db: Any) -> None:
        """``AFISSUE_CONSUMER_OCCURRENCE_TTL_DAYS=0`` keeps ring occurrences for ever."""
        store = FirestoreStore(dataclasses.replace(settings, occurrence_ttl_days=0))
        try:
            _flush(store, settings, None, 0, BASE_TIME)
            _flush(store, settings, 1, 1, BASE_TIME + 5)
        finally:
            store.close()
        ring = db.collection(settings.firestore_collection).document("a").collection("occurrences")
        assert all("expire_at" not in d.to_dict() for d in ring.stream())
