"""The ingest service's exceptions.

::

    IngestError                      anything the ingest service raises on purpose
    ├── IngestConfigError            the service cannot start as configured
    ├── PublishError                 Kafka did not confirm an event (answered as 503)
    └── ApiError                     a request answered with a JSON error (status, field)
        ├── BadRequest               400  malformed JSON, invalid UTF-8, bad gzip
        ├── Unauthorized             401  missing or unknown token
        ├── Forbidden                403  the body names another service than the token
        ├── PayloadTooLarge          413  a size limit was exceeded
        ├── UnsupportedMediaType     415  not application/json
        ├── ValidationFailed         422  schema violation
        ├── RateLimited              429  the service's rate limit is used up
        └── ServiceUnavailable       503  Kafka did not confirm in time, or tokens unreadable

Every :class:`ApiError` renders as ``{"error": {"status", "code", "field", "message"}}``
so that clients and people both see which field was wrong.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ApiError",
    "BadRequest",
    "Forbidden",
    "IngestConfigError",
    "IngestError",
    "PayloadTooLarge",
    "PublishError",
    "RateLimited",
    "ServiceUnavailable",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
]


class IngestError(Exception):
    """Base class of the ingest service's exceptions."""


class IngestConfigError(IngestError):
    """The settings do not allow the service to start (e.g. open without being told so)."""


class PublishError(IngestError):
    """Kafka did not confirm the write of an event within the publish timeout."""


class ApiError(IngestError):
    """An error answered to the client as JSON, naming the offending field."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        retry_after: int | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.retry_after = retry_after
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The ``error`` object of the response body."""
        body: dict[str, Any] = {
            "status": self.status,
            "code": self.code,
            "field": self.field,
            "message": self.message,
        }
        if self.details:
            body["details"] = self.details
        return body

    def headers(self) -> dict[str, str]:
        """Extra response headers (``Retry-After`` when the client should come back)."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class BadRequest(ApiError):
    """400: the body is not well-formed (JSON, UTF-8 or gzip)."""

    status = 400
    code = "bad_request"


class Unauthorized(ApiError):
    """401: no token, or a token that is not in the tokens file."""

    status = 401
    code = "unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="afissue"'}


class Forbidden(ApiError):
    """403: the token's service differs from the service named in the body."""

    status = 403
    code = "forbidden"


class PayloadTooLarge(ApiError):
    """413: one of the documented size limits was exceeded."""

    status = 413
    code = "too_large"


class UnsupportedMediaType(ApiError):
    """415: the request is not ``application/json``."""

    status = 415
    code = "unsupported_media_type"


class ValidationFailed(ApiError):
    """422: the JSON does not match the event schema."""

    status = 422
    code = "validation_failed"


class RateLimited(ApiError):
    """429: the service sent more events than its rate limit allows."""

    status = 429
    code = "rate_limited"


class ServiceUnavailable(ApiError):
    """503: Kafka did not confirm the write, or the tokens file cannot be read; the
    client keeps the event and retries."""

    status = 503
    code = "unavailable"
