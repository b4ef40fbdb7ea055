"""Request context end to end: a Flask app's failing request, reported through the real
ingest server, Kafka and a consumer, is stored with its request in the Firestore
emulator and shown on the issue's page of the web UI."""

from __future__ import annotations

import logging

from flask import Flask

from afissue_logging import IssueHandler
from afissue_logging.integrations.flask import init_app
from tests.pipeline import Pipeline, service_issues, wait_for


class TestRequestContextEndToEnd:
    def test_flask_request_reaches_firestore_and_the_issue_page(
        self, pipeline: Pipeline
    ) -> None:
        """Method, path, route, scrubbed query and status are stored and shown."""
        app = Flask("shop")
        init_app(app)

        @app.get("/pay/<order_id>")
        def pay(order_id: str) -> str:
            raise RuntimeError(f"payment provider refused order {order_id}")

        handler = IssueHandler(url=pipeline.url, service="shop-e2e", environment="test")
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            response = app.test_client().get(
                "/pay/o-9?lang=fr&token=abc-secret-123", headers={"X-Request-ID": "req-e2e"}
            )
            assert response.status_code == 500
            assert handler.flush(10)
        finally:
            root.removeHandler(handler)
            handler.close()
        issues = wait_for(lambda: service_issues(pipeline, "shop-e2e"), timeout=60)
        assert len(issues) == 1, pipeline.logs()
        assert issues[0]["latest"]["request"] == {
            "method": "GET",
            "path": "/pay/o-9",
            "route": "/pay/<order_id>",
            "query_string": "lang=fr&token=[Filtered]",
            "status": 500,
            "request_id": "req-e2e",
        }
        status, page = pipeline.get(f"/issues/{issues[0]['id']}")
        assert status == 200, page
        section = page[page.index("<h2>Request</h2>"):]
        for text in ("/pay/&lt;order_id&gt;", "/pay/o-9", "lang=fr&amp;token=[Filtered]",
                     "500", "req-e2e"):
            assert text in section, text
        assert "abc-secret-123" not in page
