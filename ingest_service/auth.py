"""Who is calling: the ``Authorization: Bearer`` token decides the service.

With a tokens file, a request without a known token is refused (401). While the tokens
file cannot be read no token is known, and requests are answered 503 with
``Retry-After`` instead: the fault is the server's, so clients keep and resend their
events rather than drop them as unauthorised. Open mode (``allow_open``, for
``afissue dev`` and tests) accepts anonymous requests and takes the service from the body.
"""

from __future__ import annotations

from ingest_service.errors import ServiceUnavailable, Unauthorized
from ingest_service.tokens import TokenStore

__all__ = ["Authenticator"]

#: Seconds a client waits before retrying while the tokens file cannot be read.
RETRY_AFTER_UNREADABLE_S = 5


class Authenticator:
    """Maps an ``Authorization`` header to a service name (None: open, body decides)."""

    def __init__(self, store: TokenStore | None, allow_open: bool) -> None:
        self.store = store
        self.allow_open = allow_open

    def service_for(self, authorization: str | None) -> str | None:
        """The token's service; None when anonymous access is allowed; else 401 (503
        while the tokens file cannot be read)."""
        if not authorization:
            if self.allow_open:
                return None
            raise Unauthorized("missing Authorization: Bearer token", field="Authorization")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized(
                "Authorization must be 'Bearer <token>'", field="Authorization"
            )
        if self.store is None:
            if self.allow_open:
                return None
            raise Unauthorized("unknown token", field="Authorization")
        service = self.store.service_for(token)
        if service is None:
            if self.store.unreadable is not None:
                raise ServiceUnavailable(
                    "the tokens file cannot be read, so no token can be checked; retry later",
                    field="Authorization",
                    retry_after=RETRY_AFTER_UNREADABLE_S,
                )
            raise Unauthorized("unknown token", field="Authorization")
        return service
