"""Helpers for testing code that reports to afissue, without a network or an ingest API.

Modelled on ``structlog.testing``: capturing fakes you can use in your own tests::

    from afissue_logging import IssueHandler
    from afissue_logging.testing import CapturingTransport, reset

    def test_checkout_failure_is_reported():
        transport = CapturingTransport()
        handler = IssueHandler(service="shop", transport=transport, spool_dir=str(tmp_path))
        logging.getLogger("shop").addHandler(handler)
        ...
        handler.flush(5)
        assert transport.events[0]["title"].startswith("PaymentError")
        reset()   # forget process-wide senders between tests
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from afissue_logging import _breadcrumbs
from afissue_logging._registry import reset_senders
from afissue_logging._transport import Response, TransportError
from afissue_logging._uncaught import uninstall_all
from afissue_logging.wire import EventDict

__all__ = [
    "CapturedRequest",
    "CapturingTransport",
    "UnreachableTransport",
    "accepted",
    "reset",
]


def reset() -> None:
    """Stop and forget every process-wide sender, put back the exception hooks the client
    wrapped, and empty the calling context's breadcrumbs (call between tests)."""
    uninstall_all()
    reset_senders()
    _breadcrumbs.clear()


@dataclasses.dataclass(frozen=True)
class CapturedRequest:
    """One request as the ingest API would have received it."""

    body: bytes
    headers: Mapping[str, str]

    @property
    def payload(self) -> Any:
        """The (possibly gzipped) JSON body, decoded."""
        data = gzip.decompress(self.body) if self.headers.get("Content-Encoding") == "gzip" else self.body
        return json.loads(data.decode("utf-8"))

    @property
    def events(self) -> list[EventDict]:
        """The events in the body."""
        payload = self.payload
        if isinstance(payload, dict) and isinstance(payload.get("events"), list):
            return payload["events"]  # type: ignore[no-any-return]
        return [payload]

    @property
    def dropped(self) -> dict[str, int]:
        """The drop counts the request reports, by reason (``{}`` when none)."""
        payload = self.payload
        dropped = payload.get("dropped") if isinstance(payload, dict) else None
        return dict(dropped) if isinstance(dropped, dict) else {}


def accepted(events: Iterable[Mapping[str, Any]]) -> Response:
    """The ingest API's 202 batch answer accepting every one of *events*."""
    results = [
        {"id": e.get("event_id", ""), "issue_id": "", "status": "accepted"} for e in events
    ]
    return Response(202, {"content-type": "application/json"}, json.dumps({"results": results}).encode())


class CapturingTransport:
    """Records every request and answers 202 (or the scripted *responses*, in order).

    A scripted item may be a :class:`Response`, an exception instance to raise, or None
    to accept that request; when the script runs out, requests are accepted. A scripted
    2xx is sent back as it is: the sender counts a 2xx whose body is not the ingest
    API's answer (see :func:`accepted`) as a failed exchange.
    """

    def __init__(self, responses: Iterable[Response | Exception | None] = ()) -> None:
        self.requests: list[CapturedRequest] = []
        self.script: list[Response | Exception | None] = list(responses)
        self.received = threading.Condition()
        self.closed = False

    def send(self, body: bytes, headers: Mapping[str, str], timeout: float) -> Response:
        """Record the request, then answer."""
        request = CapturedRequest(body, dict(headers))
        answer = self.script.pop(0) if self.script else None
        if isinstance(answer, Exception):
            raise answer
        with self.received:
            if answer is None or 200 <= answer.status < 300:
                self.requests.append(request)
            self.received.notify_all()
        return answer if answer is not None else accepted(request.events)

    def close(self) -> None:
        """Nothing to release."""
        self.closed = True

    @property
    def events(self) -> list[EventDict]:
        """Every accepted event, in arrival order."""
        return [event for request in list(self.requests) for event in request.events]

    def occurrences(self) -> int:
        """Sum of the accepted events' counts."""
        return sum(event.get("count", 1) for event in self.events)


class UnreachableTransport:
    """An ingest API that is down: every request fails with a connection error."""

    def __init__(self) -> None:
        self.attempts = 0

    def send(self, body: bytes, headers: Mapping[str, str], timeout: float) -> Response:
        """Fail."""
        self.attempts += 1
        raise TransportError("connection refused (UnreachableTransport)")

    def close(self) -> None:
        """Nothing to release."""
