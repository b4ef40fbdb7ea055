"""Local variables end to end: an error logged with ``capture_locals=True`` reaches the
Firestore emulator through the real ingest server, Kafka and a consumer with its frames'
locals, scrubbed, and the issue page shows them under their frame."""

from __future__ import annotations

import logging
from typing import Any

from afissue_logging import IssueHandler
from tests.pipeline import Pipeline, service_issues, wait_for


class Customer:
    """An object whose repr would be a database query."""

    reprs = 0

    def __repr__(self) -> str:
        Customer.reprs += 1
        return "<Customer loaded from the database>"


def charge(order_id: int, lines: list[dict[str, Any]], customer: Customer) -> None:
    api_key = "sk_live_" + "a" * 24  # noqa: F841
    total = sum(line["qty"] for line in lines)  # noqa: F841
    raise ValueError("card declined")


class TestLocalsEndToEnd:
    def test_locals_reach_firestore_and_the_issue_page(self, pipeline: Pipeline) -> None:
        """Plain values copied, the object by type, the secret filtered, shown on the page."""
        handler = IssueHandler(
            url=pipeline.url, service="locals-e2e", environment="test", capture_locals=True
        )
        log = logging.getLogger("locals.e2e")
        log.addHandler(handler)
        try:
            try:
                charge(42, [{"sku": "A-1", "qty": 2}], Customer())
            except ValueError:
                log.exception("payment failed")
            assert handler.flush(10)
        finally:
            log.removeHandler(handler)
            handler.close()
        issues = wait_for(lambda: service_issues(pipeline, "locals-e2e"), timeout=60)
        assert len(issues) == 1, pipeline.logs()
        frames = issues[0]["latest"]["frames"]
        assert frames[-1]["function"] == "charge"
        assert frames[-1]["vars"] == {
            "order_id": "42",
            "lines": "[{'sku': 'A-1', 'qty': 2}]",
            "customer": "<Customer>",
            "api_key": "[Filtered]",
            "total": "2",
        }
        assert Customer.reprs == 0
        status, page = pipeline.get(f"/issues/{issues[0]['id']}")
        assert status == 200, page
        frame = page[page.index('<span class="func">charge</span>'):]
        frame = frame[: frame.index("</li>")]
        for text in ("locals (5)", "order_id", "[{&#39;sku&#39;: &#39;A-1&#39;, &#39;qty&#39;: 2}]",
                     "&lt;Customer&gt;", "[Filtered]"):
            assert text in frame, text
        assert "aaaaaaaaaaaaaaaaaaaaaaaa" not in page
