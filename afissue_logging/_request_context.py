"""The request an application thread is serving, as the web integrations bind it.

An integration binds one :class:`RequestContext` in a ``contextvars.ContextVar`` for the
duration of a request. It holds plain values set on the request's thread (``fields``)
and, optionally, a framework object (``source``) with a function that reads more from it
(``reader``): the route a router adds later, the user an authentication layer loads. The
caller's thread only stores references: a log call already snapshots the ``contextvars``
context (``_snapshot``), and the sender thread reads, bounds and scrubs (``_request``).

A value is never changed in place: :func:`update` binds a copy, so a snapshot taken
before a change (the response status, say) keeps the request as it was at the log call.

A request starts and ends with an empty breadcrumb trail (:mod:`._breadcrumbs`): a worker
thread serving one request after another never shows one request's records on another's
events.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping
from typing import Any

from afissue_logging import _breadcrumbs

__all__ = ["REQUEST_CONTEXT", "Reader", "RequestContext", "bind", "unbind", "update"]

#: Reads plain values (``method``, ``path``, ``route``, ...) from a framework object on
#: the sender thread: attribute and dict reads only, no I/O, no framework calls.
Reader = Callable[[Any], Mapping[str, Any]]


class RequestContext:
    """One request: plain *fields*, plus what *reader* finds in *source* when read."""

    __slots__ = ("fields", "reader", "source")

    def __init__(
        self, fields: Mapping[str, Any], source: Any = None, reader: Reader | None = None
    ) -> None:
        self.fields = fields
        self.source = source
        self.reader = reader

    def replace(self, **changes: Any) -> RequestContext:
        """A copy with *changes* added to its fields."""
        return RequestContext({**self.fields, **changes}, self.source, self.reader)

    def read(self) -> dict[str, Any]:
        """What the reader finds in the source, overridden by the fields set explicitly.

        A reader that fails leaves the fields alone: a request context never costs an event.
        """
        values: dict[str, Any] = {}
        if self.reader is not None:
            try:
                values.update(self.reader(self.source))
            except Exception:  # noqa: BLE001 - a framework object in an unexpected state
                values.clear()
        values.update(self.fields)
        return values


REQUEST_CONTEXT: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "afissue_request", default=None
)


def bind(context: RequestContext) -> contextvars.Token[RequestContext | None]:
    """Make *context* the current request, with an empty breadcrumb trail; pass the
    token to :func:`unbind` at its end."""
    _breadcrumbs.clear()
    return REQUEST_CONTEXT.set(context)


def unbind(token: contextvars.Token[RequestContext | None] | None) -> None:
    """End the request bound with *token* (from another context: end whatever is bound),
    and its breadcrumb trail."""
    if token is None:
        return
    _breadcrumbs.clear()
    try:
        REQUEST_CONTEXT.reset(token)
    except (ValueError, RuntimeError):  # made in another context, or already used
        REQUEST_CONTEXT.set(None)


def update(**changes: Any) -> None:
    """Bind a copy of the current request with *changes*; nothing without a request."""
    current = REQUEST_CONTEXT.get()
    if current is not None:
        REQUEST_CONTEXT.set(current.replace(**changes))
