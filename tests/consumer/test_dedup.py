"""Event-id markers on the real redis-server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from afissue.services import RedisServer
from consumer.dedup import Dedup, Verdict
from consumer.errors import DedupUnavailable


@pytest.fixture
def dedup(redis_url: str) -> Iterator[Dedup]:
    markers = Dedup(redis_url, ttl_seconds=60, timeout=2.0)
    yield markers
    markers.close()


class TestDedup:
    """Dedup.classify()"""

    def test_first_sight_is_new(self, dedup: Dedup) -> None:
        """An event id never seen is new."""
        assert dedup.classify([("e1", "t:0:5")]) == [Verdict.NEW]

    def test_same_position_is_a_redelivery(self, dedup: Dedup) -> None:
        """The same record read again (same position) is a redelivery and still counts."""
        dedup.classify([("e1", "t:0:5")])
        verdicts = dedup.classify([("e1", "t:0:5")])
        assert verdicts == [Verdict.REDELIVERY]
        assert verdicts[0].counts

    def test_a_full_poll_batch_in_one_call(self, dedup: Dedup) -> None:
        """500 claims in one round trip, in order: repeats within it are duplicates, and
        the same batch read again is all redeliveries except those repeats."""
        topic = "alphafusion.issues-prod_2"  # letters of every kind the positions carry
        ids = [f"evt-{i % 450}" for i in range(500)]  # the last 50 repeat earlier ids
        claims = [(event_id, f"{topic}:{i % 6}:{i}") for i, event_id in enumerate(ids)]
        expected = [Verdict.NEW] * 450 + [Verdict.DUPLICATE] * 50
        assert dedup.classify(claims) == expected
        assert dedup.classify(claims) == [Verdict.REDELIVERY] * 450 + [Verdict.DUPLICATE] * 50

    def test_other_position_is_a_duplicate(self, dedup: Dedup) -> None:
        """The same event id in another record (client retry, log duplicate) is a duplicate."""
        dedup.classify([("e1", "t:0:5")])
        verdicts = dedup.classify([("e1", "t:0:9")])
        assert verdicts == [Verdict.DUPLICATE]
        assert not verdicts[0].counts

    def test_event_id_with_a_newline_is_refused(self, dedup: Dedup) -> None:
        """An id that would split in the packed claim is refused before Redis is asked."""
        with pytest.raises(ValueError, match="newline"):
            dedup.classify([("e1", "t:0:1"), ("e\n2", "t:0:2")])
        assert dedup.classify([("e1", "t:0:1")]) == [Verdict.NEW]

    def test_copies_in_one_batch(self, dedup: Dedup) -> None:
        """Within one batch the second copy is already a duplicate of the first."""
        assert dedup.classify([("e1", "t:0:1"), ("e2", "t:0:2"), ("e1", "t:0:3")]) == [
            Verdict.NEW, Verdict.NEW, Verdict.DUPLICATE]

    def test_marker_expires(self, redis_url: str) -> None:
        """Markers carry the configured TTL."""
        import redis

        Dedup(redis_url, ttl_seconds=123).classify([("e1", "t:0:1")])
        ttl = redis.Redis.from_url(redis_url).ttl("afissue:evt:e1")
        assert 0 < ttl <= 123

    def test_redis_down_is_recoverable(self, redis_server: RedisServer, redis_url: str) -> None:
        """With Redis stopped, classify raises DedupUnavailable; after restart it works again."""
        markers = Dedup(redis_url, ttl_seconds=60, timeout=1.0)
        redis_server.stop()
        try:
            with pytest.raises(DedupUnavailable):
                markers.classify([("e1", "t:0:1")])
        finally:
            redis_server.start()
        assert markers.classify([("e1", "t:0:1")]) == [Verdict.NEW]
