"""Browser pages served by the ingest service: ``/issues/recent`` (Redis, last hour).

HTML by default (a Jinja template; autoescaped): in the web UI's layout, navigation,
relative times and links to the issue pages when the app serves the UI, else a bare
page. JSON with ``Accept: application/json``:
``{"issues": [{"issue_id", "title", "service", "level", "last_seen", "count"}, ...]}``.
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, Response, current_app, jsonify, render_template, request

from ingest_service.errors import ServiceUnavailable
from ingest_service.state import current_state
from ingest_service.ui.headers import security_headers
from issue_store.present import as_datetime, relative_time

__all__ = ["bp"]

bp = Blueprint("recent", __name__, url_prefix="/issues")
# The same policy as the UI's pages: no script at all, the UI's own stylesheet.
bp.after_request(security_headers)


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _page(**context: Any) -> str:
    if "issues_ui" in current_app.blueprints:
        from ingest_service.ui.views import page_helpers

        return render_template(
            "recent.html", base="afissue_ui/base.html", ui=True, **page_helpers(), **context
        )
    return render_template(
        "recent.html", base="recent_base.html", ui=False, ago=relative_time,
        as_datetime=as_datetime, level_class=lambda level: "other", **context,
    )


@bp.get("/recent")
def recent() -> Response | str | tuple[str, int]:
    """Issues seen in the last hour, most recent first."""
    state = current_state()
    try:
        state.recorder.flush()
        rows = state.recent.list()
    except redis.RedisError as exc:
        state.metrics.redis_errors.labels("recent").inc()
        if _wants_json():
            raise ServiceUnavailable(f"Redis unavailable: {exc}", retry_after=5) from None
        return _page(issues=[], error="Redis is unavailable."), 503
    if _wants_json():
        return jsonify(issues=[row.to_dict() for row in rows])
    return _page(issues=rows, error=None)
