"""ASGI (FastAPI, Starlette, any ASGI app): request context, and unhandled exceptions
reported with their request.

::

    app = FastAPI()
    app.add_middleware(RequestContextMiddleware)     # or: app = RequestContextMiddleware(app)

For each HTTP request the middleware binds the request's ASGI scope; the background
thread reads method, path, query string, route (``scope["route"]``, which Starlette's
router adds once it has matched) and the ``X-Request-ID`` header from it when it builds
an event. The response status is recorded when the response starts.

An exception escaping the app is logged here, on the ``afissue.asgi`` logger, with the
request (status 500 unless a response had started) and re-raised. The server's own
report of it (uvicorn's and hypercorn's ``Exception in ASGI application`` on
``uvicorn.error`` / ``hypercorn.error``) is then marked as already reported, so it
reaches every handler but ``IssueHandler``: one issue, titled by the exception, with
its route. Standard library only.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from afissue_logging._reported import claim, is_reported
from afissue_logging._request_context import RequestContext, bind, unbind, update
from afissue_logging.integrations._reported import (
    exception_already_reported,
    mark_repeats,
)

__all__ = ["SERVER_LOGGERS", "RequestContextMiddleware", "read_scope", "route_of"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Where ASGI servers log an exception that escaped the app.
SERVER_LOGGERS = ("uvicorn.error", "hypercorn.error")
_REQUEST_ID_HEADERS = (b"x-request-id", b"x-correlation-id")


def read_scope(scope: Scope) -> dict[str, Any]:
    """Plain values of an HTTP scope (run on the sender thread: dict reads only)."""
    path = scope.get("path") or ""
    root_path = scope.get("root_path") or ""
    if root_path and not (path == root_path or path.startswith(root_path + "/")):
        path = root_path + path  # servers that leave the mount point out of path
    values: dict[str, Any] = {
        "method": scope.get("method"),
        "path": path,
        "query_string": scope.get("query_string"),
        "route": route_of(scope),
    }
    for name, value in scope.get("headers") or ():
        if name.lower() in _REQUEST_ID_HEADERS:
            values["request_id"] = value.decode("latin-1")
            break
    return values


def route_of(scope: Scope) -> str | None:
    """The matched route's path template (``/orders/{order_id}``), else the endpoint's name."""
    template = getattr(scope.get("route"), "path", None)
    if isinstance(template, str) and template:
        return template
    endpoint = scope.get("endpoint")
    if endpoint is None:
        return None
    name = getattr(endpoint, "__qualname__", None) or type(endpoint).__qualname__
    module = getattr(endpoint, "__module__", None)
    return f"{module}.{name}" if module else str(name)


class RequestContextMiddleware:
    """Binds each HTTP request's context and reports the exceptions that escape *app*."""

    def __init__(self, app: ASGIApp, *, logger_name: str = "afissue.asgi") -> None:
        self.app = app
        self.logger = logging.getLogger(logger_name)
        mark_repeats(SERVER_LOGGERS, exception_already_reported)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        started: list[int] = []

        async def send_recording_status(message: Message) -> None:
            if message.get("type") == "http.response.start" and not started:
                status = message.get("status")
                if isinstance(status, int):
                    started.append(status)
                    update(status=status)
            await send(message)

        token = bind(RequestContext({}, scope, read_scope))
        try:
            await self.app(scope, receive, send_recording_status)
        except Exception as error:
            self._report(scope, error, started[0] if started else 500)
            raise
        finally:
            unbind(token)

    def _report(self, scope: Scope, error: Exception, status: int) -> None:
        """Log *error* with its request, once, and mark it for the server's logger."""
        if is_reported(error):  # the app's own log call, or an inner middleware of ours
            return
        update(status=status)
        try:
            self.logger.error(
                "Exception in ASGI application: %s %s",
                scope.get("method"),
                route_of(scope) or scope.get("path"),
                exc_info=error,
            )
        finally:
            claim(error)  # also when no IssueHandler saw the record

