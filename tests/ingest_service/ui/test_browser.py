"""The UI in a real headless Chromium (Debian's package), served by werkzeug in a thread.

Loads each page, filters, resolves, tries XSS payloads and a form without its CSRF token,
and takes screenshots: into ``docs/screenshots/`` with ``AFISSUE_UPDATE_SCREENSHOTS=1``,
otherwise into the test's temporary directory (so a test run leaves the tree clean).
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from ingest_service.ui import UISettings
from issue_store.reader import IssueReader
from tests.ingest_service.ui.conftest import OPERATOR_TOKEN, build_app
from tests.ingest_service.ui.demo_data import put_demo_issues
from tests.issue_store import seed

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where this run's screenshots go."""
    if os.environ.get("AFISSUE_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def base_url(ui_settings: UISettings) -> Iterator[str]:
    """The UI served over HTTP on a free port."""
    app = build_app(dataclasses.replace(ui_settings, page_size=20))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def page(browser: Any, base_url: str) -> Iterator[Any]:
    """A fresh browser page, logged in as operator ``alice``."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.goto(f"{base_url}/issues")
    tab.fill("input[name=token]", OPERATOR_TOKEN)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{base_url}/issues")
    yield tab
    context.close()


class TestPages:
    def test_login_page(self, browser: Any, base_url: str) -> None:
        """Unauthenticated, the list sends the browser to the login form; a bad token is refused."""
        context = browser.new_context()
        tab = context.new_page()
        tab.goto(f"{base_url}/issues")
        assert tab.locator("h1").inner_text() == "Operator login"
        tab.fill("input[name=token]", "wrong")
        tab.click("button[type=submit]")
        assert "does not belong to an operator" in tab.locator(".error").inner_text()
        context.close()

    def test_list_page_and_screenshots(
        self, page: Any, base_url: str, db: Any, screenshots: Path
    ) -> None:
        """The list shows the open issues with counts and relative times (laptop and phone)."""
        put_demo_issues(db)
        page.goto(f"{base_url}/issues")
        rows = page.locator("table.issues tbody tr")
        assert rows.count() == 6
        assert "1284" in rows.first.inner_text()
        assert "ago" in rows.first.inner_text()
        page.screenshot(path=str(screenshots / "issues-list.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base_url}/issues")
        page.screenshot(path=str(screenshots / "issues-list-phone.png"), full_page=False)
        assert (screenshots / "issues-list-phone.png").stat().st_size > 0

    def test_filter_by_service(self, page: Any, base_url: str, db: Any) -> None:
        """Typing ``service:`` into the search box and choosing a sort narrows the list."""
        put_demo_issues(db)
        page.goto(f"{base_url}/issues")
        assert page.input_value("input[name=q]") == "is:open"
        page.fill("input[name=q]", "is:open service:pricing")
        page.select_option("select[name=sort]", "count")
        page.click("form.filters button[type=submit]")
        page.wait_for_url(lambda url: "service" in url and "sort=count" in url)
        titles = page.locator("td.title a").all_inner_texts()
        assert titles == [
            "KeyError: 'price'",
            "ValueError: could not convert string to float: 'N/A'",
        ]

    def test_search_words_and_filters_and_screenshot(
        self, page: Any, base_url: str, db: Any, screenshots: Path
    ) -> None:
        """Words and filters typed in the search box find the issue, and the box shows
        the search as it was run."""
        put_demo_issues(db)
        page.goto(f"{base_url}/issues")
        page.fill("input[name=q]", "level:error key price")
        page.press("input[name=q]", "Enter")
        page.wait_for_url(lambda url: "price" in url)
        assert page.locator("td.title a").all_inner_texts() == ["KeyError: 'price'"]
        # the box shows the search as run: without is: a typed search covers every status
        assert page.input_value("input[name=q]") == "is:all level:error key price"
        page.screenshot(path=str(screenshots / "issues-search.png"), full_page=True)

    def test_a_bad_search_is_explained(
        self, page: Any, base_url: str, db: Any, screenshots: Path
    ) -> None:
        """An unknown filter re-shows the page with the text and a message naming it."""
        put_demo_issues(db)
        page.goto(f"{base_url}/issues")
        page.fill("input[name=q]", "servce:pricing")
        with page.expect_response(lambda r: "/issues?" in r.url) as answer:
            page.press("input[name=q]", "Enter")
        assert answer.value.status == 400
        assert "servce: is not a filter" in page.locator("#search-error").inner_text()
        assert page.input_value("input[name=q]") == "servce:pricing"
        assert page.locator("input[name=q]").get_attribute("aria-invalid") == "true"
        page.screenshot(path=str(screenshots / "issues-search-error.png"), full_page=False)

    def test_detail_page_and_screenshot(
        self, page: Any, base_url: str, db: Any, screenshots: Path
    ) -> None:
        """The detail page shows the breadcrumbs, the chain, highlighted in-app frames, extra
        and history."""
        issue_id = put_demo_issues(db)
        page.goto(f"{base_url}/issues/{issue_id}")
        assert page.locator("h1").inner_text() == "ZeroDivisionError: division by zero"
        assert page.locator(".exception").count() == 2
        assert page.locator(".frame.in-app").count() == 3
        assert "During handling of the above exception" in page.locator(".relation").inner_text()
        assert '"symbol": "EURUSD"' in page.locator("pre.json").inner_text()
        assert page.locator(".history li").count() == 3
        assert page.locator(".breadcrumbs .crumb").count() == 5
        assert "latency_ms=412" in page.locator(".breadcrumbs").inner_text()
        page.screenshot(path=str(screenshots / "issue-detail.png"), full_page=True)

    def test_trend_charts_and_screenshots(
        self, page: Any, base_url: str, db: Any, screenshots: Path
    ) -> None:
        """The list's sparklines and 24-hour counts, its sort by them, and the detail's two
        bar charts render in Chromium under the CSP (no script, no violation), with a
        tooltip per bar."""
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security" in m.text else None)
        issue_id = put_demo_issues(db)
        page.goto(f"{base_url}/issues")
        first = page.locator("table.issues tbody tr").first
        assert first.locator("svg.spark").is_visible()
        assert first.locator(".events-24h").inner_text() == "831"
        page.select_option("select[name=sort]", "events_24h")
        page.click("form.filters button[type=submit]")
        page.wait_for_url("**/issues?**sort=events_24h**")
        counts = [int(t) for t in page.locator(".events-24h").all_inner_texts()]
        assert counts == sorted(counts, reverse=True) and counts[0] == 831
        page.screenshot(path=str(screenshots / "issues-list-trends.png"), full_page=True)
        page.goto(f"{base_url}/issues/{issue_id}")
        for chart, bars in (("#trend-24h", 24), ("#trend-14d", 14)):
            svg = page.locator(f"{chart} svg.chart")
            assert svg.is_visible()
            assert svg.locator("rect.bar").count() == bars
            box = svg.bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 80
        tallest = page.locator("#trend-24h rect.bar").nth(23)
        assert tallest.bounding_box()["height"] > 50
        assert tallest.locator("title").text_content().endswith(": 215 events")
        assert page.locator("#first-release").inner_text() == "2026.11.2"
        assert page.locator("#last-release").inner_text() == "2026.11.3"
        page.locator("#trends").screenshot(path=str(screenshots / "issue-trends.png"))
        assert violations == []

    def test_missing_issue_page(self, page: Any, base_url: str) -> None:
        """An unknown id shows the 404 page."""
        response = page.goto(f"{base_url}/issues/does-not-exist")
        assert response.status == 404
        assert "404" in page.locator("h1").inner_text()


class TestActions:
    def test_resolve_changes_status(
        self, page: Any, base_url: str, db: Any, reader: IssueReader
    ) -> None:
        """Clicking Resolve shows the issue resolved, offers Reopen, and records alice."""
        seed.put(db, "issues", seed.issue("a"))
        page.goto(f"{base_url}/issues/a")
        assert page.locator("#issue-status").inner_text() == "open"
        page.click("button.action-resolve")
        page.wait_for_selector(".flash")
        assert page.locator("#issue-status").inner_text() == "resolved"
        assert page.locator("button.action-reopen").count() == 1
        issue = reader.get("a")
        assert issue is not None and issue["status_history"][-1]["by"] == "alice"
        page.click("button.action-reopen")
        page.wait_for_selector(".status-open#issue-status")

    def test_form_without_csrf_token_is_refused(
        self, page: Any, base_url: str, db: Any, reader: IssueReader
    ) -> None:
        """A resolve form stripped of its token is answered 403 and changes nothing."""
        seed.put(db, "issues", seed.issue("a"))
        page.goto(f"{base_url}/issues/a")
        page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
        with page.expect_response(f"{base_url}/issues/a/resolve") as answer:
            page.click("button.action-resolve")
        assert answer.value.status == 403
        assert "CSRF" in page.locator(".error-page").inner_text()
        issue = reader.get("a")
        assert issue is not None and issue["status"] == "open"


class TestXss:
    def test_payloads_render_as_text(self, page: Any, base_url: str, db: Any) -> None:
        """Payloads in the title, message, a frame, tags and extra show as text, run nothing."""
        latest = seed.occurrence(
            f"message {XSS}",
            frames=[seed.frame(f"func{XSS}", line=f"x = '{XSS}'")],
            context={"tags": {"t": XSS}, "extra": {XSS: XSS}, "environment": XSS},
        )
        seed.put(db, "issues", seed.issue(
            "x", title=f"title {XSS}", culprit=XSS, service=XSS, latest=latest,
        ))
        for path in ("/issues?status=all", "/issues/x"):
            page.goto(f"{base_url}{path}")
            assert page.evaluate("typeof window.__xss") == "undefined"
            assert page.locator("script").count() == 0
            assert page.locator("img").count() == 0
        assert f"title {XSS}" == page.locator("h1").inner_text()
        assert f"message {XSS}" in page.locator("pre.message").inner_text()
        assert f"func{XSS}" in page.locator(".frame.in-app .func").inner_text()
        assert "<script>window.__xss = 1</script>" in page.locator("pre.json").inner_text()

    def test_csp_blocks_inline_script(self, page: Any, base_url: str, db: Any) -> None:
        """Even a script element that got into the page would not run: the CSP refuses it."""
        seed.put(db, "issues", seed.issue("a"))
        page.goto(f"{base_url}/issues/a")
        page.evaluate(
            """() => {
                window.__violations = [];
                document.addEventListener('securitypolicyviolation',
                    e => window.__violations.push(e.effectiveDirective));
                const s = document.createElement('script');
                s.textContent = 'window.__xss = 3';
                document.body.appendChild(s);
            }"""
        )
        page.wait_for_function("window.__violations.length > 0")
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert page.evaluate("window.__violations")[0].startswith("script-src")

