"""Flask: request context for the errors a Flask app logs.

::

    app = Flask(__name__)
    init_app(app)

For each request the app binds its ``Request`` object; the background thread reads
method, path, query string, route (the URL rule, ``/pay/<order_id>``, else the
endpoint) and the ``X-Request-ID`` header from it when it builds an event. The response
status is recorded once known: 500 as soon as a view raises (Flask's own ``Exception on
/path [GET]`` record then carries it), else the response's status after the view.

Flask reports an unhandled exception once, on ``app.logger``, so nothing is marked as a
repeat here. For the user, call :func:`afissue_logging.integrations.set_request_user`
where your login layer knows it (``flask_login.user_loaded_from_request``, a
``before_request`` hook).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response, g, got_request_exception, request

from afissue_logging._request_context import RequestContext, bind, unbind, update

__all__ = ["init_app", "read_request"]

_BINDING = "_afissue_request_binding"  # where g keeps the contextvars token


def read_request(req: Request) -> dict[str, Any]:
    """Plain values of a Flask request (run on the sender thread: attribute reads only)."""
    rule = req.url_rule
    return {
        "method": req.method,
        "path": req.root_path + req.path,
        "query_string": req.query_string,
        "route": rule.rule if rule is not None else req.endpoint,
        "request_id": req.environ.get("HTTP_X_REQUEST_ID")
        or req.environ.get("HTTP_X_CORRELATION_ID"),
    }


def init_app(app: Flask) -> None:
    """Bind each request of *app* for the errors logged while it is served."""
    app.before_request_funcs.setdefault(None, []).insert(0, _bind)  # before any that answers
    app.after_request(_record_status)
    app.teardown_request(_unbind)
    got_request_exception.connect(_failed, app, weak=False)


def _bind() -> None:
    current: Request = request._get_current_object()  # type: ignore[attr-defined]
    setattr(g, _BINDING, bind(RequestContext({}, current, read_request)))


def _record_status(response: Response) -> Response:
    update(status=response.status_code)
    return response


def _failed(sender: Flask, exception: BaseException, **extra: Any) -> None:
    update(status=500)


def _unbind(error: BaseException | None) -> None:
    unbind(g.pop(_BINDING, None))
