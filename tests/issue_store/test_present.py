"""Turning stored occurrences into views, whatever shape or gaps they have."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from issue_store.present import (
    occurrence_view,
    pretty_json,
    relative_time,
    release_view,
    request_view,
)
from tests.issue_store import seed


class TestOccurrenceView:
    def test_consumer_layout(self) -> None:
        """Frames beside the exception and context nested under ``context`` are found."""
        view = occurrence_view(seed.occurrence())
        assert [e.type for e in view.exceptions] == ["TimeoutError", "ValueError"]
        assert view.exceptions[0].leads_to.startswith("The above exception was the direct cause")
        assert view.exceptions[1].leads_to == ""
        assert [f.function for f in view.exceptions[1].frames] == ["handle_request", "charge"]
        assert [f.in_app for f in view.exceptions[1].frames] == [False, True]
        assert view.environment == "production"
        assert view.release == "1.4.2"
        assert view.tags == {"region": "eu-west"}
        assert view.extra == {"order_id": 1234, "amount": "9.99"}
        assert view.context["trace_id"] == "t-1"

    def test_wire_layout(self) -> None:
        """Frames inside the exception and context at the top level are found too."""
        view = occurrence_view(
            {
                "message": "boom",
                "environment": "staging",
                "tags": {"a": "b"},
                "extra": {"k": [1]},
                "timestamp": "2026-11-26T19:42:00.5Z",
                "exception": {
                    "type": "KeyError",
                    "value": "'x'",
                    "module": "builtins",
                    "frames": [{"function": "f", "lineno": 3, "in_app": True}],
                    "chain": [{"type": "OSError", "relation": "context", "frames": []}],
                },
            }
        )
        assert [e.type for e in view.exceptions] == ["OSError", "KeyError"]
        assert view.exceptions[0].leads_to.startswith("During handling")
        assert view.exceptions[1].frames[0].lineno == 3
        assert view.environment == "staging"
        assert view.tags == {"a": "b"}
        assert view.timestamp == _dt.datetime(2026, 11, 26, 19, 42, 0, 500000, tzinfo=_dt.UTC)

    def test_garbage_never_raises(self) -> None:
        """Wrong types everywhere give an empty view, not an exception."""
        raws: list[object] = [
            None,
            3,
            "text",
            [],
            {"exception": "x", "frames": 5, "context": [1]},
            {"exception": {"frames": [None, 7, {"lineno": "nine", "in_app": "yes"}]}},
        ]
        for raw in raws:
            view = occurrence_view(raw)
            assert view.message == ""
        frames = occurrence_view(
            {"exception": {"frames": [None, {"lineno": "nine", "in_app": "yes"}]}}
        ).exceptions[0].frames
        assert [(f.lineno, f.in_app) for f in frames] == [(None, False), (None, False)]

    def test_qualified_type_hides_builtins(self) -> None:
        """``builtins.ValueError`` reads ``ValueError``; other modules are kept."""
        view = occurrence_view({"exception": {"type": "Err", "module": "app.errors"}})
        assert view.exceptions[0].qualified_type == "app.errors.Err"

    def test_coalesced_count(self) -> None:
        """An occurrence document shows how many events its window held."""
        assert occurrence_view({"count": 1, "coalesced_count": 40}).count == 40


class TestExceptionGroups:
    def test_children_as_the_consumer_stores_them(self) -> None:
        """A client's group event, laid out by the consumer (deep parts as JSON text),
        reads back as the group with each child's chain, frames and nested children."""
        stored = seed.task_group_occurrence()
        chained = [c for c in stored["exception"]["children"] if c.get("chain")]
        assert isinstance(chained[0]["chain"][0]["frames"], str)

        view = occurrence_view(stored)

        (group,) = view.exceptions
        assert group.is_group and group.type == "ExceptionGroup"
        children = {chain[-1].type: chain for chain in group.children}
        assert set(children) == {"RuntimeError", "KeyError", "ExceptionGroup"}
        saved = children["RuntimeError"]
        assert [e.type for e in saved] == ["OSError", "RuntimeError"]
        assert saved[0].leads_to.startswith("The above exception was the direct cause")
        assert saved[0].frames[-1].context_line == 'raise OSError("disk full")'
        assert children["KeyError"][-1].frames[-1].function.endswith("fetch")
        (nested,) = children["ExceptionGroup"][-1].children
        assert [e.type for e in nested] == ["ValueError"]

    def test_omitted_children_and_garbage(self) -> None:
        """children_omitted is shown; children of the wrong shape are skipped."""
        view = occurrence_view({"exception": {
            "type": "ExceptionGroup", "children": [None, "{not json", {"type": "KeyError"}],
            "children_omitted": 7, "frames": "[1, {]"}})
        (group,) = view.exceptions
        assert [[e.type for e in c] for c in group.children] == [["KeyError"]]
        assert group.children_omitted == 7 and group.frames == []
        assert not view.exceptions[0].children[0][0].is_group


class TestHelpers:
    def test_relative_time(self) -> None:
        """Seconds, minutes, hours and days; a dash for non-times."""
        now = _dt.datetime(2026, 1, 2, tzinfo=_dt.UTC)
        assert relative_time(now - _dt.timedelta(seconds=5), now) == "5s ago"
        assert relative_time(now - _dt.timedelta(minutes=5), now) == "5m ago"
        assert relative_time(now - _dt.timedelta(hours=5), now) == "5h ago"
        assert relative_time(now - _dt.timedelta(days=5), now) == "5d ago"
        assert relative_time("2026-01-01T00:00:00Z", now) == "1d ago"
        assert relative_time(None, now) == "-"

    def test_pretty_json_shows_anything(self) -> None:
        """Values JSON cannot hold are shown as text."""
        text = pretty_json({"b": 1, "a": _dt.date(2026, 1, 2)})
        assert text == '{\n  "a": "2026-01-02",\n  "b": 1\n}'


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=4),
    max_leaves=20,
)


class TestRequestView:
    def test_fields_in_reading_order_with_labels(self) -> None:
        """The stored request reads method, path, route, query, status, ids, in that order."""
        view = occurrence_view(seed.occurrence(request={
            "user_id": "u-3", "status": 500, "query_string": "page=2", "route": "/o/{id}",
            "path": "/o/7", "method": "GET", "request_id": "r-1", "colour": "red",
        }))
        assert list(view.request.items()) == [
            ("method", "GET"), ("path", "/o/7"), ("route", "/o/{id}"),
            ("query string", "page=2"), ("status", "500"), ("request id", "r-1"),
            ("user id", "u-3"),
        ]

    def test_an_occurrence_without_a_request_has_none(self) -> None:
        """Older occurrences (and other events) show no request."""
        assert occurrence_view(seed.occurrence()).request == {}

    @given(raw=_JSON)
    def test_any_stored_value_gives_text_or_nothing(self, raw: Any) -> None:
        """Whatever is stored under ``request``, the view is labelled text and never raises."""
        view = request_view(raw)
        assert all(isinstance(v, str) and v for v in view.values())
        assert occurrence_view({"request": raw}).request == view


class TestBreadcrumbViews:
    def test_stored_breadcrumbs_become_a_timeline(self) -> None:
        """Each stored breadcrumb is a view with its time, level, logger, message and data."""
        view = occurrence_view({"breadcrumbs": [
            "… 7 more items omitted",
            {"timestamp": "2026-12-01T10:00:01.250000Z", "level": "info", "logger": "app",
             "message": "cart loaded", "thread": "MainThread", "data": {"items": 3, "who": "b"}},
            {"timestamp": "2026-12-01T10:00:02Z", "level": "warning", "logger": "app.pay",
             "message": "slow"},
        ]})
        first, second = view.breadcrumbs
        assert (first.time, first.level, first.logger, first.message) == (
            "10:00:01.250", "info", "app", "cart loaded"
        )
        assert first.data == {"items": "3", "who": "b"}
        assert (second.time, second.level, second.data) == ("10:00:02.000", "warning", {})
        assert view.breadcrumbs_omitted == 7

    @given(raw=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                   max_size=4),
        max_leaves=20,
    ))
    def test_any_stored_value_is_read_without_raising(self, raw: Any) -> None:
        """Breadcrumbs of any shape (a raw producer's) give views or nothing, never an error."""
        view = occurrence_view({"breadcrumbs": raw})
        assert all(isinstance(crumb.message, str) for crumb in view.breadcrumbs)


class TestReleaseView:
    """release_view"""

    def test_releases_with_their_first_times(self) -> None:
        """``release_seen`` gives each release with the time it was first seen."""
        at = _dt.datetime(2026, 12, 1, tzinfo=_dt.UTC)
        issue = {"releases": ["1.0"], "release_seen": [{"release": "1.0", "first_seen": at},
                                                       {"release": "1.1"}, "junk"]}
        assert release_view(issue) == [("1.0", at), ("1.1", None)]

    def test_an_old_document_lists_plain_releases(self) -> None:
        """Before ``release_seen`` existed, the plain ``releases`` list shows, without times."""
        assert release_view({"releases": ["0.9", "1.0"]}) == [("0.9", None), ("1.0", None)]
        assert release_view({}) == []
        assert release_view(None) == []
