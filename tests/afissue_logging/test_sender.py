"""Sender: status handling, retries, Retry-After, 413 splitting, gzip, spool and replay."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from afissue_logging import IssueHandler
from afissue_logging._transport import Response, TransportError
from afissue_logging.testing import (
    CapturedRequest,
    CapturingTransport,
    UnreachableTransport,
    accepted,
    reset,
)
from afissue_logging.wire import EventDict
from tests.afissue_logging.capture_server import DISCONNECT, CaptureServer


def _handler(transport: Any, spool_dir: str, **kwargs: Any) -> IssueHandler:
    kwargs.setdefault("flush_interval", 30)
    kwargs.setdefault("backoff_base", 0.01)
    kwargs.setdefault("backoff_max", 0.05)
    return IssueHandler(service="svc", spool_dir=spool_dir, transport=transport, **kwargs)


def _log(handler: IssueHandler, *messages: str) -> None:
    for message in messages:
        handler.handle(logging.makeLogRecord({"name": "app", "levelno": 40, "msg": message}))


def _wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Poll *condition* (a wait for background work, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def _rejecting_second(events: list[EventDict]) -> Response:
    results: list[dict[str, Any]] = [
        {"id": e["event_id"], "issue_id": "i", "status": "accepted"} for e in events
    ]
    results[1] = {"status": "rejected", "error": {"field": "title", "message": "too long"}}
    import json

    return Response(202, {}, json.dumps({"results": results}).encode())


class TestStatusHandling:
    def test_connection_error_retried_then_delivered(self, spool_dir: str) -> None:
        """A failed connection is retried with backoff; the event arrives once, same id."""
        transport = CapturingTransport([TransportError("refused")])
        handler = _handler(transport, spool_dir, flush_interval=0.05)
        _log(handler, "a")
        assert _wait_until(lambda: handler.stats()["sent"] == 1)
        assert len(transport.events) == 1
        assert handler.stats()["retried"] == 1

    def test_retry_after_is_honoured(self, spool_dir: str) -> None:
        """After a 503 with Retry-After: 100, a flush spools instead of resending early."""
        transport = CapturingTransport([Response(503, {"retry-after": "100"})])
        handler = _handler(transport, spool_dir, flush_interval=0.05)
        _log(handler, "a")
        assert _wait_until(lambda: handler.stats()["requests"] == 1)
        assert not handler.flush(10)  # spooled, not delivered
        stats = handler.stats()
        assert stats["requests"] == 1
        assert stats["spooled"] == 1
        assert transport.events == []

    def test_413_splits_the_batch(self, spool_dir: str) -> None:
        """A batch answered 413 is split in halves and resent."""
        transport = CapturingTransport([Response(413)])
        handler = _handler(transport, spool_dir)
        _log(handler, "a", "b", "c", "d")
        assert handler.flush(10)
        assert sorted(len(r.events) for r in transport.requests) == [2, 2]
        assert handler.stats()["sent"] == 4

    @pytest.mark.parametrize(("status", "reason"), [(401, "auth"), (403, "auth"), (422, "rejected"), (400, "rejected")])
    def test_client_errors_dropped_not_retried(self, spool_dir: str, status: int, reason: str) -> None:
        """401/403/4xx answers drop the batch with a counted reason and no retry."""
        transport = CapturingTransport([Response(status)])
        handler = _handler(transport, spool_dir)
        _log(handler, "a", "b")
        assert not handler.flush(10)  # dropped, not delivered
        stats = handler.stats()
        assert stats["dropped"][reason] == 2
        assert stats["retried"] == 0 and stats["spooled"] == 0

    def test_rejected_items_of_a_batch_counted(self, spool_dir: str) -> None:
        """Items the API rejects inside a 202 batch are counted dropped, the rest sent."""
        transport = CapturingTransport()
        original = transport.send

        def send(body: bytes, headers: Any, timeout: float) -> Response:
            original(body, headers, timeout)
            return _rejecting_second(transport.requests[-1].events)

        transport.send = send  # type: ignore[method-assign]
        handler = _handler(transport, spool_dir)
        _log(handler, "a", "b", "c")
        assert not handler.flush(10)  # one of them was refused
        stats = handler.stats()
        assert stats["sent"] == 2
        assert stats["dropped"]["rejected"] == 1

    def test_drops_ride_on_the_next_batch(self, spool_dir: str) -> None:
        """Drops are reported in the next batch's ``dropped`` field, not as an issue."""
        transport = CapturingTransport([Response(422)])
        handler = _handler(transport, spool_dir, flush_interval=0.05)
        _log(handler, "lost-1", "lost-2")
        assert _wait_until(lambda: handler.stats()["dropped"]["rejected"] == 2)
        _log(handler, "ok")
        assert _wait_until(lambda: handler.stats()["sent"] == 1)
        [request] = transport.requests
        assert [e["message"] for e in request.events] == ["ok"]
        assert request.dropped == {"rejected": 2}
        assert all(not e["title"].startswith("afissue client") for e in transport.events)

    def test_drop_counts_are_cleared_only_by_a_2xx(self, spool_dir: str) -> None:
        """A batch carrying drop counts that fails is retried with them; once a 2xx
        acknowledged them, later requests carry none."""
        transport = CapturingTransport([Response(422), Response(503)])
        handler = _handler(transport, spool_dir, flush_interval=0.05)
        _log(handler, "lost")
        assert _wait_until(lambda: handler.stats()["dropped"]["rejected"] == 1)
        _log(handler, "retried")
        assert _wait_until(lambda: handler.stats()["sent"] == 1)
        _log(handler, "later")
        assert not handler.flush(10)  # "lost" was refused since the start
        assert [(r.events[0]["message"], r.dropped) for r in transport.requests] == [
            ("retried", {"rejected": 1}),
            ("later", {}),
        ]

    def test_flush_reports_drops_alone_when_no_event_carries_them(self, spool_dir: str) -> None:
        """A flush with drops to report and no events sends a batch of drop counts only."""
        transport = CapturingTransport([Response(401)])
        handler = _handler(transport, spool_dir)
        _log(handler, "lost")
        assert not handler.flush(10)
        assert [(r.events, r.dropped) for r in transport.requests] == [([], {"auth": 1})]
        assert handler.flush(10)  # nothing since the previous flush was lost
        assert len(transport.requests) == 1

    def test_large_bodies_gzipped(self, spool_dir: str) -> None:
        """Bodies over gzip_min_bytes are sent with Content-Encoding: gzip."""
        transport = CapturingTransport()
        handler = _handler(transport, spool_dir, gzip_min_bytes=10)
        _log(handler, "a" * 500)
        assert handler.flush(10)
        request = transport.requests[0]
        assert request.headers["Content-Encoding"] == "gzip"
        assert request.events[0]["message"] == "a" * 500

    def test_event_ids_are_reused_on_retry(self, spool_dir: str) -> None:
        """A retried batch carries the same event ids (the consumer deduplicates by them)."""
        seen: list[str] = []
        transport = CapturingTransport()
        original = transport.send
        calls = 0

        def send(body: bytes, headers: Any, timeout: float) -> Response:
            nonlocal calls
            calls += 1
            from afissue_logging.testing import CapturedRequest

            seen.extend(e["event_id"] for e in CapturedRequest(body, headers).events)
            if calls == 1:
                return Response(500)
            return original(body, headers, timeout)

        transport.send = send  # type: ignore[method-assign]
        handler = _handler(transport, spool_dir, flush_interval=0.05)
        _log(handler, "a")
        assert _wait_until(lambda: handler.stats()["sent"] == 1)
        assert len(seen) == 2 and seen[0] == seen[1]


class TestTransportProtocol:
    def test_a_user_supplied_transport_is_used_through_the_protocol_only(
        self, spool_dir: str
    ) -> None:
        """Any object with send() and close() carries the requests, and is closed when
        the sender stops; the sender touches nothing else of it."""

        class _Minimal:
            __slots__ = ("bodies", "closed")

            def __init__(self) -> None:
                self.bodies: list[bytes] = []
                self.closed = 0

            def send(self, body: bytes, headers: Mapping[str, str], timeout: float) -> Response:
                self.bodies.append(body)
                return accepted(CapturedRequest(body, headers).events)

            def close(self) -> None:
                self.closed += 1

        transport = _Minimal()
        handler = _handler(transport, spool_dir)
        _log(handler, "a", "b")
        assert handler.flush(10)
        assert handler.stats()["sent"] == 2
        assert len(transport.bodies) == 1
        assert handler.sender.shutdown(5)
        assert transport.closed == 1


class TestOffline:
    def test_unreachable_ingest_spools_after_retries(self, spool_dir: str) -> None:
        """With the API down, batches end in the spool and nothing is dropped."""
        transport = UnreachableTransport()
        handler = _handler(transport, spool_dir, flush_interval=0.05, max_retries=2)
        _log(handler, "a", "b")
        assert _wait_until(lambda: handler.stats()["spooled"] == 2)
        _log(handler, "c")
        assert not handler.flush(10)
        stats = handler.stats()
        assert stats["spooled"] == 3
        assert stats["dropped_total"] == 0
        assert stats["spool_files"] >= 1

    def test_spool_replayed_when_ingest_returns(self, spool_dir: str) -> None:
        """Spooled events are replayed, oldest first, once deliveries succeed again."""
        down = [TransportError("down")] * 4
        transport = CapturingTransport(down)
        handler = _handler(transport, spool_dir, flush_interval=0.05, max_retries=1)
        _log(handler, "first")
        assert _wait_until(lambda: handler.stats()["spooled"] == 1)
        _log(handler, "second")
        assert _wait_until(lambda: handler.stats()["sent"] == 2)
        assert [e["message"] for e in transport.events] == ["first", "second"]
        assert handler.stats()["replayed"] == 1
        assert handler.stats()["spool_files"] == 0

    def test_spool_bound_drops_oldest_and_counts(self, spool_dir: str) -> None:
        """Over spool_max_bytes the oldest files are deleted and their events counted."""
        transport = UnreachableTransport()
        handler = _handler(transport, spool_dir, spool_max_bytes=3000, backoff_base=60, backoff_max=60)
        for i in range(10):
            _log(handler, f"message {i} " + "x" * 800)
            assert not handler.flush(10)
        stats = handler.stats()
        assert stats["dropped"]["spool_full"] > 0
        assert stats["spooled"] == 10
        assert stats["spool_files"] == 10 - stats["dropped"]["spool_full"]

    def test_no_spool_dir_counts_drops(self, spool_dir: str) -> None:
        """With spooling disabled, undeliverable events are dropped and counted."""
        handler = _handler(UnreachableTransport(), spool_dir, spool_enabled=False, max_retries=0)
        _log(handler, "a")
        assert not handler.flush(10)
        assert handler.stats()["dropped"]["spool_error"] == 1


class TestFlushAndShutdown:
    def test_flush_before_any_record_is_true(self, spool_dir: str) -> None:
        """Flushing an idle handler succeeds immediately."""
        assert _handler(CapturingTransport(), spool_dir).flush(1)

    def test_shutdown_spools_what_it_cannot_send(self, spool_dir: str) -> None:
        """At shutdown, events that cannot be delivered in time are written to the spool."""
        handler = _handler(UnreachableTransport(), spool_dir, backoff_base=60, backoff_max=60)
        _log(handler, "a")
        assert handler.sender.shutdown(1.0)
        assert handler.stats()["spooled"] == 1
        _log(handler, "after shutdown")
        assert handler.stats()["dropped"]["shutdown"] == 1


class TestReplay:
    def test_large_spool_file_replayed_in_batches_after_partial_failure(
        self, spool_dir: str
    ) -> None:
        """A 250-event spool file goes out in batches; after a failure mid-file the rest is
        kept and later delivered, so every event arrives exactly once."""
        from afissue_logging.settings import load_settings
        from afissue_logging.spool import Spool
        from afissue_logging.wire import encode_event

        events = [
            {"event_id": f"{i:032x}", "title": f"e{i}", "fingerprint": f"{i:032x}", "count": 2}
            for i in range(250)
        ]
        service = load_settings({}, service="svc").service
        Spool(spool_dir, service, 10**9).write(encode_event({"events": events}), 500)
        transport = CapturingTransport([None, TransportError("blip")])
        handler = _handler(transport, spool_dir, batch_size=100)
        assert _wait_until(lambda: handler.stats()["replayed"] == 500)
        assert sorted(e["event_id"] for e in transport.events) == [e["event_id"] for e in events]
        assert max(len(r.events) for r in transport.requests) <= 100
        assert _wait_until(lambda: handler.stats()["spool_files"] == 0)

    def test_unreadable_spool_does_not_spin(
        self, spool_dir: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A spool that cannot be listed is given up on (counted), not retried in a loop."""
        from afissue_logging.spool import Spool

        calls = 0

        def broken(self: Spool) -> None:
            nonlocal calls
            calls += 1
            raise PermissionError("spool not readable")

        monkeypatch.setattr(Spool, "claim_oldest", broken)
        transport = CapturingTransport()
        handler = _handler(transport, spool_dir)
        _log(handler, "still works")
        assert handler.flush(10)
        _log(handler, "and again")
        assert handler.flush(10)
        assert calls == 1
        assert handler.stats()["internal_errors"] == 1
        assert [e["message"] for e in transport.events] == ["still works", "and again"]


class TestForkGuard:
    def test_pid_check_gives_a_fresh_sender_state(self, spool_dir: str) -> None:
        """If a fork went unnoticed by the at-fork hook, the pid check resets the state."""
        transport = CapturingTransport()
        handler = _handler(transport, spool_dir)
        _log(handler, "before")
        assert handler.flush(10)
        old_worker = handler.sender._worker
        old_worker.pid = -1  # as if this were a forked child
        _log(handler, "after")
        assert handler.sender._worker is not old_worker
        assert handler.sender.thread_ident != old_worker.thread_ident
        assert handler.flush(10)
        assert handler.stats()["sent"] == 1
        assert [e["message"] for e in transport.events] == ["before", "after"]


class TestFaultsInsideTheSender:
    def test_exception_while_sending_spools_instead_of_losing(
        self, capture: CaptureServer, spool_dir: str
    ) -> None:
        """A send that raises something other than a transport error (here http.client
        refusing a token with a line break as a header value) retries, then spools: the
        events are accounted for, never silently gone."""
        handler = IssueHandler(
            url=capture.url, service="svc", spool_dir=spool_dir, token="abc\ndef",
            flush_interval=0.01, backoff_base=0.001, backoff_max=0.005, max_retries=2,
        )
        _log(handler, "one", "two", "three")
        assert not handler.flush(10)
        stats = handler.stats()
        assert stats["sent"] + stats["spooled"] + stats["dropped_total"] == 3
        assert stats["spooled"] == 3
        assert stats["internal_errors"] >= 1
        assert capture.events == []


_HTML = b"<!doctype html><html><body>Welcome to nginx!</body></html>"
_ANSWERS: dict[str, tuple[int, dict[str, str], bytes] | None] = {
    "accept": None,  # the capture server's own 202 with per-event results
    "html_200": (200, {"Content-Type": "text/html"}, _HTML),
    "other_json_200": (200, {"Content-Type": "application/json"}, b'{"ok": true}'),
    "empty_204": (204, {}, b""),
    "too_large_413": (413, {"Content-Type": "application/json"}, b'{"error": "too large"}'),
    "rate_limited_429": (429, {"Retry-After": "0"}, b""),
    "unavailable_503": (503, {"Retry-After": "1"}, b""),
    "error_500": (500, {}, b"oops"),
    "disconnect": DISCONNECT,
}
_BAD_ANSWERS = {"html_200", "other_json_200", "empty_204"}


def _occurrences_on_disk(spool_dir: str) -> int:
    """Occurrences in every spooled body (claimed or not), read from the file names."""
    import re

    pattern = re.compile(r"^\d{20}-\d+-\d+-(\d+)\.batch")
    return sum(
        int(m.group(1))
        for path in Path(spool_dir).rglob("*.batch*")
        if (m := pattern.match(path.name)) is not None
    )


class TestAccountingUnderAnyAnswers:
    @settings(
        max_examples=100, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @example(script=["too_large_413", "accept", "unavailable_503"], kinds=[0, 1], batch_size=100)
    @given(
        script=st.lists(st.sampled_from(sorted(_ANSWERS)), max_size=25),
        kinds=st.lists(st.integers(min_value=0, max_value=15), min_size=1, max_size=40),
        batch_size=st.sampled_from([1, 2, 3, 8, 100]),
    )
    def test_every_occurrence_counted_exactly_once(
        self, capture: CaptureServer, tmp_path: Path,
        script: list[str], kinds: list[int], batch_size: int,
    ) -> None:
        """Whatever a real HTTP server answers, in any order (accepted, 2xx that is not the
        ingest API's JSON, 413, 429/503 with Retry-After, 500, a dropped connection), every
        logged occurrence ends exactly once as sent, dropped (with a reason) or on disk,
        the server receives each event id at most once, ``sent`` is what it accepted, and
        flush() is True exactly when nothing was spooled or dropped."""
        import tempfile
        import threading

        reset()
        spool_dir = tempfile.mkdtemp(dir=tmp_path)
        pending = list(script)
        served: list[str] = []
        lock = threading.Lock()

        def respond(events: list[dict[str, Any]]) -> tuple[int, dict[str, str], bytes] | None:
            with lock:
                name = pending.pop(0) if pending else "accept"
                served.append(name)
            return _ANSWERS[name]

        capture.responder = respond
        with capture.condition:
            capture.events.clear()
            capture.requests.clear()
        handler = IssueHandler(
            url=capture.url, service="svc", spool_dir=spool_dir, batch_size=batch_size,
            flush_interval=0.05, backoff_base=0.001, backoff_max=0.01, max_retries=2,
        )
        for kind in kinds:
            handler.handle(
                logging.makeLogRecord(
                    {"name": "app", "levelno": 40, "msg": "kind %s", "args": (kind,),
                     "fingerprint": [f"kind-{kind}"]}
                )
            )
        delivered = handler.flush(30)
        after_flush = handler.stats()
        assert delivered == (after_flush["spooled"] == 0 and after_flush["dropped_total"] == 0)
        assert handler.sender.shutdown(10)
        stats = handler.stats()
        logged = len(kinds)
        on_disk = _occurrences_on_disk(spool_dir)
        assert stats["sent"] + stats["dropped_total"] + on_disk == logged, (stats, on_disk)
        assert stats["spool_occurrences"] == on_disk
        ours = capture.events
        ids = [e["event_id"] for e in ours]
        assert len(ids) == len(set(ids)), "an event was accepted twice"
        assert sum(e["count"] for e in ours) == stats["sent"]
        assert {k for k, v in stats["dropped"].items() if v} <= {"too_large"}
        assert stats["failures"]["bad_answer"] == sum(1 for n in served if n in _BAD_ANSWERS)

    def test_a_web_server_answering_200_html_does_not_swallow_events(
        self, capture: CaptureServer, spool_dir: str
    ) -> None:
        """AFISSUE_URL pointing at some other web server that answers every POST with
        200 and an HTML page: nothing counts as sent; the events are spooled at once,
        without retries from memory against a server that is not the ingest API."""
        capture.responder = lambda events: _ANSWERS["html_200"]
        handler = IssueHandler(
            url=capture.url, service="svc", spool_dir=spool_dir, flush_interval=0.01,
            backoff_base=0.001, backoff_max=0.005, max_retries=2,
        )
        _log(handler, "one", "two")
        assert _wait_until(lambda: handler.stats()["spooled"] == 2)
        stats = handler.stats()
        assert stats["sent"] == 0
        assert stats["failures"]["bad_answer"] >= 1
        assert stats["retried"] == 0
