"""integrations: the framework-free API, and no framework imported before it is asked for."""

from __future__ import annotations

import logging
import subprocess
import sys

from afissue_logging.integrations import request_context, set_request_status, set_request_user
from tests.afissue_logging.integrations.conftest import Reported

log = logging.getLogger("tests.plain_server")


class TestRequestContext:
    def test_events_inside_the_block_carry_the_request(self, reported: Reported) -> None:
        """A hand-written middleware binds a request; status and user can follow later."""
        with request_context("post", "/jobs/4", query_string="dry=1&password=x", route="/jobs/{id}"):
            log.error("job queue full")
            set_request_user(12)
            set_request_status(503)
            log.error("job rejected")
        log.error("between requests")
        first, second, third = reported.events()
        assert first["request"] == {
            "method": "POST", "path": "/jobs/4", "route": "/jobs/{id}",
            "query_string": "dry=1&password=[Filtered]",
        }
        assert second["request"] == {**first["request"], "user_id": "12", "status": 503}
        assert "request" not in third

    def test_setters_outside_a_request_do_nothing(self, reported: Reported) -> None:
        """Without a bound request, the setters leave events without a request."""
        set_request_user("u-1")
        set_request_status(500)
        log.error("no request here")
        (event,) = reported.events()
        assert "request" not in event


class TestImports:
    def test_integrations_import_no_framework_until_asked(self) -> None:
        """The package and its ASGI module use the standard library only; the client
        package does not import the integrations at all."""
        code = (
            "import sys\n"
            "import afissue_logging\n"
            "assert 'afissue_logging.integrations' not in sys.modules\n"
            "import afissue_logging.integrations, afissue_logging.integrations.asgi\n"
            "bad = [m for m in ('flask', 'django', 'starlette', 'fastapi', 'asgiref', 'uvicorn')"
            " if m in sys.modules]\n"
            "print(','.join(bad))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        assert out.stdout.strip() == ""
