"""Turning a validated event into the wire event published to Kafka.

Fills what the client left out — event id, timestamp (receive time), count, service,
fingerprint (with the ``grouping_version`` of the rules it used) — and adds
``issue_id``, ``received_at`` and ``wire_version``. The service comes from the token
when there is one; a body naming another service is refused.

This runs once per accepted event, so it serialises with pydantic's own (Rust) JSON
serialiser and appends the server's fields to that text, rather than building a Python
dict and encoding it again: about a third of the per-event cost of a batch (see
docs/ingest.md#benchmarks). What the API itself reads of the event comes back as a small
:class:`Accepted` summary.
"""

from __future__ import annotations

import functools
import time
from json.encoder import encode_basestring
from typing import Any, TypedDict

from afissue_logging import wire
from afissue_logging.fingerprint import GROUPING_VERSION, compute_fingerprint, issue_id_for
from ingest_service.errors import Forbidden
from ingest_service.models import IssueEvent

__all__ = ["DEFAULT_SERVICE", "Accepted", "receive_time", "to_wire"]

DEFAULT_SERVICE = "default"

# Hot issues repeat the same (service, fingerprint) pair.
_issue_id = functools.lru_cache(maxsize=4096)(issue_id_for)

_SERIALIZER = IssueEvent.__pydantic_serializer__
_NOT_SERIALISED = {"service": True}  # the server decides it, and appends it
_NOT_SERIALISED_REGROUPED = {"service": True, "grouping_version": True}


class Accepted(TypedDict):
    """What the API reads of an accepted wire event: for the response, the rate limiter
    and the recent list (:func:`ingest_service.recent.fold` reads these keys)."""

    event_id: str
    issue_id: str
    service: str
    title: str
    level: str | None
    count: int
    received_at: str


_second: tuple[int, str] = (-1, "")


def receive_time() -> str:
    """Now as RFC 3339 UTC with microseconds, what ``wire.format_timestamp(time.time())``
    writes: the date and time of day are formatted once a second, not per request."""
    global _second  # noqa: PLW0603 - a (second, text) pair, replaced whole: thread-safe
    seconds, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    second, text = _second
    if second != seconds:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _second = (seconds, text)
    return f"{text}.{nanoseconds // 1000:06d}Z"


def _tail(added: dict[str, Any]) -> bytes:
    """``json.dumps(added, ensure_ascii=False, separators=(",", ":"))`` without the
    encoder's per-call setup, for this dict of strings and the integer wire version."""
    members = [
        f"{encode_basestring(key)}:{encode_basestring(value) if isinstance(value, str) else value}"
        for key, value in added.items()
    ]
    return ("{" + ",".join(members) + "}").encode("utf-8")


def to_wire(
    event: IssueEvent, token_service: str | None, received_at: str, field: str = "service"
) -> tuple[Accepted, bytes]:
    """The wire event for *event*, received at *received_at* (RFC 3339): its summary
    and its compact UTF-8 JSON (what :func:`afissue_logging.wire.encode_event` writes)."""
    if token_service is not None:
        if event.service is not None and event.service != token_service:
            raise Forbidden(
                f"service {event.service!r} does not match the token's service "
                f"{token_service!r}",
                field=field,
            )
        service = token_service
    else:
        service = event.service or DEFAULT_SERVICE
    added: dict[str, Any] = {"service": service}
    event_id = event.event_id
    if event_id is None:
        event_id = added["event_id"] = wire.new_event_id()
    if event.timestamp is None:
        added["timestamp"] = received_at
    exclude = _NOT_SERIALISED
    fingerprint = event.fingerprint
    if fingerprint is None:
        body = event.model_dump(mode="json", exclude_none=True)
        body.update(added)
        fingerprint = added["fingerprint"] = compute_fingerprint(body)
        # The rules used are this server's, whatever version the body named.
        added["grouping_version"] = GROUPING_VERSION
        if event.grouping_version is not None:
            exclude = _NOT_SERIALISED_REGROUPED
    issue_id = _issue_id(service, fingerprint)
    added["issue_id"] = issue_id
    added["received_at"] = received_at
    added["wire_version"] = wire.WIRE_VERSION
    head: bytes = _SERIALIZER.to_json(event, exclude_none=True, exclude=exclude)
    tail = _tail(added)
    # Both are JSON objects with members (*head* always has the required title): join them.
    value = head[:-1] + b"," + tail[1:]
    summary: Accepted = {
        "event_id": event_id,
        "issue_id": issue_id,
        "service": service,
        "title": event.title,
        "level": event.level,
        "count": event.count,
        "received_at": received_at,
    }
    return summary, value
