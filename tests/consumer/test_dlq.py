"""Poison messages go to the dead-letter topic with their reason and never block."""

from __future__ import annotations

from typing import Any

from afissue_logging.wire import encode_event
from consumer.settings import ConsumerSettings
from tests.consumer.helpers import make_event, produce, running, wait_counts
from tests.kafka_helpers import KafkaBed


class TestDeadLetters:
    """Dead-lettering in the running consumer."""

    def test_poison_goes_to_dead_letter_topic_with_reason(
        self, settings: ConsumerSettings, db: Any, kafka: KafkaBed
    ) -> None:
        """Undecodable and invalid events are parked verbatim with reason headers."""
        missing = make_event("issue-a")
        del missing["fingerprint"]
        bad_count = make_event("issue-a", count=0)
        poison = [b"\xffnot json", encode_event(missing), encode_event(bad_count)]
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [make_event("issue-a"), *poison, make_event("issue-a")], key=b"issue-a")
        with running(settings) as worker:
            wait_counts(db, settings, {"issue-a": 2})
            letters = kafka.read_all(settings.dead_letter_topic, 3)
            assert worker.metric("afissue_consumer_dead_letters_total",
                                 reason="undecodable") == 1
        assert sorted(m.value() for m in letters) == sorted(poison)
        reasons = sorted(dict(m.headers())["afissue-dlq-reason"] for m in letters)
        assert reasons == [b"invalid_field", b"missing_field", b"undecodable"]
        headers = dict(letters[0].headers())
        assert headers["afissue-dlq-topic"] == settings.kafka_topic.encode()
        assert b"afissue-dlq-offset" in [k.encode() for k in headers]

    def test_poison_does_not_block_its_partition(
        self, settings: ConsumerSettings, db: Any, kafka: KafkaBed
    ) -> None:
        """Events behind a poison message in the same partition are counted and checkpointed."""
        produce(settings.kafka_bootstrap, settings.kafka_topic, [b"{}"], key=b"issue-a")
        produce(settings.kafka_bootstrap, settings.kafka_topic,
                [make_event("issue-a") for _ in range(5)])
        with running(settings):
            wait_counts(db, settings, {"issue-a": 5})
        assert len(kafka.read_all(settings.dead_letter_topic, 1)) == 1
