"""Every error leaves as JSON ``{"error": {...}}``: API errors, HTTP errors (404, 405)
and, as a last resort, unexpected exceptions (logged; the body gives nothing away)."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from ingest_service.errors import ApiError

__all__ = ["init_app"]

log = logging.getLogger(__name__)


def _json_error(status: int, code: str, message: str, field: str | None) -> Response:
    response = jsonify(
        error={"status": status, "code": code, "field": field, "message": message}
    )
    response.status_code = status
    return response


def _api_error(exc: ApiError) -> Response:
    response = jsonify(error=exc.to_dict())
    response.status_code = exc.status
    response.headers.update(exc.headers())
    if request.endpoint == "api.post_issues":
        log.info(
            "request refused",
            extra={"status": exc.status, "code": exc.code, "field": exc.field},
        )
    return response


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = (exc.name or "error").lower().replace(" ", "_")
    response = _json_error(status, code, exc.description or exc.name, None)
    if status == 405 and exc.response is None:
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return response


def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.path})
    return _json_error(500, "internal_error", "internal error", None)


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
