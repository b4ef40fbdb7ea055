"""The web UI's and ``afissue issues``' settings: one frozen object built from the environment.

The Firestore names are the consumer's (``AFISSUE_FIRESTORE_PROJECT``,
``AFISSUE_FIRESTORE_COLLECTION``, ``FIRESTORE_EMULATOR_HOST``), so the UI and the CLI
read exactly the documents the consumer writes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from afissue_logging import config, server_env
from afissue_logging.config import setting

__all__ = ["UISettings"]


@dataclasses.dataclass(frozen=True)
class UISettings:
    """Where the issues are, who may change them, and how pages are cut."""

    firestore_project: str = server_env.FIRESTORE_PROJECT.field("Web UI and `afissue issues`.")
    firestore_collection: str = server_env.FIRESTORE_COLLECTION.field(
        "Web UI and `afissue issues`."
    )
    firestore_emulator_host: str | None = server_env.FIRESTORE_EMULATOR_HOST.field(
        "Web UI and `afissue issues`."
    )
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
    search_scan_limit: int = setting(
        1000,
        "AFISSUE_UI_SEARCH_SCAN",
        "Most issue documents one page of a title search reads before offering the next page.",
    )
    history_limit: int = setting(
        100,
        "AFISSUE_UI_HISTORY_LIMIT",
        "Most `status_history` entries kept on an issue when its status is changed.",
    )

    firestore_timeout_s: float = setting(
        10.0,
        "AFISSUE_UI_FIRESTORE_TIMEOUT",
        "Seconds a Firestore read of the UI or CLI may take, retries included, before an error.",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> UISettings:
        """Build the settings from *environ*; keyword *overrides* that are not None win."""
        return config.from_env(cls, environ, **overrides)
