"""_request: the bound request context becomes a bounded, scrubbed ``request`` field."""

from __future__ import annotations

import contextvars
import json
from typing import Any
from urllib.parse import quote_plus, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from afissue_logging import wire
from afissue_logging._request import build_request, request_field, scrub_query
from afissue_logging._request_context import RequestContext, bind, unbind
from afissue_logging.scrub import DEFAULT_SENSITIVE_KEYS, FILTERED, Scrubber

SCRUBBER = Scrubber()

_BOUNDS = {
    "method": wire.MAX_REQUEST_METHOD_CHARS,
    "path": wire.MAX_REQUEST_PATH_CHARS,
    "route": wire.MAX_REQUEST_ROUTE_CHARS,
    "query_string": wire.MAX_REQUEST_QUERY_CHARS,
    "request_id": wire.MAX_REQUEST_TEXT_CHARS,
    "user_id": wire.MAX_REQUEST_TEXT_CHARS,
}

# Anything a framework might hand over: text with lone surrogates, bytes, numbers, objects.
_ANY_VALUE = st.one_of(
    st.none(),
    st.text(max_size=6000),
    st.binary(max_size=6000),
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=True),
    st.builds(object),
)
_FIELDS = st.fixed_dictionaries(
    {}, optional={name: _ANY_VALUE for name in (*_BOUNDS, "status")}
)
_SAFE_KEYS = st.from_regex(r"[a-z]{1,8}", fullmatch=True).filter(
    lambda key: not SCRUBBER.is_sensitive_key(key)
)


def _in_context(context: RequestContext | None) -> contextvars.Context:
    token = bind(context) if context is not None else None
    try:
        return contextvars.copy_context()
    finally:
        unbind(token)


class TestScrubQuery:
    @given(
        safe=st.lists(st.tuples(_SAFE_KEYS, st.text(max_size=20)), max_size=5),
        sensitive=st.lists(
            st.tuples(st.sampled_from(DEFAULT_SENSITIVE_KEYS), st.text(max_size=20), st.uuids()),
            min_size=1,
            max_size=5,
        ),
        prefix=st.sampled_from(["", "X-", "user_", "My"]),
    )
    def test_values_of_sensitive_keys_never_survive(
        self, safe: list[tuple[str, str]], sensitive: list[tuple[str, str, Any]], prefix: str
    ) -> None:
        """Whatever else the query holds, a sensitive key's value is replaced, encoded or not."""
        secrets = [(prefix + key, text + uuid.hex) for key, text, uuid in sensitive]
        query = urlencode([*safe, *secrets])
        scrubbed = scrub_query(query, SCRUBBER)
        for key, secret in secrets:
            assert secret not in scrubbed
            assert quote_plus(secret) not in scrubbed
            assert f"{key}={FILTERED}" in scrubbed

    def test_other_pairs_are_kept_decoded(self) -> None:
        """Harmless pairs stay, decoded for reading; a key without a value stays as it is."""
        scrubbed = scrub_query("q=red+shoes&page=2&flag&api_key=abc123&next=%2Fcart", SCRUBBER)
        assert scrubbed == f"q=red shoes&page=2&flag&api_key={FILTERED}&next=/cart"

    def test_secret_looking_values_are_scrubbed_under_any_key(self) -> None:
        """A bearer token or card number under an innocent key goes too (the value rules)."""
        scrubbed = scrub_query("h=Bearer%20abcdefghijkl&n=4111111111111111", SCRUBBER)
        assert "abcdefghijkl" not in scrubbed and "4111111111111111" not in scrubbed

    def test_disabled_scrubber_keeps_values(self) -> None:
        """With scrubbing off (``AFISSUE_SCRUB=0``) the query is only decoded."""
        assert scrub_query("token=abc&x=%20y", Scrubber(enabled=False)) == "token=abc&x= y"


class TestBuildRequest:
    @given(values=_FIELDS)
    def test_any_values_become_a_bounded_valid_request(self, values: dict[str, Any]) -> None:
        """Arbitrary values give known fields only, within the wire's bounds, valid UTF-8."""
        request = build_request(values, SCRUBBER)
        if request is None:
            return
        assert set(request) <= {*_BOUNDS, "status"}
        for name, value in request.items():
            if name == "status":
                assert type(value) is int and 100 <= value <= 599
            else:
                assert isinstance(value, str) and 0 < len(value) <= _BOUNDS[name], name
        json.dumps(request, ensure_ascii=False).encode("utf-8")

    @pytest.mark.parametrize("name", ["path", "query_string", "route", "user_id", "method"])
    def test_long_values_are_cut_at_the_bound_with_an_ellipsis(self, name: str) -> None:
        """A value past its bound keeps its start and ends in "…" exactly at the bound."""
        request: dict[str, Any] = dict(build_request({name: "a" * 10_000}, SCRUBBER) or {})
        value = str(request[name])
        assert len(value) == _BOUNDS[name]
        assert value.endswith("…") and value.strip("…").lower() == "a" * (_BOUNDS[name] - 1)

    def test_plain_request(self) -> None:
        """The usual values come out as sent, the method upper-cased, bytes decoded."""
        request = build_request(
            {"method": "get", "path": "/orders/7", "route": "/orders/{order_id}",
             "query_string": b"page=2&token=abc", "status": 503, "request_id": "r-1",
             "user_id": 42},
            SCRUBBER,
        )
        assert request == {
            "method": "GET", "path": "/orders/7", "route": "/orders/{order_id}",
            "query_string": f"page=2&token={FILTERED}", "status": 503, "request_id": "r-1",
            "user_id": "42",
        }

    def test_secrets_in_the_path_are_scrubbed(self) -> None:
        """A card number or a password pair inside the path is replaced."""
        request = build_request({"path": "/cards/4111111111111111/password=hunter22"}, SCRUBBER)
        assert request == {"path": f"/cards/{FILTERED}/password={FILTERED}"}

    @pytest.mark.parametrize("status", [True, 99, 600, "500", 500.0, None])
    def test_status_outside_http_is_left_out(self, status: Any) -> None:
        """Only an integer from 100 to 599 is a status."""
        assert build_request({"method": "GET", "status": status}, SCRUBBER) == {"method": "GET"}

    def test_nothing_known_is_no_request(self) -> None:
        """Empty or unknown values give no field at all."""
        assert build_request({"path": "", "colour": "red"}, SCRUBBER) is None


class TestRequestField:
    def test_outside_a_request_there_is_none(self) -> None:
        """A log call with no request bound (or no context) has no request field."""
        assert request_field(_in_context(None), SCRUBBER) is None
        assert request_field(None, SCRUBBER) is None

    def test_reader_values_and_fields_merge_fields_winning(self) -> None:
        """What the reader finds in the source is used; fields set explicitly override it."""
        source = {"method": "POST", "path": "/pay", "status": 200}
        context = RequestContext({"status": 500}, source, dict)
        assert request_field(_in_context(context), SCRUBBER) == {
            "method": "POST", "path": "/pay", "status": 500,
        }

    def test_a_failing_reader_leaves_the_fields(self) -> None:
        """A framework object in an unexpected state costs its values, never the event."""

        def broken(source: Any) -> dict[str, Any]:
            raise AttributeError("resolver_match")

        context = RequestContext({"route": "/pay"}, object(), broken)
        assert request_field(_in_context(context), SCRUBBER) == {"route": "/pay"}
