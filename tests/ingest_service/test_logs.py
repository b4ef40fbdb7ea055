"""Structured logs of the server process."""

from __future__ import annotations

import json
import logging

from ingest_service.logs import JsonFormatter


class TestJsonFormatter:
    """One JSON object per record."""

    def test_extra_fields_are_kept_and_secret_looking_keys_masked(self) -> None:
        """Extra fields appear as keys; a key such as 'token' is scrubbed."""
        record = logging.makeLogRecord(
            {"name": "ingest_service.api", "levelno": logging.WARNING, "levelname": "WARNING",
             "msg": "publish failed", "events": 3, "token": "afi_secret"}
        )

        entry = json.loads(JsonFormatter().format(record))

        assert entry["msg"] == "publish failed"
        assert entry["level"] == "warning"
        assert entry["events"] == 3
        assert entry["token"] == "[scrubbed]"
        assert "afi_secret" not in json.dumps(entry)
