"""Health endpoints: ``/api/health`` (each dependency), ``/api/health/live`` and
``/api/health/ready``.

Liveness only says the process serves requests. Readiness needs Kafka, since no event
can be accepted without it; Redis is optional for accepting events (rate limits and the
recent list degrade), so it counts for ``/api/health`` but not for readiness. With a
tokens file, that file being readable counts for both: while it is not, every token is
refused. Malformed lines are listed but do not fail the check (their tokens are refused,
the others work).
"""

from __future__ import annotations

import time
from typing import Any

import redis
from flask import Blueprint, Response, jsonify

from ingest_service.errors import PublishError
from ingest_service.state import IngestState, current_state

__all__ = ["bp"]

bp = Blueprint("health", __name__, url_prefix="/api/health")

_KAFKA_TIMEOUT_S = 2.0


def _kafka(state: IngestState) -> dict[str, Any]:
    try:
        details = state.publisher.check(_KAFKA_TIMEOUT_S)
    except PublishError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, **details}


def _redis(state: IngestState) -> dict[str, Any]:
    started = time.monotonic()
    try:
        state.redis.ping()
    except redis.RedisError as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def _tokens(state: IngestState) -> dict[str, dict[str, Any]]:
    """The tokens file's check, or nothing when the service runs without one."""
    store = state.auth.store
    if store is None:
        return {}
    store.refresh_if_due()
    if store.unreadable is not None:
        return {"tokens": {"ok": False, "error": store.unreadable}}
    check: dict[str, Any] = {"ok": True, "services": len(store.services)}
    if store.problems:
        check["malformed_lines"] = store.problems
    return {"tokens": check}


def _answer(dependencies: dict[str, dict[str, Any]]) -> tuple[Response, int]:
    ok = all(dep["ok"] for dep in dependencies.values())
    body = {"status": "ok" if ok else "unavailable", "dependencies": dependencies}
    return jsonify(body), 200 if ok else 503


@bp.get("")
def health() -> tuple[Response, int]:
    """200 when Kafka, Redis (and the tokens file) all answer, else 503; each is described."""
    state = current_state()
    return _answer({"kafka": _kafka(state), "redis": _redis(state), **_tokens(state)})


@bp.get("/live")
def live() -> tuple[Response, int]:
    """200 while the process serves requests."""
    return jsonify(status="ok"), 200


@bp.get("/ready")
def ready() -> tuple[Response, int]:
    """200 when Kafka is reachable and tokens can be checked (events can be accepted), else 503."""
    state = current_state()
    return _answer({"kafka": _kafka(state), **_tokens(state)})
