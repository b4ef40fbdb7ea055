"""The triage web UI served by the ingest service.

``init_app(app, UISettings.from_env(os.environ))`` adds ``/issues`` and
``/issues/<issue_id>`` (with resolve / ignore / reopen) to a Flask app. The pages read
and change issues through ``issue_store`` (``IssueReader``, ``IssueQuery``), as
``afissue issues`` does, so the CLI and the pages read and write issues the same way.
"""

from __future__ import annotations

from ingest_service.ui.settings import UISettings
from ingest_service.ui.views import bp, init_app

__all__ = ["UISettings", "bp", "init_app"]
