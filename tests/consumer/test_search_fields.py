"""Search tokens planned with each issue write, and written by the real consumer flush."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from afissue_logging.wire import encode_event
from consumer.coalesce import PartitionBatch
from consumer.occurrence import parse_occurrence
from consumer.search_fields import planned_tokens
from consumer.settings import ConsumerSettings
from consumer.store import FirestoreStore
from issue_store.query import IssueQuery
from issue_store.reader import IssueReader
from tests.consumer.helpers import BASE_TIME, make_event

EVENT = {"title": "KeyError: 'order_id'", "message": "lookup failed",
         "exception": {"type": "KeyError", "value": "'order_id'"}}


class TestPlannedTokens:
    def test_new_issue_gets_words_and_facets(self) -> None:
        """Words of title, exception, culprit and message, then level and release facets."""
        fields = {"level": "error", "releases": ["1.0", "1.1"], "latest": {}}
        tokens = planned_tokens(None, fields, EVENT, "app.orders in load")["search_tokens"]
        assert tokens[:3] == ["keyerror", "key", "error"]
        assert {"order_id", "lookup", "failed", "orders", "load"} <= set(tokens)
        assert tokens[-3:] == ["level:error", "release:1.0", "release:1.1"]

    def test_unchanged_tokens_are_not_written(self) -> None:
        """A write that changes none of the searched values leaves the field alone."""
        fields = {"level": "error", "releases": ["1.0"], "latest": {}}
        stored = planned_tokens(None, fields, EVENT, "c")
        assert planned_tokens({**fields, **stored}, fields, EVENT, "c") == {}

    def test_an_older_occurrence_keeps_the_words_and_updates_facets(self) -> None:
        """Without a newer latest occurrence the stored words stay; a new release is added."""
        stored = {"search_tokens": ["keyerror", "level:error"], "level": "error", "releases": []}
        planned = planned_tokens(stored, {"releases": ["2.0"]}, {"title": "other"}, "c")
        assert planned == {"search_tokens": ["keyerror", "level:error", "release:2.0"]}

    def test_documents_without_tokens_get_them(self) -> None:
        """A document written before the field gets it with its next write."""
        planned = planned_tokens({"level": "error"}, {"count": 1}, EVENT, "c")
        assert "keyerror" in planned["search_tokens"]


@pytest.fixture
def store(settings: ConsumerSettings) -> Iterator[FirestoreStore]:
    adapter = FirestoreStore(settings)
    yield adapter
    adapter.close()


def _batch(settings: ConsumerSettings, base: int | None, events: list[dict[str, Any]],
           start: int = 0) -> PartitionBatch:
    batch = PartitionBatch(settings.kafka_topic, 0, base)
    for offset, event in enumerate(events, start):
        batch.add(parse_occurrence(encode_event(event)), offset)
    return batch


class TestThroughTheFlush:
    def test_flushed_issues_are_found_by_the_reader(
        self, settings: ConsumerSettings, store: FirestoreStore, db: Any
    ) -> None:
        """Issues written by the consumer's flush are found by words and facets."""
        store.flush([_batch(settings, None, [
            make_event("a", title="KeyError: 'order_id'", release="1.0.0"),
            make_event("b", title="TimeoutError: gateway", level="critical", release="2.0"),
        ])])
        reader = IssueReader(db, settings.firestore_collection)
        found = [r["issue_id"] for r in reader.find(IssueQuery.build(search="order")).issues]
        assert found == ["a"]
        found = [r["issue_id"] for r in reader.find(IssueQuery.build(search="level:critical")).issues]
        assert found == ["b"]

    def test_a_later_release_is_searchable(
        self, settings: ConsumerSettings, store: FirestoreStore, db: Any
    ) -> None:
        """The next flush adds a new release's facet without a second write per issue."""
        store.flush([_batch(settings, None, [make_event("a", release="1.0.0")])])
        result = store.flush([_batch(settings, 1, [make_event("a", release="1.1.0", at=BASE_TIME + 5)],
                                     start=1)])
        assert result.issue_writes == 1
        tokens = db.collection(settings.firestore_collection).document("a").get().get("search_tokens")
        assert {"release:1.0.0", "release:1.1.0"} <= set(tokens)
        reader = IssueReader(db, settings.firestore_collection)
        assert [r["issue_id"] for r in reader.find(IssueQuery.build(search="release:1.0.0")).issues] == ["a"]

