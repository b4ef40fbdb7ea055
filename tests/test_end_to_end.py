"""The whole path of SPEC section 1 on real components: a log call or an HTTP POST
becomes a deduplicated issue document in the Firestore emulator, through the real
ingest server, Kafka (mock cluster or a real broker) and a consumer process."""

from __future__ import annotations

import json
import logging
from typing import Any

from afissue.services import RedisServer
from afissue_logging import IssueHandler, IssueTrackerClient
from issue_store.client import firestore_client
from tests.kafka_helpers import KafkaBed
from tests.pipeline import Pipeline, wait_for

SEED_BODY = {
    "title": "Order book snapshot failed",
    "description": "KeyError: 'bids' in snapshot()",
    "type": "bug",
    "priority": "high",
    "reporter_id": "trader-7",
}


def _issue(pipeline: Pipeline, issue_id: str, min_count: int = 1) -> dict[str, Any] | None:
    db = firestore_client(pipeline.project, pipeline.env["FIRESTORE_EMULATOR_HOST"])
    snapshot = db.collection("issues").document(issue_id).get()
    doc = snapshot.to_dict() if snapshot.exists else None
    return doc if doc and doc.get("count", 0) >= min_count else None


def _all_issues(pipeline: Pipeline) -> list[dict[str, Any]]:
    db = firestore_client(pipeline.project, pipeline.env["FIRESTORE_EMULATOR_HOST"])
    return [s.to_dict() | {"id": s.id} for s in db.collection("issues").stream()]


class TestSeedBody:
    def test_seed_body_becomes_a_firestore_issue_and_a_recent_issue(
        self, pipeline: Pipeline
    ) -> None:
        """The seed's curl body is accepted, stored in Firestore and listed as recent."""
        status, body = pipeline.post("/api/v1/issues", SEED_BODY)
        assert status == 202, body
        assert body["status"] == "accepted"
        doc = wait_for(lambda: _issue(pipeline, body["issue_id"]))
        assert doc is not None, pipeline.logs()
        assert doc["title"] == SEED_BODY["title"]
        assert doc["count"] == 1
        assert doc["status"] == "open"
        status, recent = pipeline.get("/issues/recent", {"Accept": "application/json"})
        assert status == 200
        assert body["issue_id"] in [item["issue_id"] for item in recent["issues"]]

    def test_the_message_on_the_topic_is_plain_json(
        self, pipeline: Pipeline, kafka: KafkaBed, kafka_topic: str
    ) -> None:
        """A generic Kafka consumer reads the accepted event as UTF-8 JSON keyed by issue id."""
        status, body = pipeline.post("/api/v1/issues", SEED_BODY)
        assert status == 202
        [message] = kafka.read_all(kafka_topic, expected=1)
        event = json.loads(message.value().decode("utf-8"))
        assert message.key().decode() == body["issue_id"]
        assert event["event_id"] == body["id"]
        assert event["title"] == SEED_BODY["title"]


def _fail_deep(depth: int) -> None:
    if depth == 0:
        raise ValueError("quote feed stalled")
    _fail_deep(depth - 1)


class TestIssueHandler:
    def test_fifty_identical_exceptions_become_one_issue_counted_fifty(
        self, pipeline: Pipeline
    ) -> None:
        """50 identical logger.exception() calls end as one document with count 50."""
        handler = IssueHandler(url=pipeline.url, service="pricing", environment="test")
        logger = logging.getLogger("tests.e2e.pricing")
        logger.addHandler(handler)
        try:
            for _ in range(50):
                try:
                    _fail_deep(3)
                except ValueError:
                    logger.exception("quote feed stalled for %s", "EURUSD")
            handler.flush(10)
        finally:
            logger.removeHandler(handler)
            handler.close()
        issues = wait_for(
            lambda: [i for i in _all_issues(pipeline) if i.get("count") == 50], timeout=60
        )
        assert len(issues) == 1, (_all_issues(pipeline), pipeline.logs())
        assert issues[0]["service"] == "pricing"
        assert len(_all_issues(pipeline)) == 1


class TestLogIssue:
    def test_log_issue_works_end_to_end(self, pipeline: Pipeline) -> None:
        """The manual API's event reaches Firestore under its title, type and priority."""
        client = IssueTrackerClient(url=pipeline.url, service="reconciler")
        event_id = client.log_issue(
            "Nightly reconciliation mismatch", "3 fills missing", type="bug", priority="high"
        )
        assert len(event_id) == 32
        client.flush(10)
        issues = wait_for(lambda: _all_issues(pipeline), timeout=60)
        assert [i["title"] for i in issues] == ["Nightly reconciliation mismatch"], pipeline.logs()
        assert issues[0]["priority"] == "high"
        assert issues[0]["count"] == 1
        assert issues[0]["latest"]["event_id"] == event_id


class TestHealth:
    def test_health_names_each_dependency_and_fails_without_redis(
        self, pipeline: Pipeline, redis_server: RedisServer
    ) -> None:
        """/api/health is 200 naming Kafka and Redis, and non-200 while Redis is down."""
        status, body = pipeline.get("/api/health")
        assert status == 200, body
        assert {"kafka", "redis"} <= set(body["dependencies"])
        redis_server.stop()
        try:
            status, body = pipeline.get("/api/health")
            assert status != 200
            assert body["dependencies"]["redis"]["ok"] is False
        finally:
            redis_server.start()
