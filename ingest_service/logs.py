"""Structured logs: one JSON object per line, for the server process (``serve()``).

Fields: ``ts``, ``level``, ``logger``, ``msg`` and whatever the call passed in ``extra``.
Request bodies and tokens are never logged; values of keys that look secret are masked
anyway, in case a future call passes one.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

__all__ = ["JsonFormatter", "configure_logging"]

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
_SECRET_KEY = re.compile(r"(?i)pass|secret|token|authorization|cookie|api[_-]?key|session")


class JsonFormatter(logging.Formatter):
    """Formats records as JSON lines with their ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key in _STANDARD or key.startswith("_"):
                continue
            entry[key] = "[scrubbed]" if _SECRET_KEY.search(key) else value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str) -> None:
    """Send the ``ingest_service`` loggers to stderr as JSON lines at *level*."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("ingest_service")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
