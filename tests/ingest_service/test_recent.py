"""/issues/recent: the last hour's accepted issues, from Redis."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from ingest_service import IngestSettings
from ingest_service.recent import RecentIssues, RecentRecorder
from ingest_service.ui.settings import UISettings
from tests.ingest_service.conftest import SEED_BODY


class TestRecentPage:
    """The HTTP view of the recent list."""

    def test_accepted_issue_shows_as_json(self, client: FlaskClient) -> None:
        """An accepted event is listed with its issue id, title, service and count."""
        first = client.post("/api/v1/issues", json={**SEED_BODY, "level": "error"}).get_json()
        client.post("/api/v1/issues", json={**SEED_BODY, "count": 4})

        response = client.get("/issues/recent", headers={"Accept": "application/json"})

        assert response.status_code == 200
        [issue] = response.get_json()["issues"]
        assert issue["issue_id"] == first["issue_id"]
        assert issue["title"] == "Payment failed"
        assert issue["service"] == "default"
        assert issue["count"] == 5
        assert issue["last_seen"].endswith("Z")

    def test_html_page_escapes_titles(self, client: FlaskClient) -> None:
        """Titles are HTML-escaped on the page."""
        client.post("/api/v1/issues", json={**SEED_BODY, "title": "<script>alert(1)</script>"})

        page = client.get("/issues/recent").get_data(as_text=True)

        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<script>alert(1)" not in page

    def test_html_page_sends_a_csp_without_inline_code(self, client: FlaskClient) -> None:
        """The page forbids script and inline styles, and carries none itself."""
        response = client.get("/issues/recent")

        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy
        assert "unsafe-inline" not in policy
        assert "<style" not in response.get_data(as_text=True)
        assert response.headers["X-Frame-Options"] == "DENY"


class TestRecentIssues:
    """The Redis store behind the page."""

    def test_entries_expire_after_the_ttl(self, redis_url: str) -> None:
        """Issues last seen longer ago than the TTL are not listed; counts are windowed."""
        client = redis.Redis.from_url(redis_url)
        recent = RecentIssues(client, "t:", ttl=3600)
        event = {"issue_id": "i1", "title": "t", "service": "s", "received_at": "x", "count": 2}

        recent.record([event], now=1_000_000.0)
        recent.record([event], now=1_000_000.0 + 1800)

        assert [r.count for r in recent.list(now=1_000_000.0 + 1800)] == [4]
        assert [r.count for r in recent.list(now=1_000_000.0 + 3700)] == [2]
        assert recent.list(now=1_000_000.0 + 1800 + 3601) == []
        client.close()


class TestMinuteCountsAreTrimmed:
    """The per-minute count hash of an issue that never goes quiet stays about an hour long."""

    def test_hours_of_minutes_keep_the_hash_at_most_61_fields_and_counts_right(
        self, redis_url: str
    ) -> None:
        """Six hours of events, one or more a minute (some minutes skipped), leave at most
        61 minute fields, and the count shown is always the last hour's events."""
        client = redis.Redis.from_url(redis_url)
        recent = RecentIssues(client, "trim:", ttl=3600)
        start = 1_700_000_040.0
        sent: dict[int, int] = {}
        for minute in range(6 * 60):
            if minute % 7 == 3:
                continue  # quiet minutes: the trim cannot rely on seeing every minute
            now = start + minute * 60 + 5
            count = 1 + minute % 3
            event = {"issue_id": "hot", "title": "t", "service": "s", "received_at": "x",
                     "count": count}
            recent.record([event], now=now)
            sent[minute] = count
            fields = client.hlen("trim:recent:hot:n")
            assert fields <= 61, (minute, fields)
            [row] = recent.list(now=now)
            first_minute = (now - 3600) // 60
            in_window = sum(n for m, n in sent.items() if (start + m * 60) // 60 > first_minute)
            assert row.count == in_window, minute

    def test_trim_keeps_a_minute_of_slack_for_other_clocks(self, redis_url: str) -> None:
        """A reader whose clock is a minute behind the writer's still sees its whole hour
        (the writer keeps the minute before its own hour)."""
        client = redis.Redis.from_url(redis_url)
        recent = RecentIssues(client, "slack:", ttl=3600)
        event = {"issue_id": "i", "title": "t", "service": "s", "received_at": "x", "count": 1}
        start = 1_700_000_040.0
        for minute in range(120):
            recent.record([event], now=start + minute * 60)

        [row] = recent.list(now=start + 118 * 60)

        assert row.count == 61  # minutes 59..119: its hour, and the writer's minute ahead


    def test_a_hash_grown_before_the_trim_is_cut_on_its_next_write(self, redis_url: str) -> None:
        """Days of minute fields left by an older version go at the next event."""
        client = redis.Redis.from_url(redis_url)
        recent = RecentIssues(client, "legacy:", ttl=3600)
        now = 1_700_000_040.0
        minute = int(now // 60)
        client.hset("legacy:recent:old:n", mapping={str(minute - m): 1 for m in range(1, 5000)})
        event = {"issue_id": "old", "title": "t", "service": "s", "received_at": "x", "count": 1}

        recent.record([event], now=now)

        assert client.hlen("legacy:recent:old:n") == 61
        assert recent.list(now=now)[0].count == 60


class TestRecentRecorder:
    """First sightings written at once, repeats folded into background writes."""

    def test_first_sighting_is_immediate_and_repeats_are_folded(self, redis_url: str) -> None:
        """A new issue is listed at once; its repeats are counted after flush()."""
        client = redis.Redis.from_url(redis_url)
        recent = RecentIssues(client, "t:", ttl=3600)
        recorder = RecentRecorder(recent, interval=3600)  # no background write in this test
        event = {"issue_id": "i1", "title": "t", "service": "s", "received_at": "x", "count": 1}

        recorder.record([event])
        assert [r.count for r in recent.list()] == [1]
        recorder.record([event, event])
        assert [r.count for r in recent.list()] == [1]
        recorder.flush()

        assert [r.count for r in recent.list()] == [3]
        recorder.close()
        client.close()


class TestRecentPageInTheUI:
    """/issues/recent when the app serves the web UI."""

    @pytest.fixture
    def ui_client(self, make_app: Any, settings: IngestSettings, firestore_project: str) -> FlaskClient:
        """The ingest app with the UI, open access (no login needed)."""
        ui_settings = UISettings.from_env(
            os.environ, firestore_project=firestore_project, open_access=True,
            secret_key="test-secret",
        )
        return make_app(settings, ui_settings).test_client()  # type: ignore[no-any-return]

    def test_layout_relative_time_and_issue_link(self, ui_client: FlaskClient) -> None:
        """The page has the UI's navigation, a relative last-seen time and a link to
        the issue's page."""
        issue_id = ui_client.post("/api/v1/issues", json=SEED_BODY).get_json()["issue_id"]

        html = ui_client.get("/issues/recent").get_data(as_text=True)

        assert 'class="topbar"' in html and 'href="/issues"' in html
        assert re.search(r"<time datetime=\"[^\"]+\" title=\"[^\"]+\">\d+s ago</time>", html)
        assert f'href="/issues/{issue_id}"' in html
        assert "Last hour · afissue" in html
