"""The pages: ``/issues`` (list), ``/issues/<id>`` (detail), the status actions and login.

Server-rendered with Jinja (autoescaped: user data is never marked safe), no script.
Every POST carries the session's CSRF token; every page but the login page needs an
operator (or ``AFISSUE_UI_OPEN``).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from google.api_core.exceptions import GoogleAPICallError, RetryError
from google.auth.exceptions import GoogleAuthError
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from afissue_logging.wire import LEVELS, STATUSES
from ingest_service.tokens import TokenStore
from ingest_service.ui import csrf, headers
from ingest_service.ui.auth import Operators
from ingest_service.ui.settings import UISettings
from issue_store import trends
from issue_store.errors import FirestoreUnavailable, IssueNotFound
from issue_store.present import (
    as_datetime,
    occurrence_view,
    pretty_json,
    relative_time,
    release_view,
)
from issue_store.query import MAX_PAGE_SIZE, SORTS, InvalidQuery, IssueQuery
from issue_store.reader import ACTIONS, IssueReader

__all__ = ["UIState", "bp", "init_app", "page_helpers"]

_KEY = "afissue_ui"
bp = Blueprint(
    "issues_ui",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/issues/static",
)


@dataclass
class UIState:
    """What the pages need: settings, the issue reader and the access rule."""

    settings: UISettings
    reader: IssueReader
    operators: Operators


def _state() -> UIState:
    state: UIState = current_app.extensions[_KEY]
    return state


def init_app(app: Flask, settings: UISettings, reader: IssueReader | None = None) -> None:
    """Serve the UI from *app*: blueprint, session cookie rules and security headers.

    The blueprint checks its own CSRF tokens (a 403 page): the service's only CSRF check.
    """
    if reader is None:
        reader = settings.issues.reader()
    tokens = TokenStore(settings.operators_file) if settings.operators_file else None
    app.extensions[_KEY] = UIState(settings, reader, Operators(tokens, settings.open_access))
    if not app.secret_key:
        app.secret_key = settings.secret_key or secrets.token_hex(32)
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if settings.secure_cookies:
        app.config["SESSION_COOKIE_SECURE"] = True
    app.register_blueprint(bp)


def _css_token(value: Any, allowed: tuple[str, ...]) -> str:
    text = str(value or "").lower()
    return text if text in allowed else "other"


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "ago": relative_time,
        "as_datetime": as_datetime,
        "csrf_token": csrf.csrf_token,
        "csrf_field": csrf.FIELD,
        "operator": _state().operators.current(),
        "can_log_in": _state().operators.can_log_in,
        "open_access": _state().operators.open_access,
        "pretty_json": pretty_json,
        "level_class": lambda level: _css_token(level, LEVELS),
        "status_class": lambda status: _css_token(status, STATUSES),
        # trends (issue_store.trends): computed from the stored maps at read time
        "events_24h": lambda issue: trends.events_last_24h(issue, _dt.datetime.now(_dt.UTC)),
        "spark_24h": lambda issue: Markup(trends.sparkline_svg(  # noqa: S704 - built escaped
            trends.hourly_series(issue, _dt.datetime.now(_dt.UTC)))),
    }


def page_helpers() -> dict[str, Any]:
    """What the UI's templates use (login state, times, CSS classes), for a page of
    another blueprint drawn in the UI's layout (``/issues/recent``)."""
    return _helpers()


@bp.before_request
def _guard() -> BaseResponse | None:
    csrf.protect()
    if request.endpoint in ("issues_ui.login", "issues_ui.static"):
        return None
    if _state().operators.current() is None:
        if request.method == "GET":
            return redirect(url_for("issues_ui.login", next=request.full_path.rstrip("?")))
        abort(401, description="Log in as an operator first.")
    return None


@bp.after_request
def _headers(response: BaseResponse) -> BaseResponse:
    return headers.security_headers(response)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    return render_template(
        "afissue_ui/error.html", code=code, name=error.name, message=error.description
    ), code


@bp.errorhandler(GoogleAPICallError)
@bp.errorhandler(RetryError)
@bp.errorhandler(FirestoreUnavailable)
@bp.errorhandler(GoogleAuthError)
def _store_error(error: Exception) -> tuple[str, int]:
    current_app.logger.warning("issue store error: %s", error)
    return render_template(
        "afissue_ui/error.html",
        code=503,
        name="Issue store unavailable",
        message=f"Firestore answered: {error}",
    ), 503


@bp.get("/issues")
def issue_list() -> str | tuple[str, int]:
    state = _state()
    args = request.args.to_dict()
    # events_24h: the most recently seen issues ordered at read time (issue_store.trends)
    busiest = args.get("sort") == trends.BUSIEST_SORT
    if busiest:
        args.update(sort="last_seen", cursor="")
    try:
        query = IssueQuery.from_args(args, MAX_PAGE_SIZE if busiest else state.settings.page_size)
    except InvalidQuery as exc:
        # The list page again, with the text as typed and what is wrong with it.
        return render_template(
            "afissue_ui/list.html", query=None, page=None, error=str(exc),
            typed=request.args.get("q", ""), sorts=(*SORTS, trends.BUSIEST_SORT),
            statuses=STATUSES, current_sort=request.args.get("sort", "last_seen"),
        ), 400
    page = state.reader.find(query)
    if busiest:
        now = _dt.datetime.now(_dt.UTC)
        page = dataclasses.replace(page, issues=trends.busiest_first(page.issues, now),
                                   next_cursor=None)
    next_url = (
        url_for("issues_ui.issue_list", **query.to_args(page.next_cursor))
        if page.next_cursor is not None
        else None
    )
    return render_template(
        "afissue_ui/list.html",
        query=query,
        page=page,
        error=None,
        typed=query.search_text(),
        next_url=next_url,
        first_url=url_for("issues_ui.issue_list", **query.to_args()),
        statuses=STATUSES,
        sorts=(*SORTS, trends.BUSIEST_SORT),
        current_sort=trends.BUSIEST_SORT if busiest else query.sort,
        busiest_cap=MAX_PAGE_SIZE if busiest and len(page.issues) >= MAX_PAGE_SIZE else None,
    )


def _history(issue: dict[str, Any]) -> list[dict[str, Any]]:
    entries = [h for h in issue.get("status_history") or [] if isinstance(h, dict)]
    return [
        {
            "status": str(h.get("status") or ""),
            "at": as_datetime(h.get("at")),
            "by": str(h.get("by") or ""),
            "reason": str(h.get("reason") or ""),
        }
        for h in reversed(entries)
    ]


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


@bp.get("/issues/<issue_id>")
def issue_detail(issue_id: str) -> str:
    state = _state()
    issue = state.reader.get(issue_id)
    if issue is None:
        abort(404, description=f"There is no issue {issue_id!r}.")
    now = _dt.datetime.now(_dt.UTC)
    return render_template(
        "afissue_ui/detail.html",
        issue=issue,
        latest=occurrence_view(issue.get("latest")),
        occurrences=[occurrence_view(o) for o in state.reader.occurrences(issue_id)],
        alerts=state.reader.alerts(issue_id),
        history=_history(issue),
        environments=_strings(issue.get("environments")),
        releases=_strings(issue.get("releases")),
        release_seen=release_view(issue),
        chart_24h=Markup(trends.bar_chart_svg(  # noqa: S704 - built escaped
            trends.hourly_series(issue, now), "Last 24 hours")),
        chart_14d=Markup(trends.bar_chart_svg(  # noqa: S704 - built escaped
            trends.daily_series(issue, now), "Last 14 days")),
        actions=[a for a, status in ACTIONS.items() if status != issue.get("status")],
    )


@bp.post("/issues/<issue_id>/<any(resolve, ignore, reopen):action>")
def issue_action(issue_id: str, action: str) -> BaseResponse:
    state = _state()
    operator = state.operators.current() or ""
    try:
        outcome = state.reader.set_status(issue_id, ACTIONS[action], operator, f"{action} (web UI)")
    except IssueNotFound:
        abort(404, description=f"There is no issue {issue_id!r}.")
    status = outcome.issue.get("status")
    flash(f"Issue {status}." if outcome.changed else f"The issue was already {status}.")
    return redirect(url_for("issues_ui.issue_detail", issue_id=issue_id), code=303)


def _local_target(target: str | None) -> str:
    """*target* if it is a path on this site (never another host), else the list."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return url_for("issues_ui.issue_list")


@bp.route("/issues/login", methods=["GET", "POST"])
def login() -> BaseResponse | tuple[str, int]:
    operators = _state().operators
    target = _local_target(request.values.get("next"))
    error = None
    if request.method == "POST":
        operator = operators.log_in(request.form.get("token", "").strip())
        if operator is not None:
            csrf.rotate()
            flash(f"Logged in as {operator}.")
            return redirect(target, code=303)
        error = "That token does not belong to an operator."
    elif operators.current() is not None:
        return redirect(target)
    html = render_template("afissue_ui/login.html", error=error, next=target)
    return html, 401 if error else 200


@bp.post("/issues/logout")
def logout() -> BaseResponse:
    Operators.log_out()
    return redirect(url_for("issues_ui.login"), code=303)
