"""Turning a validated event into the wire event published to Kafka.

Fills what the client left out — event id, timestamp (receive time), count, service,
fingerprint — and adds ``issue_id``, ``received_at`` and ``wire_version``. The service
comes from the token when there is one; a body naming another service is refused.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from afissue_logging import wire
from afissue_logging.fingerprint import compute_fingerprint, issue_id_for
from ingest_service.errors import Forbidden
from ingest_service.models import IssueEvent

__all__ = ["DEFAULT_SERVICE", "to_wire"]

DEFAULT_SERVICE = "default"

# Hot issues repeat the same (service, fingerprint) pair.
_issue_id = functools.lru_cache(maxsize=4096)(issue_id_for)


def to_wire(
    event: IssueEvent, token_service: str | None, received_at: str, field: str = "service"
) -> dict[str, Any]:
    """The complete wire event for *event*, received at *received_at* (RFC 3339)."""
    body: dict[str, Any] = event.model_dump(mode="json", exclude_none=True)
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
    body["service"] = service
    if "event_id" not in body:
        body["event_id"] = os.urandom(16).hex()  # as wire.new_event_id(), without uuid's cost
    body.setdefault("timestamp", received_at)
    if "fingerprint" not in body:
        body["fingerprint"] = compute_fingerprint(body)
    body["issue_id"] = _issue_id(service, body["fingerprint"])
    body["received_at"] = received_at
    body["wire_version"] = wire.WIRE_VERSION
    return body
