"""An event's ``request`` field, built on the sender thread from the bound request context.

The web integrations (``afissue_logging.integrations``) bind a
:class:`~afissue_logging._request_context.RequestContext` for each request; the log
call's snapshot carries it in its copy of the ``contextvars`` context. Here it becomes
the wire's :class:`~afissue_logging.wire.RequestDict`: known fields only, strings valid
UTF-8, scrubbed and cut to the wire's bounds. The query string is decoded and the values
of sensitive keys (the scrubber's key rule, as for ``extra``) are replaced by
``[Filtered]`` before the value rules run over the whole of it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from afissue_logging._request_context import REQUEST_CONTEXT
from afissue_logging._safe import text
from afissue_logging.scrub import FILTERED, Scrubber
from afissue_logging.wire import (
    MAX_REQUEST_METHOD_CHARS,
    MAX_REQUEST_PATH_CHARS,
    MAX_REQUEST_QUERY_CHARS,
    MAX_REQUEST_ROUTE_CHARS,
    MAX_REQUEST_TEXT_CHARS,
    RequestDict,
)

__all__ = ["build_request", "request_field", "scrub_query"]

_ELLIPSIS = "…"
_BOUNDS = {
    "method": MAX_REQUEST_METHOD_CHARS,
    "path": MAX_REQUEST_PATH_CHARS,
    "route": MAX_REQUEST_ROUTE_CHARS,
    "query_string": MAX_REQUEST_QUERY_CHARS,
    "request_id": MAX_REQUEST_TEXT_CHARS,
    "user_id": MAX_REQUEST_TEXT_CHARS,
}
# Text longer than this many times its bound is cut before it is parsed and scrubbed,
# which bounds the work; the final cut removes what lies past the bound anyway.
_WORK_FACTOR = 4


def request_field(context: contextvars.Context | None, scrubber: Scrubber) -> RequestDict | None:
    """The ``request`` field for a log call made in *context*; None outside a request."""
    if context is None:
        return None
    bound = context.get(REQUEST_CONTEXT)
    if bound is None:
        return None
    try:
        return build_request(bound.read(), scrubber)
    except Exception:  # noqa: BLE001 - a value that cannot be read costs the request field,
        return None  # never the event


def build_request(values: Mapping[str, Any], scrubber: Scrubber) -> RequestDict | None:
    """*values* (plain values an integration read) as a bounded, scrubbed ``request``."""
    request: dict[str, Any] = {}
    method = values.get("method")
    if method:
        request["method"] = _text(method, MAX_REQUEST_METHOD_CHARS).upper()
    path = values.get("path")
    if path:
        request["path"] = scrubber.text(_text(path, MAX_REQUEST_PATH_CHARS))
    route = values.get("route")
    if route:
        request["route"] = _text(route, MAX_REQUEST_ROUTE_CHARS)
    query = values.get("query_string")
    if query:
        raw = query.decode("latin-1") if isinstance(query, bytes | bytearray) else query
        request["query_string"] = scrub_query(_text(raw, MAX_REQUEST_QUERY_CHARS), scrubber)
    for name in ("request_id", "user_id"):
        value = values.get(name)
        if value is not None:
            request[name] = _text(value, MAX_REQUEST_TEXT_CHARS)
    request = {name: _cut(value, _BOUNDS[name]) for name, value in request.items() if value}
    status = values.get("status")
    if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599:
        request["status"] = status
    return request or None  # type: ignore[return-value]


def scrub_query(query: str, scrubber: Scrubber) -> str:
    """*query* (``a=1&b=2``, percent-encoded) decoded, with the values of sensitive keys
    replaced by ``[Filtered]`` and secret-looking text replaced as in messages."""
    pairs = []
    for pair in query.split("&"):
        name, sep, value = pair.partition("=")
        name = unquote_plus(name, errors="replace")
        if sep and scrubber.enabled and scrubber.is_sensitive_key(name):
            value = FILTERED
        else:
            value = unquote_plus(value, errors="replace")
        pairs.append(f"{name}{sep}{value}")
    return scrubber.text(text("&".join(pairs), _WORK_FACTOR * MAX_REQUEST_QUERY_CHARS))


def _text(value: Any, limit: int) -> str:
    """*value* as valid UTF-8 text, cut well past *limit* (scrubbing sees some context)."""
    return text(value, _WORK_FACTOR * limit)


def _cut(value: str, limit: int) -> str:
    """*value* at most *limit* characters long, ending in "…" when cut."""
    return value if len(value) <= limit else value[: limit - 1] + _ELLIPSIS
