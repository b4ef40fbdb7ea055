"""models: the API's schema accepts what the client sends, and bounds it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from afissue_logging import wire
from afissue_logging._breadcrumbs_field import render_crumb
from afissue_logging._request import build_request
from afissue_logging.scrub import Scrubber
from ingest_service.models import Breadcrumb, IssueEvent, RequestInfo

_VALUES = st.fixed_dictionaries(
    {},
    optional={
        name: st.one_of(st.text(max_size=5000), st.binary(max_size=5000), st.integers())
        for name in ("method", "path", "route", "query_string", "status", "request_id", "user_id")
    },
)


class TestRequestInfo:
    @given(values=_VALUES)
    def test_whatever_the_client_builds_is_accepted_unchanged(self, values: dict[str, Any]) -> None:
        """The client's bounds are the API's: a built request validates and round-trips."""
        request = build_request(values, Scrubber())
        if request is None:
            return
        model = RequestInfo.model_validate(request)
        assert model.model_dump(exclude_none=True) == request

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("path", "/" * (wire.MAX_REQUEST_PATH_CHARS + 1)),
            ("query_string", "a" * (wire.MAX_REQUEST_QUERY_CHARS + 1)),
            ("route", "r" * (wire.MAX_REQUEST_ROUTE_CHARS + 1)),
            ("method", "M" * (wire.MAX_REQUEST_METHOD_CHARS + 1)),
            ("user_id", "u" * (wire.MAX_REQUEST_TEXT_CHARS + 1)),
            ("status", 600),
            ("status", 99),
        ],
    )
    def test_values_past_the_bounds_are_refused_by_name(self, field: str, value: Any) -> None:
        """An event whose request breaks a bound is a validation error naming the field."""
        with pytest.raises(ValidationError) as error:
            IssueEvent.model_validate({"title": "t", "request": {field: value}})
        assert error.value.errors()[0]["loc"] == ("request", field)

    def test_unknown_request_fields_are_ignored(self) -> None:
        """A newer client's extra request field does not make the event invalid."""
        event = IssueEvent.model_validate(
            {"title": "t", "request": {"path": "/a", "headers": {"x": "y"}}}
        )
        assert event.request == RequestInfo(path="/a")


class TestBreadcrumb:
    @given(
        message=st.text(max_size=5000),
        logger=st.text(max_size=1000),
        args=st.lists(st.one_of(st.text(max_size=2000), st.integers(), st.floats(), st.none()),
                      max_size=5).map(tuple),
        fields=st.one_of(st.none(), st.dictionaries(
            st.text(max_size=400), st.one_of(st.text(max_size=600), st.floats(), st.booleans()),
            max_size=30,
        )),
    )
    def test_whatever_the_client_renders_is_accepted_unchanged(
        self, message: str, logger: str, args: tuple[Any, ...], fields: Any
    ) -> None:
        """The client's breadcrumb bounds are the API's: a rendered crumb round-trips."""
        crumb = render_crumb((1.7e9, 20, logger, message, args, "MainThread", fields), Scrubber())
        model = Breadcrumb.model_validate(crumb)
        assert model.model_dump(exclude_none=True) == crumb

    @pytest.mark.parametrize(
        ("crumb", "loc"),
        [
            ({"message": "m" * (wire.MAX_BREADCRUMB_MESSAGE_CHARS + 1)}, ("message",)),
            ({"logger": "l" * (wire.MAX_BREADCRUMB_TEXT_CHARS + 1)}, ("logger",)),
            ({"data": {f"k{n}": n for n in range(wire.MAX_BREADCRUMB_DATA_KEYS + 1)}}, ("data",)),
            ({"data": {"k": "v" * (wire.MAX_BREADCRUMB_TEXT_CHARS + 1)}}, ("data", "k")),
            ({"level": "loud"}, ("level",)),
            ({"timestamp": "yesterday"}, ("timestamp",)),
        ],
    )
    def test_values_past_the_bounds_are_refused_by_name(
        self, crumb: dict[str, Any], loc: tuple[Any, ...]
    ) -> None:
        """A breadcrumb past a bound is a validation error naming its place."""
        body = {"timestamp": "2026-12-01T10:00:00Z", "level": "info", **crumb}
        with pytest.raises(ValidationError) as error:
            IssueEvent.model_validate({"title": "t", "breadcrumbs": [body]})
        assert error.value.errors()[0]["loc"][:2] == ("breadcrumbs", 0)
        assert error.value.errors()[0]["loc"][2:2 + len(loc)] == loc

    def test_more_breadcrumbs_than_the_bound_are_refused(self) -> None:
        """An event carries at most MAX_BREADCRUMBS breadcrumbs."""
        crumb = {"timestamp": "2026-12-01T10:00:00Z", "level": "info"}
        IssueEvent.model_validate({"title": "t", "breadcrumbs": [crumb] * wire.MAX_BREADCRUMBS})
        with pytest.raises(ValidationError) as error:
            IssueEvent.model_validate(
                {"title": "t", "breadcrumbs": [crumb] * (wire.MAX_BREADCRUMBS + 1)}
            )
        assert error.value.errors()[0]["loc"] == ("breadcrumbs",)
