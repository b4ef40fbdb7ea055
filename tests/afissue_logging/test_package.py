"""The package's public face: __all__, and no server dependency imported."""

from __future__ import annotations

import subprocess
import sys

import afissue_logging


class TestPackage:
    def test_public_names(self) -> None:
        """The fixed public API names are exported."""
        assert {"IssueHandler", "IssueProcessor", "IssueTrackerClient"} <= set(
            afissue_logging.__all__
        )
        for name in afissue_logging.__all__:
            assert hasattr(afissue_logging, name)

    def test_import_pulls_in_no_server_dependency(self) -> None:
        """Importing the client (and using it) imports neither Flask, Kafka, Redis nor Firebase."""
        code = (
            "import sys, logging, afissue_logging\n"
            "h = afissue_logging.IssueHandler(spool_dir='/tmp/afissue-import-test')\n"
            "bad = [m for m in ('flask', 'confluent_kafka', 'redis', 'firebase_admin', "
            "'structlog') if m in sys.modules]\n"
            "print(','.join(bad))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        assert out.stdout.strip() == ""
