"""Request context for web frameworks: which request an error happened in.

Opt-in, one small module per framework, each importing its framework only when it is
itself imported (this package imports the standard library only):

- ``afissue_logging.integrations.flask.init_app(app)``;
- ``afissue_logging.integrations.django.RequestContextMiddleware`` in ``MIDDLEWARE``;
- ``afissue_logging.integrations.asgi.RequestContextMiddleware`` around an ASGI app
  (FastAPI, Starlette, ...), which also reports the app's unhandled exceptions itself.

Each binds the request for its duration, and every event logged meanwhile carries a
``request`` object: method, path, route, query string (scrubbed), response status when
known, request id and user id when present. For another framework, wrap each request in
:func:`request_context`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from afissue_logging._request_context import RequestContext, bind, unbind, update

__all__ = ["request_context", "set_request_status", "set_request_user"]


@contextlib.contextmanager
def request_context(
    method: str,
    path: str,
    *,
    query_string: str | bytes = "",
    route: str | None = None,
    request_id: str | None = None,
    user_id: str | int | None = None,
) -> Iterator[None]:
    """Events logged inside the ``with`` block carry this request (scrubbed and bounded
    by the background thread, so the block costs a dictionary)."""
    fields: dict[str, Any] = {"method": method, "path": path, "query_string": query_string}
    if route is not None:
        fields["route"] = route
    if request_id is not None:
        fields["request_id"] = request_id
    if user_id is not None:
        fields["user_id"] = user_id
    token = bind(RequestContext(fields))
    try:
        yield
    finally:
        unbind(token)


def set_request_user(user_id: str | int | None) -> None:
    """Record who the current request is for (once an authentication layer knows);
    events logged afterwards in the request carry it. Nothing outside a request."""
    update(user_id=user_id)


def set_request_status(status: int) -> None:
    """Record the current request's response status, for events logged after it is known."""
    update(status=status)
