"""Where the issue documents are and how the reader reads them: one frozen object.

The Firestore location is the consumer's (``AFISSUE_FIRESTORE_PROJECT``,
``AFISSUE_FIRESTORE_COLLECTION``, ``FIRESTORE_EMULATOR_HOST``, declared once in
``afissue_logging.server_env``), so the web UI and ``afissue issues`` read exactly the
documents the consumer writes. The CLI builds this object alone, without the web UI's
settings, so listing issues never imports the ingest service.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from afissue_logging import config, server_env
from afissue_logging.config import setting

if TYPE_CHECKING:
    from issue_store.reader import IssueReader

__all__ = ["ReaderSettings"]

_READERS = "Web UI and `afissue issues`."


@dataclasses.dataclass(frozen=True)
class ReaderSettings:
    """The Firestore location of the issues, and the bounds of the reader's work."""

    firestore_project: str = server_env.FIRESTORE_PROJECT.field(_READERS)
    firestore_collection: str = server_env.FIRESTORE_COLLECTION.field(_READERS)
    firestore_emulator_host: str | None = server_env.FIRESTORE_EMULATOR_HOST.field(_READERS)
    alerts_collection: str = server_env.ALERTS_COLLECTION.field(
        "Web UI (an issue's alerts) and `afissue alerts list`."
    )
    search_scan_limit: int = setting(
        1000,
        "AFISSUE_UI_SEARCH_SCAN",
        "Most candidate issue documents one page of a search reads before offering the next page, "
        "when Firestore cannot check every condition (several words, or several array filters).",
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
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> ReaderSettings:
        """Build the settings from *environ*; keyword *overrides* that are not None win."""
        return config.from_env(cls, environ, **overrides)

    def reader(self) -> IssueReader:
        """An :class:`~issue_store.reader.IssueReader` of these issues; its Firestore
        client is made on first use (``LazyFirestore``)."""
        from issue_store.client import LazyFirestore
        from issue_store.reader import IssueReader

        return IssueReader(
            LazyFirestore(self.firestore_project, self.firestore_emulator_host),
            self.firestore_collection,
            search_scan_limit=self.search_scan_limit,
            history_limit=self.history_limit,
            timeout_s=self.firestore_timeout_s,
            alerts_collection=self.alerts_collection,
        )
