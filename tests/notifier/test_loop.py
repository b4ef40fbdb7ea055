"""The delivery loop on the real emulator, Redis and HTTP receivers on 127.0.0.1."""

from __future__ import annotations

import datetime
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerting.outbox import new_outbox_document
from alerting.rules import AlertConfig, Channel, RateLimit
from notifier.channels.registry import build_senders
from notifier.delivery import RetryPolicy
from notifier.loop import DeliveryLoop
from notifier.ratelimit import RateLimiter
from tests.notifier.conftest import SECRET
from tests.notifier.receivers import HttpReceiver

FAST = RetryPolicy(max_attempts=50, initial=0.05, maximum=0.2)


class Clock:
    """Wall-clock time shifted by ``offset`` seconds (moves rate-limit windows and leases)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def epoch(self) -> float:
        return time.time() + self.offset

    def now(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.epoch(), datetime.UTC)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis[bytes]]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def make_loop(
    db: Any, redis_client: redis.Redis[bytes], receiver: HttpReceiver
) -> Callable[..., DeliveryLoop]:
    """A DeliveryLoop to *receiver* as channel ``ops`` (webhook, signed)."""

    def make(
        owner: str = "replica-1",
        policy: RetryPolicy = FAST,
        rate_limit: RateLimit | None = None,
        clock: Clock | None = None,
        lease_seconds: float = 120.0,
    ) -> DeliveryLoop:
        clock = clock or Clock()
        channel = Channel("ops", "webhook", url=receiver.url, secret=SECRET,
                          rate_limit=rate_limit or RateLimit(count=1000, per_seconds=60))
        config = AlertConfig({"ops": channel}, [])
        return DeliveryLoop(
            db, "alerts", config, build_senders(config.channels, 2.0),
            RateLimiter(redis_client, clock=clock.epoch),
            owner=owner, base_url="http://ui.example", policy=policy,
            lease_seconds=lease_seconds, clock=clock.now,
        )

    return make


def _documents(db: Any) -> dict[str, dict[str, Any]]:
    return {s.id: s.to_dict() for s in db.collection("alerts").stream()}


def _until_done(loop: DeliveryLoop, db: Any, timeout: float = 60) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        loop.run_once()
        documents = _documents(db)
        if all(d["state"] == "done" for d in documents.values()):
            return documents
        time.sleep(0.05)
    raise AssertionError(f"not done: {_documents(db)}")


class TestDelivery:
    def test_delivers_and_records_each_pending_alert(
        self, db: Any, write_alert: Callable[..., str], make_loop: Callable[..., DeliveryLoop],
        receiver: HttpReceiver,
    ) -> None:
        """One pass sends every due alert once, then marks it delivered and done, lease freed."""
        ids = [write_alert(issue=f"i{k}") for k in range(3)]
        assert make_loop().run_once() == 3
        assert sorted(receiver.ids()) == sorted(f"{i}/ops" for i in ids)
        for document in _documents(db).values():
            assert document["state"] == "done" and document["lease"] is None
            assert document["channels"]["ops"]["state"] == "delivered"
            assert document["channels"]["ops"]["attempts"] == 1
        assert make_loop().run_once() == 0

    def test_receiver_down_for_a_while_loses_nothing(
        self, db: Any, write_alert: Callable[..., str], make_loop: Callable[..., DeliveryLoop],
        receiver: HttpReceiver,
    ) -> None:
        """Alerts written while the receiver is down are retried with backoff and all
        delivered once it is back, each exactly once."""
        receiver.stop()
        ids = [write_alert(issue=f"i{k}") for k in range(5)]
        loop = make_loop()
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            loop.run_once()
            time.sleep(0.05)
        pending = _documents(db)
        assert all(d["state"] == "pending" for d in pending.values())
        assert all(d["channels"]["ops"]["attempts"] >= 2 for d in pending.values())
        assert all(str(receiver.port) in d["channels"]["ops"]["last_error"] for d in pending.values())
        receiver.start()
        _until_done(loop, db)
        assert sorted(receiver.ids()) == sorted(f"{i}/ops" for i in ids)

    def test_dead_after_max_attempts(
        self, db: Any, write_alert: Callable[..., str], make_loop: Callable[..., DeliveryLoop],
        receiver: HttpReceiver,
    ) -> None:
        """A receiver that always answers 500 gets max_attempts tries, then the alert is dead."""
        receiver.status = 500
        write_alert()
        loop = make_loop(policy=RetryPolicy(3, 0.01, 0.05))
        documents = _until_done(loop, db)
        [document] = documents.values()
        assert document["channels"]["ops"]["state"] == "dead"
        assert document["channels"]["ops"]["attempts"] == 3
        assert "HTTP 500" in document["channels"]["ops"]["last_error"]
        assert receiver.hits == 3
        assert loop.metrics.value("afissue_notifier_failed_attempts_total", channel="ops") == 3
        assert loop.metrics.value("afissue_notifier_dead_total", channel="ops") == 1

    def test_an_unconfigured_channel_ends_dead_not_stuck(
        self, db: Any, make_loop: Callable[..., DeliveryLoop]
    ) -> None:
        """An alert for a channel the notifier does not know fails, and dies, with a reason."""
        document = new_outbox_document(
            issue_id="i1", trigger="new", n=0, rule_names=["r"], channels=["gone"],
            created_at=datetime.datetime.now(datetime.UTC), issue={"title": "t"},
        )
        db.collection("alerts").document(document["alert_id"]).set(document)
        [stored] = _until_done(make_loop(policy=RetryPolicy(2, 0.01, 0.02)), db).values()
        assert stored["channels"]["gone"]["state"] == "dead"
        assert "'gone' is not configured" in stored["channels"]["gone"]["last_error"]


class TestRateLimitDigest:
    def test_over_the_limit_becomes_one_digest(
        self, db: Any, write_alert: Callable[..., str], make_loop: Callable[..., DeliveryLoop],
        receiver: HttpReceiver,
    ) -> None:
        """10 alerts against a limit of 3: 2 sent alone, 1 digest of the other 8; each of
        the 8 is recorded delivered via the digest; nothing is lost."""
        base = datetime.datetime.now(datetime.UTC)
        ids = [write_alert(issue=f"i{k}", created_at=base + datetime.timedelta(milliseconds=k))
               for k in range(10)]
        loop = make_loop(rate_limit=RateLimit(count=3, per_seconds=3600))
        loop.run_once()
        assert loop.metrics.value("afissue_notifier_digests_total", channel="ops") == 1
        assert loop.metrics.value("afissue_notifier_delivered_total", channel="ops") == 10
        requests = receiver.received()
        assert len(requests) == 3
        assert [r.headers["webhook-id"] for r in requests[:2]] == [f"{i}/ops" for i in ids[:2]]
        digest = requests[2].json()
        assert digest["type"] == "afissue.alert.digest"
        assert digest["data"]["count"] == 8
        assert [a["id"] for a in digest["data"]["alerts"]] == [f"{i}/ops" for i in ids[2:]]
        documents = _documents(db)
        assert all(d["state"] == "done" for d in documents.values())
        via = {documents[i]["channels"]["ops"].get("via") for i in ids[2:]}
        assert via == {requests[2].headers["webhook-id"]}

    def test_no_tokens_left_waits_for_the_next_window(
        self, db: Any, write_alert: Callable[..., str], make_loop: Callable[..., DeliveryLoop],
        receiver: HttpReceiver,
    ) -> None:
        """With the window's budget spent, alerts wait (not an attempt) and go out as one
        digest when the next window opens."""
        clock = Clock()
        loop = make_loop(rate_limit=RateLimit(count=1, per_seconds=3600), clock=clock)
        write_alert(issue="first")
        loop.run_once()
        held = [write_alert(issue=f"held{k}") for k in range(3)]
        loop.run_once()
        assert len(receiver.received()) == 1
        documents = _documents(db)
        for alert in held:
            entry = documents[alert]["channels"]["ops"]
            assert entry["state"] == "pending" and entry["attempts"] == 0 and entry["held"]
        clock.offset += 3600
        loop.run_once()
        requests = receiver.received()
        assert len(requests) == 2
        assert sorted(a["alert_id"] for a in requests[1].json()["data"]["alerts"]) == sorted(held)
        assert all(d["state"] == "done" for d in _documents(db).values())


class TestReplicas:
    def test_two_replicas_never_both_send_an_alert(
        self, db: Any, write_alert: Callable[..., str], make_loop: Callable[..., DeliveryLoop],
        receiver: HttpReceiver,
    ) -> None:
        """Two replicas running concurrently over 30 alerts send each exactly once."""
        ids = [write_alert(issue=f"i{k}") for k in range(30)]
        loops = [make_loop(owner="a"), make_loop(owner="b")]
        for loop in loops:
            loop.batch = 4
        stop = threading.Event()
        threads = [threading.Thread(target=loop.run, args=(stop, 0.02)) for loop in loops]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(receiver.ids()) < 30:
            time.sleep(0.1)
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join(30)
        counts = Counter(receiver.ids())
        assert sorted(counts) == sorted(f"{i}/ops" for i in ids)
        assert max(counts.values()) == 1

    def test_a_crashed_replicas_alerts_are_taken_over_with_the_same_id(
        self, db: Any, write_alert: Callable[..., str], make_loop: Callable[..., DeliveryLoop],
        receiver: HttpReceiver,
    ) -> None:
        """A replica that dies after sending but before recording holds its lease until it
        expires; then another sends again, with the same webhook-id (at least once)."""
        alert = write_alert()
        clock = Clock()
        crashed = make_loop(owner="crashed", clock=clock, lease_seconds=60)

        def die(*args: object) -> None:
            raise RuntimeError("kill -9")

        crashed.leases.finish = die  # type: ignore[method-assign,assignment]
        with pytest.raises(RuntimeError):
            crashed.run_once()
        survivor = make_loop(owner="survivor", clock=clock, lease_seconds=60)
        assert survivor.run_once() == 0  # the lease still holds
        clock.offset += 61
        assert survivor.run_once() == 1
        assert receiver.ids() == [f"{alert}/ops", f"{alert}/ops"]
        assert _documents(db)[alert]["state"] == "done"


_ODD = st.text(max_size=40) | st.builds(
    lambda c, n: c * n, st.sampled_from(["x", "\n", "\x00", "é", "\u2028", "<&>"]),
    st.integers(0, 100_000),
)


class TestOddContent:
    @settings(max_examples=15, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(
        issue=st.dictionaries(
            st.sampled_from(["title", "culprit", "service", "environment", "level", "count",
                             "release", "first_seen"]),
            _ODD | st.integers() | st.floats() | st.none() | st.lists(_ODD, max_size=3),
        ),
        detail=st.dictionaries(st.sampled_from(["threshold", "events", "minutes"]),
                               _ODD | st.integers(-(2**63), 2**63 - 1)),
        trigger=st.sampled_from(["new", "regression", "count", "velocity", "odd\ntrigger"]),
    )
    def test_odd_documents_never_crash_the_loop(
        self, db: Any, make_loop: Callable[..., DeliveryLoop], receiver: HttpReceiver,
        issue: dict[str, Any], detail: dict[str, Any], trigger: str,
    ) -> None:
        """Huge titles, control characters, wrong types: the alert is delivered, the loop lives."""
        document = new_outbox_document(
            issue_id=f"odd-{time.monotonic_ns()}", trigger="new", n=0, rule_names=["r"],
            channels=["ops"], created_at=datetime.datetime.now(datetime.UTC), issue={},
        )
        document.update(trigger=trigger, detail=detail)
        document["issue"].update(issue)
        db.collection("alerts").document(document["alert_id"]).set(document)
        before = len(receiver.received())
        make_loop().run_once()
        stored = db.collection("alerts").document(document["alert_id"]).get().to_dict()
        assert stored["channels"]["ops"]["state"] == "delivered"
        assert len(receiver.received()) == before + 1
