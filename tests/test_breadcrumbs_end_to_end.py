"""Breadcrumbs end to end: the records a Flask request logged before it failed travel
through the real ingest server, Kafka and a consumer into the Firestore emulator, and
show on the issue's page above the stack trace, scrubbed, without a repr of any object."""

from __future__ import annotations

import logging

from flask import Flask

from afissue_logging import IssueHandler
from afissue_logging.integrations.flask import init_app
from tests.pipeline import Pipeline, service_issues, wait_for


class Cart:
    """A model object whose repr would run a query: it must never be called."""

    reprs = 0

    def __repr__(self) -> str:
        Cart.reprs += 1
        return "<Cart loaded from the database>"

    __str__ = __repr__


class TestBreadcrumbsEndToEnd:
    def test_a_requests_records_reach_firestore_and_the_issue_page(
        self, pipeline: Pipeline
    ) -> None:
        """Only the failing request's records, oldest first, scrubbed, objects by type."""
        app = Flask("shop")
        init_app(app)
        log = logging.getLogger("shop.orders")

        @app.get("/pay/<order_id>")
        def pay(order_id: str) -> str:
            log.info("cart %s loaded: %r", order_id, Cart())
            log.warning("provider login with password=hunter2 took %.1fs", 2.5)
            raise RuntimeError(f"payment provider refused order {order_id}")

        handler = IssueHandler(url=pipeline.url, service="crumbs-e2e", environment="test")
        # The app's logger (Flask's too) only: pytest's capture handler on the root
        # logger formats every record, which would call repr() itself.
        shop = logging.getLogger("shop")
        shop.addHandler(handler)
        shop.setLevel(logging.INFO)
        shop.propagate = False
        Cart.reprs = 0
        try:
            log.info("logged before the request")
            response = app.test_client().get("/pay/o-9")
            assert response.status_code == 500
            assert handler.flush(10)
        finally:
            shop.removeHandler(handler)
            shop.setLevel(logging.NOTSET)
            shop.propagate = True
            handler.close()
        issues = wait_for(lambda: service_issues(pipeline, "crumbs-e2e"), timeout=60)
        assert len(issues) == 1, pipeline.logs()
        crumbs = issues[0]["latest"]["breadcrumbs"]
        assert [(c["level"], c["logger"], c["message"]) for c in crumbs] == [
            ("info", "shop.orders", "cart o-9 loaded: <Cart>"),
            ("warning", "shop.orders", "provider login with password=[Filtered] took 2.5s"),
        ]
        assert all(c["thread"] and c["timestamp"] for c in crumbs)
        assert Cart.reprs == 0
        status, page = pipeline.get(f"/issues/{issues[0]['id']}")
        assert status == 200, page
        section = page[page.index("<h2>Breadcrumbs</h2>"):page.index("<h2>Exception</h2>")]
        for text in ("cart o-9 loaded: &lt;Cart&gt;", "password=[Filtered]", "shop.orders"):
            assert text in section, text
        assert "hunter2" not in page and "logged before the request" not in page
