"""Every refusal of POST /api/v1/issues: exact status, JSON body naming the field."""

from __future__ import annotations

import dataclasses
import gzip
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest_service import IngestSettings
from ingest_service.models import ISSUE_TYPES, PRIORITIES
from tests.ingest_service.conftest import SEED_BODY

URL = "/api/v1/issues"


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error: dict[str, Any] = response.get_json()["error"]
    assert error["status"] == status
    return error


@pytest.fixture
def small(make_app: Any, settings: IngestSettings) -> FlaskClient:
    """A client of an app with tiny limits, to reach each one cheaply."""
    tight = dataclasses.replace(
        settings,
        max_body_bytes=2000,
        max_batch_events=3,
        max_string_chars=100,
        max_frames=4,
        max_depth=6,
        max_event_bytes=1500,
    )
    app: Flask = make_app(tight)
    return app.test_client()


class TestBadRequest:
    """400: the body is not well-formed."""

    def test_malformed_json_names_the_position(self, client: FlaskClient) -> None:
        """Broken JSON is 400 with line and column."""
        response = client.post(URL, data=b'{"title": ', content_type="application/json")

        error = _error(response, 400)
        assert error["field"] == "body"
        assert error["message"].startswith("malformed JSON at line 1 column 11")

    def test_body_shorter_than_its_content_length(self, client: FlaskClient) -> None:
        """A body that ends before its declared length is 400, not a hang or a 5xx."""
        response = client.post(
            URL,
            data=json.dumps(SEED_BODY),
            content_type="application/json",
            environ_overrides={"CONTENT_LENGTH": "9999"},
        )

        assert "declared bytes" in _error(response, 400)["message"]

    def test_non_ascii_digits_in_content_length_are_not_a_length(
        self, client: FlaskClient
    ) -> None:
        """A Content-Length of Unicode digits (isdigit() but not int()) is no 5xx."""
        response = client.post(
            URL,
            data=json.dumps(SEED_BODY),
            content_type="application/json",
            environ_overrides={"CONTENT_LENGTH": "\u00b2"},
        )

        assert response.status_code < 500

    def test_invalid_utf8_names_the_byte(self, client: FlaskClient) -> None:
        """Bytes that are not UTF-8 are 400 naming the offset."""
        response = client.post(URL, data=b'{"title": "\xff"}', content_type="application/json")

        error = _error(response, 400)
        assert error["message"] == "body is not valid UTF-8: byte 11 (b'\\xff')"

    def test_nan_is_not_json(self, client: FlaskClient) -> None:
        """NaN / Infinity are refused as they are not JSON."""
        response = client.post(
            URL, data=b'{"title": "x", "count": NaN}', content_type="application/json"
        )

        assert _error(response, 400)["message"] == "malformed JSON: NaN is not valid JSON"

    def test_lone_surrogate_is_refused(self, client: FlaskClient) -> None:
        """A JSON escape of half a UTF-16 pair cannot be re-encoded, so it is refused."""
        response = client.post(
            URL, data=b'{"title": "a\\ud800"}', content_type="application/json"
        )

        error = _error(response, 400)
        assert error["field"] == "title"

    def test_bad_gzip(self, client: FlaskClient) -> None:
        """A gzip body that does not inflate is 400."""
        response = client.post(
            URL,
            data=b"not gzip at all",
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )

        assert _error(response, 400)["message"].startswith("body is not valid gzip")


class TestUnsupportedMediaType:
    """415: not JSON, or an encoding we do not speak."""

    def test_text_plain(self, client: FlaskClient) -> None:
        """A text/plain body is 415 naming Content-Type."""
        response = client.post(URL, data=json.dumps(SEED_BODY), content_type="text/plain")

        error = _error(response, 415)
        assert error["field"] == "Content-Type"
        assert error["message"] == "Content-Type must be application/json, got 'text/plain'"

    def test_missing_content_type(self, client: FlaskClient) -> None:
        """No Content-Type at all is 415."""
        response = client.post(URL, data=json.dumps(SEED_BODY))

        assert _error(response, 415)["message"].endswith("got 'none'")

    def test_unknown_content_encoding(self, client: FlaskClient) -> None:
        """Content-Encoding other than gzip/identity is 415."""
        response = client.post(
            URL,
            data=json.dumps(SEED_BODY),
            headers={"Content-Type": "application/json", "Content-Encoding": "br"},
        )

        assert _error(response, 415)["field"] == "Content-Encoding"


class TestPayloadTooLarge:
    """413: each documented limit."""

    def test_body_bytes(self, small: FlaskClient) -> None:
        """A body over max_body_bytes is 413 naming the body."""
        response = small.post(URL, json={"title": "x", "extra": {"k": "v" * 90} | {
            f"k{i}": "v" * 90 for i in range(30)}})

        error = _error(response, 413)
        assert error["field"] == "body"
        assert "exceeds the limit of 2000 bytes" in error["message"]

    def test_gzip_bomb(self, small: FlaskClient) -> None:
        """A small gzip body inflating past max_body_bytes is 413."""
        bomb = gzip.compress(b'{"title": "' + b"a" * 100_000 + b'"}')

        response = small.post(
            URL, data=bomb, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
        )

        assert _error(response, 413)["message"] == (
            "decompressed body exceeds the limit of 2000 bytes"
        )

    def test_batch_length(self, small: FlaskClient) -> None:
        """More events than max_batch_events is 413 naming events."""
        response = small.post(URL, json={"events": [{"title": "t"}] * 4})

        error = _error(response, 413)
        assert error["field"] == "events"
        assert error["message"] == "batch of 4 events exceeds the limit of 3"

    def test_string_length(self, small: FlaskClient) -> None:
        """A string longer than max_string_chars is 413 naming its path."""
        response = small.post(URL, json={"title": "t", "tags": {"k": "v" * 101}})

        error = _error(response, 413)
        assert error["field"] == "tags.k"
        assert error["message"] == "string of 101 characters exceeds the limit of 100"

    def test_string_with_escaped_quotes(self, small: FlaskClient) -> None:
        """Escaped quotes do not hide a string that is too long."""
        response = small.post(URL, json={"title": "t", "tags": {"k": 'a"' * 60}})

        assert _error(response, 413)["field"] == "tags.k"

    def test_frame_count(self, small: FlaskClient) -> None:
        """More frames than max_frames is 413 naming the frames array."""
        frames = [{"function": "f", "module": "m"}] * 5
        body = {"title": "t", "exception": {"type": "E", "frames": frames}}

        error = _error(small.post(URL, json=body), 413)

        assert error["field"] == "exception.frames"
        assert error["message"] == "5 frames exceed the limit of 4"

    def test_nesting_depth(self, small: FlaskClient) -> None:
        """Objects nested deeper than max_depth are 413 naming where."""
        deep: dict[str, Any] = {}
        node = deep
        for _ in range(8):
            node["a"] = {}
            node = node["a"]

        error = _error(small.post(URL, json={"title": "t", "extra": deep}), 413)

        assert error["field"].startswith("extra.a.a.a.a")
        assert error["message"] == "nesting deeper than 6 levels"

    def test_absurd_nesting_is_413_not_a_crash(self, client: FlaskClient) -> None:
        """Nesting beyond the JSON parser's recursion limit is still a clean 413."""
        body = b"[" * 200_000 + b"]" * 200_000

        response = client.post(URL, data=body, content_type="application/json")

        assert response.status_code == 413

    def test_batch_item_over_a_limit_is_rejected_alone(self, small: FlaskClient) -> None:
        """In a batch, an item over a limit is rejected; the others are accepted."""
        response = small.post(URL, json={"events": [{"title": "t"}, {"title": "x" * 101}]})

        assert response.status_code == 202
        first, second = response.get_json()["results"]
        assert first["status"] == "accepted"
        assert second == {
            "index": 1,
            "status": "rejected",
            "error": {
                "field": "events[1].title",
                "message": "string of 101 characters exceeds the limit of 100",
            },
        }


class TestValidationFailed:
    """422: well-formed JSON that is not an event."""

    def test_missing_title(self, client: FlaskClient) -> None:
        """An event without a title is 422 naming title."""
        error = _error(client.post(URL, json={"description": "d"}), 422)

        assert error["field"] == "title"
        assert error["message"] == "title: Field required"

    def test_wrong_type(self, client: FlaskClient) -> None:
        """A count that is not an integer is 422 naming count."""
        error = _error(client.post(URL, json={"title": "t", "count": "many"}), 422)

        assert error["field"] == "count"

    def test_nested_field_is_named_with_its_path(self, client: FlaskClient) -> None:
        """Errors inside frames name the full path."""
        body = {"title": "t", "exception": {"type": "E", "frames": [{"lineno": -1}]}}

        error = _error(client.post(URL, json=body), 422)

        assert error["field"] == "exception.frames[0].lineno"

    def test_bad_timestamp(self, client: FlaskClient) -> None:
        """A timestamp without a timezone is 422."""
        error = _error(client.post(URL, json={"title": "t", "timestamp": "2026-01-01T00:00"}), 422)

        assert error["field"] == "timestamp"
        assert "RFC 3339" in error["message"]

    def test_array_body(self, client: FlaskClient) -> None:
        """A bare JSON array is not an event."""
        error = _error(client.post(URL, json=[1, 2]), 422)

        assert error["message"] == "an event must be a JSON object, got list"

    def test_empty_batch(self, client: FlaskClient) -> None:
        """A batch must hold at least one event."""
        assert _error(client.post(URL, json={"events": []}), 422)["field"] == "events"

    def test_every_problem_is_listed(self, client: FlaskClient) -> None:
        """All schema problems are in details, the first one is the headline."""
        error = _error(client.post(URL, json={"count": 0, "pid": -1}), 422)

        assert {d["field"] for d in error["details"]} == {"title", "count", "pid"}


    @pytest.mark.parametrize(
        ("field", "allowed"),
        [("type", ISSUE_TYPES), ("priority", PRIORITIES)],
    )
    def test_unknown_vocabulary_value_names_the_allowed_ones(
        self, client: FlaskClient, field: str, allowed: tuple[str, ...]
    ) -> None:
        """A type or priority outside its vocabulary is 422 listing every allowed value."""
        error = _error(client.post(URL, json={**SEED_BODY, field: "urgent-ish"}), 422)

        assert error["field"] == field
        for value in allowed:
            assert f"'{value}'" in error["message"], error["message"]

    @pytest.mark.parametrize(("field", "value"), [("type", " Bug "), ("priority", "HIGH")])
    def test_vocabulary_values_are_read_in_any_case(
        self, client: FlaskClient, field: str, value: str
    ) -> None:
        """Case and surrounding spaces do not matter."""
        assert client.post(URL, json={**SEED_BODY, field: value}).status_code == 202


class TestOtherRoutes:
    """Routing errors are JSON too."""

    def test_unknown_path_is_json_404(self, client: FlaskClient) -> None:
        """404 is a JSON error."""
        _error(client.get("/api/v1/nope"), 404)

    def test_wrong_method_is_json_405(self, client: FlaskClient) -> None:
        """GET on the POST-only endpoint is a JSON 405."""
        _error(client.get(URL), 405)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(["title", "count", "events", "exception", "frames", "extra", "x"])
        | st.text(max_size=5),
        children,
        max_size=4,
    ),
    max_leaves=20,
)


class TestArbitraryInput:
    """No body of any kind is answered with a 5xx."""

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=st.binary(max_size=300))
    def test_arbitrary_bytes(self, client: FlaskClient, body: bytes) -> None:
        """Random bytes get a 4xx (or 202 if they happen to be an event), never 5xx."""
        response = client.post(URL, data=body, content_type="application/json")

        assert response.status_code < 500

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(document=_json)
    def test_arbitrary_json(self, client: FlaskClient, document: Any) -> None:
        """Random JSON documents get a 4xx or 202, never 5xx."""
        response = client.post(URL, json=document)

        assert response.status_code < 500
