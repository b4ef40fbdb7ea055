"""The ingest API: ``POST /api/v1/issues`` → validated, authenticated, rate-limited
events on Kafka (202 once Kafka confirmed), plus health, metrics and ``/issues/recent``.

Public face: :func:`create_app` (the Flask app factory), :func:`serve` (gunicorn in the
foreground, for ``afissue ingest`` / ``afissue dev``), :class:`IngestSettings`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask

from ingest_service import (
    api,
    errorhandlers,
    health,
    metrics,
    recent_page,
    sessions,
    state,
)
from ingest_service.errors import IngestConfigError, IngestError
from ingest_service.settings import IngestSettings

if TYPE_CHECKING:
    from ingest_service.ui.settings import UISettings

__all__ = ["IngestConfigError", "IngestError", "IngestSettings", "create_app", "serve"]


def create_app(
    test_config: Mapping[str, Any] | None = None,
    *,
    settings: IngestSettings | None = None,
    ui_settings: UISettings | None = None,
) -> Flask:
    """Build the ingest app. Without *settings*, they (and the web UI's) come from
    ``os.environ``; with *settings* only, the app serves the API without the web UI
    (``/issues``), which *ui_settings* adds."""
    if settings is None:
        from ingest_service.ui.settings import UISettings

        settings = IngestSettings.from_env(os.environ)
        ui_settings = ui_settings or UISettings.from_env(os.environ)
    app = Flask(__name__)
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key or secrets.token_hex(32),
        JSON_SORT_KEYS=False,
        AFISSUE_SETTINGS=settings,
    )
    if test_config is not None:
        app.config.from_mapping(test_config)
    app.json.sort_keys = False  # type: ignore[attr-defined]

    app_metrics = metrics.IngestMetrics()
    state.init_app(app, state.IngestState.build(settings, app_metrics))
    errorhandlers.init_app(app)
    sessions.init_app(app)
    metrics.init_app(app, app_metrics)
    # No app-wide CSRF hook: the API is bearer-token authenticated, and the UI's forms,
    # the only browser forms, carry their own token (ingest_service.ui.csrf).
    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(recent_page.bp)
    if ui_settings is not None:
        from ingest_service import ui

        ui.init_app(app, ui_settings)
    return app


def serve(settings: IngestSettings, ui_settings: UISettings | None = None) -> None:
    """Serve the app (API and web UI) with gunicorn in the foreground until SIGTERM/SIGINT.

    The web UI's settings come from ``os.environ`` unless given: this is a process entry
    point, like the CLI that calls it."""
    from ingest_service.server import serve as _serve
    from ingest_service.ui.settings import UISettings

    _serve(settings, ui_settings or UISettings.from_env(os.environ))
