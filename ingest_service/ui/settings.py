"""The web UI's settings: one frozen object built from the environment.

Where the issues are, and how they are read, is the issue store's
(:class:`issue_store.settings.ReaderSettings`, also read by ``afissue issues``): the UI
holds it as ``issues`` and adds who may change issues and how pages are cut.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from afissue_logging import config, server_env
from afissue_logging.config import setting
from issue_store.settings import ReaderSettings

__all__ = ["UISettings"]


@dataclasses.dataclass(frozen=True)
class UISettings:
    """Where the issues are (``issues``), who may change them, and how pages are cut."""

    issues: ReaderSettings = dataclasses.field(default_factory=ReaderSettings)
    operators_file: str | None = setting(
        None,
        "AFISSUE_UI_OPERATORS_FILE",
        "File of `operator sha256-hex-of-token` lines (the tokens-file format, made with "
        "`afissue token new NAME`); operators log in to the web UI with their token.",
    )
    open_access: bool = setting(
        False,
        "AFISSUE_UI_OPEN",
        "Serve the web UI and its actions without login (actions recorded as `anonymous`); "
        "for local use only.",
    )
    secret_key: str | None = server_env.SECRET_KEY.field("Web UI: signs its session cookie.")
    secure_cookies: bool = setting(
        False,
        "AFISSUE_UI_SECURE_COOKIES",
        "Mark the UI's session cookie Secure (send it over HTTPS only).",
    )
    page_size: int = setting(50, "AFISSUE_UI_PAGE_SIZE", "Issues per page of `/issues`.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> UISettings:
        """Build the settings from *environ*; keyword *overrides* that are not None win,
        those of :class:`ReaderSettings` fields (``firestore_project``, ...) included."""
        names = {field.name for field in dataclasses.fields(ReaderSettings)}
        issues = ReaderSettings.from_env(
            environ, **{k: v for k, v in overrides.items() if k in names}
        )
        own = {k: v for k, v in overrides.items() if k not in names}
        return config.from_env(cls, environ, **{"issues": issues, **own})
