"""integrations.flask: a real Flask app's errors carry the request they happened in."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from afissue_logging.integrations import set_request_user
from afissue_logging.integrations.flask import init_app
from afissue_logging.scrub import FILTERED
from tests.afissue_logging.integrations.conftest import Reported

log = logging.getLogger("tests.flask_app")


@pytest.fixture
def app() -> Flask:
    """A Flask app with the integration: a failing view, a view that logs, a login hook."""
    app = Flask(__name__)
    init_app(app)

    @app.before_request
    def load_user() -> None:
        set_request_user("u-17")

    @app.get("/pay/<order_id>")
    def pay(order_id: str) -> str:
        raise RuntimeError(f"payment provider refused order {order_id}")

    @app.post("/refund/<int:refund_id>")
    def refund(refund_id: int) -> tuple[str, int]:
        log.error("refund %s is stuck", refund_id)
        return "queued", 202

    return app


class TestFlaskIntegration:
    def test_unhandled_exception_carries_its_request(self, app: Flask, reported: Reported) -> None:
        """Flask's own report of a failing view has method, path, rule, scrubbed query, 500."""
        response = app.test_client().get(
            "/pay/o-77?page=2&token=s3cret-value", headers={"X-Request-ID": "req-5"}
        )
        assert response.status_code == 500
        (event,) = reported.events()
        assert event["title"] == "RuntimeError: payment provider refused order o-77"
        assert event["request"] == {
            "method": "GET",
            "path": "/pay/o-77",
            "route": "/pay/<order_id>",
            "query_string": f"page=2&token={FILTERED}",
            "status": 500,
            "request_id": "req-5",
            "user_id": "u-17",
        }
        assert "s3cret-value" not in str(event)

    def test_error_logged_in_a_view_has_no_status_yet(self, app: Flask, reported: Reported) -> None:
        """An error logged before the response exists carries the request without a status."""
        assert app.test_client().post("/refund/9").status_code == 202
        (event,) = reported.events()
        assert event["message"] == "refund 9 is stuck"
        assert event["request"] == {
            "method": "POST", "path": "/refund/9", "route": "/refund/<int:refund_id>",
            "user_id": "u-17",
        }

    def test_nothing_is_bound_after_the_request(self, app: Flask, reported: Reported) -> None:
        """An error logged after the request is over carries no request."""
        app.test_client().post("/refund/1")
        log.error("after the request")
        events = reported.events()
        assert [e["message"] for e in events] == ["refund 1 is stuck", "after the request"]
        assert "request" not in events[1]

    def test_unknown_url_is_not_reported(self, app: Flask, reported: Reported) -> None:
        """A 404 is an answer, not an error: nothing reported, nothing left bound."""
        assert app.test_client().get("/nowhere").status_code == 404
        assert reported.events() == []
