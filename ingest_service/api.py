"""``POST /api/v1/issues``: validate, authenticate, rate-limit, publish, answer 202.

A body is one event or ``{"events": [...]}``. A batch answers one result per item: bad
items are rejected on their own, the good ones are published. 202 means Kafka confirmed
every accepted event; if it did not, the whole request is answered 503 with
``Retry-After`` and the client sends it again (event ids make the retry harmless).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from json.encoder import encode_basestring_ascii
from typing import Any

import pydantic
import redis
from flask import Blueprint, Response, jsonify, request

from ingest_service import limits as _limits
from ingest_service.errors import (
    ApiError,
    Forbidden,
    PayloadTooLarge,
    PublishError,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)
from ingest_service.events import DEFAULT_SERVICE, Accepted, receive_time, to_wire
from ingest_service.models import DroppedCounts, IssueEvent
from ingest_service.openapi import openapi_document
from ingest_service.state import IngestState, current_state

__all__ = ["bp"]

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")

_RETRY_AFTER_UNAVAILABLE = 5


_ENCODER = json.JSONEncoder(separators=(",", ":"))
_quote = encode_basestring_ascii  # what _ENCODER writes for a string


def _json(body: dict[str, Any], status: int) -> tuple[Response, int]:
    # Straight into a Response: this is the hot path, and jsonify costs more.
    return Response(_ENCODER.encode(body), mimetype="application/json"), status


def validation_error(exc: pydantic.ValidationError, prefix: tuple[str | int, ...]) -> ApiError:
    """422 naming the first invalid field; every problem is listed in ``details``."""
    problems = exc.errors(include_url=False, include_input=False, include_context=False)
    details = [
        {"field": _limits.field_path((*prefix, *p["loc"])), "message": p["msg"]}
        for p in problems
    ]
    first = details[0] if details else {"field": _limits.field_path(prefix), "message": "invalid"}
    return ValidationFailed(
        f"{first['field']}: {first['message']}", field=first["field"], details=details
    )


def _prepare(
    item: Any,
    state: IngestState,
    limits: _limits.Limits,
    *,
    service: str | None,
    received_at: str,
    prefix: tuple[str | int, ...],
    validated: IssueEvent | None = None,
) -> tuple[Accepted, bytes]:
    if not isinstance(item, dict):
        raise ValidationFailed(
            f"an event must be a JSON object, got {type(item).__name__}",
            field=_limits.field_path(prefix),
        )
    _limits.check_value(item, limits, prefix)
    event = validated
    if event is None:
        try:
            event = IssueEvent.model_validate(item)
        except pydantic.ValidationError as exc:
            raise validation_error(exc, prefix) from None
    try:
        wire_event, value = to_wire(event, service, received_at)
    except Forbidden as exc:
        exc.field = _limits.field_path((*prefix, "service"))
        raise
    if len(value) > state.limits.max_event_bytes:
        raise PayloadTooLarge(
            f"event of {len(value)} bytes exceeds the limit of "
            f"{state.limits.max_event_bytes} bytes",
            field=_limits.field_path(prefix),
        )
    return wire_event, value


def _rate_limit(state: IngestState, events: list[Accepted]) -> None:
    # A single event (the common request) skips building a Counter.
    per_service = (
        {events[0]["service"]: 1} if len(events) == 1 else Counter(e["service"] for e in events)
    )
    for service, count in per_service.items():
        try:
            decision = state.limiter.acquire(service, count)
        except redis.RedisError as exc:
            state.metrics.redis_errors.labels("ratelimit").inc()
            log.warning("rate limit skipped: redis unavailable", extra={"error": str(exc)})
            return
        if not decision.allowed:
            state.metrics.rate_limited.inc()
            raise RateLimited(
                f"service {service!r} exceeded {decision.limit} events per "
                f"{state.limiter.window} s",
                field="service",
                retry_after=decision.retry_after,
            )


def _publish(state: IngestState, prepared: list[tuple[Accepted, bytes]]) -> None:
    started = time.perf_counter()
    try:
        state.publisher.publish([(event["issue_id"], value) for event, value in prepared])
    except PublishError as exc:
        state.metrics.publish_failures.inc()
        log.warning("publish failed", extra={"error": str(exc), "events": len(prepared)})
        raise ServiceUnavailable(
            f"Kafka unavailable: {exc}", field=None, retry_after=_RETRY_AFTER_UNAVAILABLE
        ) from None
    state.metrics.publish_latency.observe(time.perf_counter() - started)
    state.metrics.events_accepted.inc(len(prepared))


def _remember(state: IngestState, events: list[Accepted]) -> None:
    try:
        state.recorder.record(events)
    except redis.RedisError as exc:
        state.metrics.redis_errors.labels("recent").inc()
        log.warning("recent list not updated: redis unavailable", extra={"error": str(exc)})


def _read_document(state: IngestState) -> tuple[Any, _limits.Limits]:
    """The parsed body, and the limits its items still need checking against.

    Reads the WSGI environ directly: this runs on every event, and werkzeug's header and
    stream wrappers cost more than the rest of the parsing of a single event."""
    environ = request.environ
    _limits.check_content_type(environ.get("CONTENT_TYPE"))
    length = _content_length(environ.get("CONTENT_LENGTH"))
    if length is None or length > state.limits.max_body_bytes:
        raw = _limits.read_body(request.stream, request.content_length, state.limits)
    else:
        # A declared length within the limit: exactly that many bytes, straight from the
        # server's input (gunicorn and werkzeug both bound it by the length).
        raw = _limits.read_exactly(environ["wsgi.input"], length)
    raw = _limits.decode_body(raw, environ.get("HTTP_CONTENT_ENCODING"), state.limits)
    text = _limits.decode_utf8(raw)
    return _limits.parse_text(text), _limits.for_body(state.limits, text)


def _content_length(value: str | None) -> int | None:
    """A well-formed Content-Length, else None (werkzeug's stream then decides)."""
    if value and value.isascii() and value.isdigit():
        return int(value)
    return None


@bp.post("/issues")
def post_issues() -> Response | tuple[Response, int]:
    """Accept one event or a batch (see the module docstring)."""
    state = current_state()
    service = state.auth.service_for(request.environ.get("HTTP_AUTHORIZATION"))
    document, limits = _read_document(state)
    received_at = receive_time()
    if isinstance(document, dict) and "events" in document:
        return _post_batch(state, document, limits, service, received_at)
    wire_event, value = _prepare(
        document, state, limits, service=service, received_at=received_at, prefix=()
    )
    _rate_limit(state, [wire_event])
    _publish(state, [(wire_event, value)])
    _remember(state, [wire_event])
    return _accepted(wire_event)


def _accepted(event: Accepted) -> Response:
    """202 for one event: what ``_json`` writes for ``{"id", "issue_id", "status"}``,
    formatted directly (the encoder's setup costs more than the two strings)."""
    body = (
        f'{{"id":{_quote(event["event_id"])},"issue_id":{_quote(event["issue_id"])},'
        '"status":"accepted"}'
    )
    return Response(body, 202, content_type="application/json")


_EVENT_LIST: pydantic.TypeAdapter[list[IssueEvent]] = pydantic.TypeAdapter(list[IssueEvent])


def _validate_all(items: list[Any]) -> list[IssueEvent] | None:
    """Validate a whole batch in one call (the common, all-valid case); None if any item
    is invalid, so that each is then validated and reported on its own."""
    try:
        return _EVENT_LIST.validate_python(items)
    except pydantic.ValidationError:
        return None


def _post_batch(
    state: IngestState,
    document: dict[str, Any],
    limits: _limits.Limits,
    service: str | None,
    received_at: str,
) -> tuple[Response, int]:
    items = document["events"]
    if not isinstance(items, list):
        raise ValidationFailed(
            f"events must be an array, got {type(items).__name__}", field="events"
        )
    dropped = _dropped(document.get("dropped"))
    if not items and not dropped:
        raise ValidationFailed(
            "events must hold at least one event unless dropped reports drops", field="events"
        )
    if len(items) > state.limits.max_batch_events:
        raise PayloadTooLarge(
            f"batch of {len(items)} events exceeds the limit of "
            f"{state.limits.max_batch_events}",
            field="events",
        )
    results: list[dict[str, Any]] = []
    prepared: list[tuple[Accepted, bytes]] = []
    validated = _validate_all(items)
    for index, item in enumerate(items):
        try:
            wire_event, value = _prepare(
                item, state, limits, service=service, received_at=received_at,
                prefix=("events", index),
                validated=validated[index] if validated is not None else None,
            )
        except ApiError as exc:
            state.metrics.events_rejected.labels(str(exc.status)).inc()
            results.append(
                {
                    "index": index,
                    "status": "rejected",
                    "error": {"field": exc.field, "message": exc.message},
                }
            )
            continue
        prepared.append((wire_event, value))
        results.append(
            {"id": wire_event["event_id"], "issue_id": wire_event["issue_id"], "status": "accepted"}
        )
    accepted = [event for event, _ in prepared]
    if items:
        _rate_limit(state, accepted)
        _publish(state, prepared)
        _remember(state, accepted)
    if dropped:
        # Counted once Kafka confirmed the events: a 503 makes the client send it again.
        reporter = service or (accepted[0]["service"] if accepted else DEFAULT_SERVICE)
        state.metrics.count_client_drops(reporter, dropped)
    return _json({"results": results}, 202)


_DROPPED: pydantic.TypeAdapter[dict[str, int] | None] = pydantic.TypeAdapter(
    DroppedCounts | None
)


def _dropped(value: Any) -> dict[str, int]:
    """A batch's drop report, validated (422 naming what is wrong); ``{}`` when absent."""
    if value is None:
        return {}
    try:
        return _DROPPED.validate_python(value) or {}
    except pydantic.ValidationError as exc:
        raise validation_error(exc, ("dropped",)) from None


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document, generated from :mod:`ingest_service.models`."""
    return jsonify(openapi_document())
