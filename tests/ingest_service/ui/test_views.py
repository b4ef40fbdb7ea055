"""The pages and actions, through Flask's test client, on the real Firestore emulator."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask.testing import FlaskClient

from ingest_service.ui import UISettings
from issue_store.reader import IssueReader
from tests.ingest_service.ui.conftest import build_app, csrf_of
from tests.issue_store import seed


class TestIssueList:
    def test_lists_open_issues_by_default(self, operator: FlaskClient, db: Any) -> None:
        """Without filters the list shows open issues, not resolved or ignored ones."""
        seed.put(db, "issues", seed.issue("open1", title="Open one"))
        seed.put(db, "issues", seed.issue("done1", title="Resolved one", status="resolved"))
        html = operator.get("/issues").get_data(as_text=True)
        assert "Open one" in html
        assert "Resolved one" not in html

    def test_filters_by_service_status_and_environment(
        self, operator: FlaskClient, db: Any
    ) -> None:
        """Service, status and environment filters combine."""
        seed.put(db, "issues", seed.issue("a", title="Match", environments=["staging"]))
        seed.put(db, "issues", seed.issue("b", title="Other service", service="web"))
        seed.put(db, "issues", seed.issue("c", title="Other env", environments=["production"]))
        html = operator.get(
            "/issues?service=payments&status=open&environment=staging"
        ).get_data(as_text=True)
        assert "Match" in html
        assert "Other service" not in html
        assert "Other env" not in html

    def test_search_box_finds_words_and_filters(self, operator: FlaskClient, db: Any) -> None:
        """``q`` finds issues by their words, with the filters typed in it."""
        seed.put(db, "issues", seed.issue("a", title="KeyError: 'price'"))
        seed.put(db, "issues", seed.issue("b", title="TimeoutError: gateway"))
        seed.put(db, "issues", seed.issue("c", title="KeyError: 'stock'", status="resolved"))
        html = operator.get("/issues?q=keyerror").get_data(as_text=True)
        assert "price" in html and "stock" in html
        assert "TimeoutError" not in html
        html = operator.get("/issues?q=is:resolved+key").get_data(as_text=True)
        assert "stock" in html and "price" not in html
        assert 'value="is:resolved key"' in html

    def test_search_errors_are_shown_not_5xx(self, operator: FlaskClient) -> None:
        """A search the parser refuses is a 400 page that says what is wrong."""
        response = operator.get("/issues?q=servce:web")
        assert response.status_code == 400
        assert "servce: is not a filter" in response.get_data(as_text=True)

    def test_sorts_by_count_and_pages_with_a_cursor(self, operator: FlaskClient, db: Any) -> None:
        """Sorted by count, page one holds the three biggest and links to the rest."""
        for n in range(5):
            seed.put(db, "issues", seed.issue(f"i{n}", title=f"Issue number {n}", count=10 + n))
        html = operator.get("/issues?sort=count").get_data(as_text=True)
        assert [f"Issue number {n}" in html for n in range(5)] == [False, False, True, True, True]
        start = html.index('href="', html.index("Next page") - 600)
        next_url = html[start + 6 : html.index('"', start + 6)].replace("&amp;", "&")
        html2 = operator.get(next_url).get_data(as_text=True)
        assert "Issue number 1" in html2 and "Issue number 0" in html2
        assert "Issue number 4" not in html2
        assert "Next page" not in html2

    def test_marks_regressed_open_issues(self, operator: FlaskClient, db: Any) -> None:
        """An open issue with ``regressed_at`` carries a regressed badge."""
        seed.put(db, "issues", seed.issue("a", regressed_at=seed.ago(hours=1)))
        seed.put(db, "issues", seed.issue("b"))
        html = operator.get("/issues").get_data(as_text=True)
        assert html.count(">regressed</span>") == 1

    def test_shows_count_level_and_relative_times(self, operator: FlaskClient, db: Any) -> None:
        """Each row shows its count, level and first/last seen as relative times."""
        seed.put(db, "issues", seed.issue("a", count=1234))
        html = operator.get("/issues").get_data(as_text=True)
        assert "1234" in html
        assert "5m ago" in html and "2h ago" in html
        assert 'class="level level-error"' in html

    def test_bad_sort_is_a_400_page(self, operator: FlaskClient) -> None:
        """An unknown sort is refused with a page naming it."""
        response = operator.get("/issues?sort=title")
        assert response.status_code == 400
        assert "sort &#39;title&#39; is not one of" in response.get_data(as_text=True)

    def test_documents_with_missing_fields_still_render(
        self, operator: FlaskClient, db: Any
    ) -> None:
        """A sparse document shows dashes rather than failing."""
        db.collection("issues").document("sparse").set(
            {"status": "open", "last_seen": seed.ago(minutes=1)}
        )
        response = operator.get("/issues")
        assert response.status_code == 200
        assert "(untitled)" in response.get_data(as_text=True)
        assert operator.get("/issues/sparse").status_code == 200


class TestIssueDetail:
    def test_shows_the_latest_occurrence_in_full(self, operator: FlaskClient, db: Any) -> None:
        """Message, chained exceptions, frames, context, tags and extra are all on the page."""
        seed.put(db, "issues", seed.issue("a"), occurrences=2)
        html = operator.get("/issues/a").get_data(as_text=True)
        for text in (
            "Payment failed for order 1234",
            "TimeoutError",
            "The above exception was the direct cause of the following exception:",
            "ValueError",
            "card declined",
            "raise ValueError(&#39;card declined&#39;)",
            "eu-west",
            "&#34;order_id&#34;: 1234",
            "1.4.2",
            "occurrence 0",
            "occurrence 1",
            "first seen",
        ):
            assert text in html, text
        assert html.index("TimeoutError") < html.index("ValueError</strong>")

    def test_shows_the_issues_alerts_and_their_delivery(self, operator: FlaskClient, db: Any) -> None:
        """The page lists the issue's alerts with each channel's delivery state, a dead one
        with its last error; another issue's alerts are not shown."""
        seed.put(db, "issues", seed.issue("a"))
        seed.put_alert(db, seed.alert("a", "new", 0, 30, ops={"state": "delivered", "attempts": 1}))
        seed.put_alert(db, seed.alert("a", "regression", 1, 10, ops={
            "state": "dead", "attempts": 8, "last_error": "HTTP 500 from receiver"}))
        seed.put_alert(db, seed.alert("b", "count", 2, 5))
        html = operator.get("/issues/a").get_data(as_text=True)
        section = html[html.index('id="alerts"'):html.index("Status history")]
        assert "New issue" in section and "Regression #1" in section
        assert "delivered after 1 try" in section
        assert "dead after 8 tries" in section and "HTTP 500 from receiver" in section
        assert "Count passed" not in section
        assert section.index("Regression #1") < section.index("New issue")

    def test_an_issue_without_alerts_says_so(self, operator: FlaskClient, db: Any) -> None:
        """No alerts: the section says so."""
        seed.put(db, "issues", seed.issue("a"))
        assert "No alerts." in operator.get("/issues/a").get_data(as_text=True)

    def test_an_exception_group_shows_its_sub_exceptions(
        self, operator: FlaskClient, db: Any
    ) -> None:
        """A TaskGroup's failure shows each sub-exception with its own chain and frames,
        nested groups included."""
        seed.put(db, "issues", seed.issue("g", latest=seed.task_group_occurrence()))
        html = operator.get("/issues/g").get_data(as_text=True)
        for text in (
            "unhandled errors in a TaskGroup (3 sub-exceptions)",
            "sub-exception 1 of 3", "sub-exception 3 of 3",
            "OSError</strong>: disk full",
            "The above exception was the direct cause of the following exception:",
            "RuntimeError</strong>: save failed",
            "KeyError</strong>: &#39;stock&#39;",
            "ValueError</strong>: row 3",
            "raise OSError(&#34;disk full&#34;)",
        ):
            assert text in html, text
        assert html.count('class="exception group"') == 2

    def test_service_links_to_its_issues(self, operator: FlaskClient, db: Any) -> None:
        """The service badge links to the list filtered by that service, any status."""
        seed.put(db, "issues", seed.issue("a", service="pay&ments"))
        html = operator.get("/issues/a").get_data(as_text=True)
        assert 'href="/issues?service=pay%26ments&amp;status=all"' in html

    def test_in_app_frames_are_highlighted(self, operator: FlaskClient, db: Any) -> None:
        """In-app frames carry the ``in-app`` class, library frames ``library``."""
        seed.put(db, "issues", seed.issue("a"))
        html = operator.get("/issues/a").get_data(as_text=True)
        assert html.count('class="frame in-app"') == 1
        assert html.count('class="frame library"') == 2

    def test_shows_the_request_of_the_latest_occurrence(
        self, operator: FlaskClient, db: Any
    ) -> None:
        """The request block lists route, path, query and status, escaped; no request, no block."""
        latest = seed.occurrence(request={
            "method": "GET", "path": "/orders/7", "route": "/orders/{order_id}",
            "query_string": "q=<b>&token=[Filtered]", "status": 500,
        })
        seed.put(db, "issues", seed.issue("a", latest=latest))
        html = operator.get("/issues/a").get_data(as_text=True)
        section = html[html.index("<h2>Request</h2>"):]
        for text in ("/orders/{order_id}", "/orders/7", "q=&lt;b&gt;&amp;token=[Filtered]", "500"):
            assert text in section, text
        seed.put(db, "issues", seed.issue("b"))
        assert "<h2>Request</h2>" not in operator.get("/issues/b").get_data(as_text=True)

    def test_breadcrumbs_show_as_a_timeline_above_the_exception(
        self, operator: FlaskClient, db: Any
    ) -> None:
        """The breadcrumbs block lists time, level, logger and message, escaped, before the
        exception; no breadcrumbs, no block."""
        latest = seed.occurrence(breadcrumbs=[
            "… 3 more items omitted",
            {"timestamp": "2026-12-01T10:00:01.250000Z", "level": "info", "logger": "app.cart",
             "message": "cart <b>loaded</b>", "thread": "worker-1", "data": {"items": 3}},
            {"timestamp": "2026-12-01T10:00:02Z", "level": "warning", "logger": "app.pay",
             "message": "gateway slow"},
        ])
        seed.put(db, "issues", seed.issue("a", latest=latest))
        html = operator.get("/issues/a").get_data(as_text=True)
        section = html[html.index("<h2>Breadcrumbs</h2>"):html.index("<h2>Exception</h2>")]
        for text in ("3 older breadcrumbs omitted", "10:00:01.250", "app.cart",
                     "cart &lt;b&gt;loaded&lt;/b&gt;", "items=3", "worker-1", "level-warning",
                     "gateway slow"):
            assert text in section, text
        seed.put(db, "issues", seed.issue("b"))
        assert "<h2>Breadcrumbs</h2>" not in operator.get("/issues/b").get_data(as_text=True)


    def test_shows_locals_under_their_frame_escaped(
        self, operator: FlaskClient, db: Any
    ) -> None:
        """A frame's locals are listed under it (in name order, as Firestore keeps a map),
        escaped, with the omitted count."""
        latest = seed.occurrence()
        latest["frames"][1]["vars"] = {"order_id": "1234", "customer": "<Customer>",
                                       "note": "'<script>x</script>'"}
        latest["frames"][1]["vars_omitted"] = 2
        seed.put(db, "issues", seed.issue("a", latest=latest))
        html = operator.get("/issues/a").get_data(as_text=True)
        frame = html[html.index('class="frame in-app"'):]
        frame = frame[: frame.index("</li>")]
        assert "locals (3 of 5)" in frame
        names = [frame.index(f"<th>{name}</th>") for name in ("customer", "note", "order_id")]
        assert names == sorted(names)
        assert "&lt;Customer&gt;" in frame
        assert "<script>x" not in html and "&lt;script&gt;x" in frame
        seed.put(db, "issues", seed.issue("b"))
        assert 'class="vars"' not in operator.get("/issues/b").get_data(as_text=True)

    def test_unknown_issue_is_404(self, operator: FlaskClient) -> None:
        """An id with no document is a 404 page."""
        assert operator.get("/issues/nope").status_code == 404
        assert operator.get("/issues/__reserved__").status_code == 404

    def test_offers_the_actions_the_status_allows(self, operator: FlaskClient, db: Any) -> None:
        """An open issue offers resolve and ignore, a resolved one reopen and ignore."""
        seed.put(db, "issues", seed.issue("a"))
        seed.put(db, "issues", seed.issue("b", status="resolved"))
        open_html = operator.get("/issues/a").get_data(as_text=True)
        resolved_html = operator.get("/issues/b").get_data(as_text=True)
        assert "/issues/a/resolve" in open_html and "/issues/a/reopen" not in open_html
        assert "/issues/b/reopen" in resolved_html and "/issues/b/resolve" not in resolved_html


class TestRouting:
    def test_recent_page_of_the_ingest_service_wins(self, ui_settings: UISettings) -> None:
        """``/issues/recent`` (another blueprint's page) is not taken for an issue id."""
        app = build_app(dataclasses.replace(ui_settings, open_access=True))
        app.add_url_rule("/issues/recent", "recent_probe", lambda: "recent page")
        assert app.test_client().get("/issues/recent").get_data(as_text=True) == "recent page"


class TestActions:
    def test_resolve_changes_status_and_records_the_operator(
        self, operator: FlaskClient, db: Any, reader: IssueReader
    ) -> None:
        """Resolving writes the status and a history entry by the logged-in operator."""
        seed.put(db, "issues", seed.issue("a"))
        token = csrf_of(operator, "/issues/a")
        response = operator.post("/issues/a/resolve", data={"csrf_token": token})
        assert response.status_code == 303
        issue = reader.get("a")
        assert issue is not None
        assert issue["status"] == "resolved"
        assert issue["status_history"][-1]["by"] == "alice"
        assert "Issue resolved." in operator.get("/issues/a").get_data(as_text=True)

    def test_ignore_and_reopen(self, operator: FlaskClient, db: Any, reader: IssueReader) -> None:
        """Ignore then reopen leave the issue open with both steps in its history."""
        seed.put(db, "issues", seed.issue("a"))
        token = csrf_of(operator, "/issues/a")
        operator.post("/issues/a/ignore", data={"csrf_token": token})
        operator.post("/issues/a/reopen", data={"csrf_token": token})
        issue = reader.get("a")
        assert issue is not None
        assert [h["status"] for h in issue["status_history"]] == ["open", "ignored", "open"]

    def test_action_on_unknown_issue_is_404(self, operator: FlaskClient) -> None:
        """Resolving an issue that does not exist is a 404."""
        token = csrf_of(operator, "/issues")
        assert operator.post("/issues/nope/resolve", data={"csrf_token": token}).status_code == 404

    def test_unknown_action_is_not_routed(self, operator: FlaskClient, db: Any) -> None:
        """Only resolve, ignore and reopen exist."""
        seed.put(db, "issues", seed.issue("a"))
        token = csrf_of(operator, "/issues")
        assert operator.post("/issues/a/delete", data={"csrf_token": token}).status_code in (
            404,
            405,
        )


class _BrokenReader(IssueReader):
    """A reader whose Firestore is down."""

    def __init__(self) -> None:
        pass

    def find(self, query: Any) -> Any:
        from google.api_core.exceptions import ServiceUnavailable

        raise ServiceUnavailable("connection refused <b>here</b>")  # type: ignore[no-untyped-call]


class TestStoreErrors:
    def test_firestore_failure_is_a_503_page(self, ui_settings: UISettings) -> None:
        """When Firestore fails, the page says so (escaped) with 503 instead of a 500."""
        from flask import Flask

        from ingest_service.ui import init_app

        app = Flask(__name__)
        init_app(app, dataclasses.replace(ui_settings, open_access=True), reader=_BrokenReader())
        response = app.test_client().get("/issues")
        assert response.status_code == 503
        html = response.get_data(as_text=True)
        assert "connection refused &lt;b&gt;here&lt;/b&gt;" in html

    def test_missing_credentials_is_a_503_page(self, ui_settings: UISettings) -> None:
        """Without Google credentials the app still starts; the pages say what is missing."""
        from flask import Flask
        from google.auth.exceptions import DefaultCredentialsError

        from ingest_service.ui import init_app

        class NoCredentials(_BrokenReader):
            def find(self, query: Any) -> Any:
                raise DefaultCredentialsError(  # type: ignore[no-untyped-call]
                    "Your default credentials were not found."
                )

        app = Flask(__name__)
        init_app(app, dataclasses.replace(ui_settings, open_access=True), reader=NoCredentials())
        response = app.test_client().get("/issues")
        assert response.status_code == 503
        assert "credentials were not found" in response.get_data(as_text=True)

    def test_app_starts_without_touching_firestore(self, ui_settings: UISettings) -> None:
        """``init_app`` makes no Firestore client; the first page does."""
        from flask import Flask

        from ingest_service.ui import init_app
        from ingest_service.ui.views import UIState

        app = Flask(__name__)
        init_app(app, dataclasses.replace(ui_settings, open_access=True))
        state: UIState = app.extensions["afissue_ui"]
        assert state.reader.db._client is None
        assert app.test_client().get("/issues").status_code == 200
        assert state.reader.db._client is not None


class TestTrends:
    """The list's 24-hour sparkline, count and sort; the detail's charts and releases."""

    def test_list_shows_a_sparkline_and_the_last_24_hours(
        self, operator: FlaskClient, db: Any
    ) -> None:
        """Each row has an SVG sparkline and its events in the last 24 hours, computed
        from the hourly map (an hour 30 h ago is not counted)."""
        seed.put(db, "issues", seed.issue("a", count=20, **seed.trend_maps({0: 4, 5: 3, 30: 13})))
        html = operator.get("/issues").get_data(as_text=True)
        assert '<svg class="spark" role="img" aria-label="7 events in the last 24 hours"' in html
        assert '<span class="events-24h">7</span>' in html

    def test_sorts_by_events_in_the_last_24_hours(self, operator: FlaskClient, db: Any) -> None:
        """sort=events_24h orders by the last 24 hours, not by total or by recency."""
        seed.put(db, "issues", seed.issue("old", title="Busy long ago", count=900,
                                          last_seen=seed.ago(minutes=1),
                                          **seed.trend_maps({0: 1, 40: 899})))
        seed.put(db, "issues", seed.issue("hot", title="Spiking now", count=50,
                                          last_seen=seed.ago(minutes=30),
                                          **seed.trend_maps({0: 30, 1: 20})))
        seed.put(db, "issues", seed.issue("mid", title="Steady", count=10,
                                          last_seen=seed.ago(minutes=20),
                                          **seed.trend_maps({2: 5, 3: 5})))
        html = operator.get("/issues?sort=events_24h").get_data(as_text=True)
        order = [html.index(t) for t in ("Spiking now", "Steady", "Busy long ago")]
        assert order == sorted(order)
        assert '<option value="events_24h" selected>' in html
        assert "Next page" not in html

    def test_detail_has_24_hour_and_14_day_charts(self, operator: FlaskClient, db: Any) -> None:
        """The detail page draws both bar charts as inline SVG with a bar per bucket."""
        seed.put(db, "issues", seed.issue("a", **seed.trend_maps({0: 6, 2: 1}, days={0: 7, 13: 2})))
        html = operator.get("/issues/a").get_data(as_text=True)
        chart_24h = html[html.index('id="trend-24h"'):html.index('id="trend-14d"')]
        chart_14d = html[html.index('id="trend-14d"'):]
        assert chart_24h.count('class="bar"') == 24
        assert 'aria-label="Last 24 hours: 7 events, peak 6 per hour"' in chart_24h
        assert chart_14d[:chart_14d.index("</svg>")].count('class="bar"') == 14
        assert 'aria-label="Last 14 days: 9 events, peak 7 per day"' in chart_14d
        assert "<script" not in html

    def test_an_issue_without_trend_maps_draws_empty_charts(
        self, operator: FlaskClient, db: Any
    ) -> None:
        """A document written before the trend maps still renders, with zero charts."""
        seed.put(db, "issues", seed.issue("a"))
        html = operator.get("/issues/a").get_data(as_text=True)
        assert 'aria-label="Last 24 hours: 0 events, peak 0 per hour"' in html
        assert "0 events in the last 24 hours" in operator.get("/issues").get_data(as_text=True)

    def test_detail_shows_first_and_last_release_and_when_each_was_first_seen(
        self, operator: FlaskClient, db: Any
    ) -> None:
        """First- and last-seen release, and the releases table with first-seen times; an
        old document's plain releases list still shows."""
        seed.put(db, "issues", seed.issue(
            "a", first_release="1.4.0", last_release="1.4.2", releases=["1.4.0", "1.4.2"],
            release_seen=[{"release": "1.4.0", "first_seen": seed.ago(days=3)},
                          {"release": "1.4.2", "first_seen": seed.ago(hours=2)}]))
        html = operator.get("/issues/a").get_data(as_text=True)
        assert '<dd class="release" id="first-release">1.4.0</dd>' in html
        assert '<dd class="release" id="last-release">1.4.2</dd>' in html
        table = html[html.index('id="releases"'):]
        assert "1.4.0" in table and "3d ago" in table and "2h ago" in table
        seed.put(db, "issues", seed.issue("old", releases=["0.9"]))
        old = operator.get("/issues/old").get_data(as_text=True)
        assert "before first-seen times were kept" in old
