"""afissue_logging: turn logged errors into deduplicated afissue issues.

Standard library only. Attach :class:`IssueHandler` to stdlib logging, add
:class:`IssueProcessor` to a structlog chain, or call
:meth:`IssueTrackerClient.log_issue` directly; all three feed one background sender
per process that batches, aggregates storms, retries and spools to disk when the
ingest API is down.
"""

from __future__ import annotations

from afissue_logging.client import IssueTrackerClient
from afissue_logging.handler import IssueHandler
from afissue_logging.processor import IssueProcessor
from afissue_logging.settings import ClientSettings

__all__ = ["ClientSettings", "IssueHandler", "IssueProcessor", "IssueTrackerClient"]
