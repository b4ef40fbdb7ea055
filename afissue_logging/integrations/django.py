"""Django: request context for the errors a Django site logs.

::

    MIDDLEWARE = [
        "afissue_logging.integrations.django.RequestContextMiddleware",
        ...
    ]

Put it first, so errors logged by the other middleware carry the request too. For each
request it binds the ``HttpRequest``; the background thread reads method, path, query
string, the ``X-Request-ID`` header and the user's primary key from it when it builds an
event (the user only when something in the request already loaded ``request.user``:
the integration never queries the database). The route (``orders/<int:pk>/``, else the
view's dotted path) is recorded when the URL resolves, the status 500 when a view raises.

Django reports an unhandled exception once, on ``django.request`` (``Internal Server
Error: /path``, with the traceback): that record becomes the issue, titled by the
exception. A 5xx response a view *returns* is the application's decision: Django still
logs ``Service Unavailable: /path`` on ``django.request`` (and the development server
``"GET /path" 503`` on ``django.server``), without an exception. Those records are marked
as already reported: the console still shows them, but they do not become a second
issue beside the error the application logged itself before answering. A view that
answers 5xx without logging anything reports nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponseBase

from afissue_logging._request_context import RequestContext, bind, unbind, update
from afissue_logging.integrations._reported import mark_repeats, response_without_exception

__all__ = ["RESPONSE_LOGGERS", "RequestContextMiddleware", "read_request"]

#: Where Django logs responses: errors without an exception there repeat the app's own.
RESPONSE_LOGGERS = ("django.request", "django.server")

#: The next layer: returns a response, or (in an async chain) an awaitable of one.
GetResponse = Callable[[HttpRequest], Any]


def read_request(request: HttpRequest) -> dict[str, Any]:
    """Plain values of a Django request (run on the sender thread: attribute reads only;
    ``request.user`` only when already loaded, never evaluated here)."""
    meta = request.META
    values: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "query_string": meta.get("QUERY_STRING"),
        "request_id": meta.get("HTTP_X_REQUEST_ID") or meta.get("HTTP_X_CORRELATION_ID"),
    }
    lazy_user = request.__dict__.get("user")
    user = lazy_user.__dict__.get("_wrapped", lazy_user) if lazy_user is not None else None
    if user is not None and getattr(user, "is_authenticated", False) is True:
        values["user_id"] = getattr(user, "pk", None)
    return values


def _route(request: HttpRequest, view: Callable[..., Any]) -> str | None:
    match = request.resolver_match
    if match is not None and match.route:
        return str(match.route)
    if match is not None and match._func_path:
        return str(match._func_path)
    return getattr(view, "__qualname__", None)


def _failed(sender: Any, request: HttpRequest | None = None, **extra: Any) -> None:
    update(status=500)


class RequestContextMiddleware:
    """Binds each request for the errors logged while Django serves it (sync and async)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        got_request_exception.connect(_failed, dispatch_uid="afissue_logging.request_failed")
        mark_repeats(RESPONSE_LOGGERS, response_without_exception)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        token = bind(RequestContext({}, request, read_request))
        try:
            return self.get_response(request)
        finally:
            unbind(token)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        token = bind(RequestContext({}, request, read_request))
        try:
            response: HttpResponseBase = await self.get_response(request)
            return response
        finally:
            unbind(token)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> None:
        """Record the route the URL resolved to."""
        route = _route(request, view)
        if route:
            update(route=route)
