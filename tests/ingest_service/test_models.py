"""models: the API's schema accepts what the client sends, and bounds it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from afissue_logging import wire
from afissue_logging._request import build_request
from afissue_logging.scrub import Scrubber
from ingest_service.models import IssueEvent, RequestInfo

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
