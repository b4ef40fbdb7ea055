"""The pages never answer 5xx, whatever the query string, issue id or action target.

Hypothesis writes the input; the real Flask app answers it from the real Firestore
emulator. A value the UI cannot use must be a clear 4xx (or be ignored), never a 500
and never a 503 blaming Firestore for what was the request's fault.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import re
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from afissue_logging.wire import STATUSES
from issue_store.query import SORTS
from tests.ingest_service.ui.conftest import csrf_of
from tests.issue_store import seed

_FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))

#: Values that have broken parsers elsewhere: ids Firestore reserves, path tricks,
#: control characters, UTF-8-encoded lone surrogates, invalid UTF-8, big numbers.
_SPECIAL_TEXT = [
    "", " ", ".", "..", "/", "a/b", "__name__", "__x__", "\x00", "\n", "\r\n", "\x7f",
    "%", "%%", "%00", "all", "open", "last_seen", "count", "first_seen", "\u202e", "\ufffd",
    "a" * 200, "a" * 201, "é" * 200, "😀" * 200, "x" * 1501, "1e309", "-0", "NaN",
]
_SPECIAL_BYTES = [b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xff", b"\xc0\xaf", b"\xf4\x90\x80\x80"]

texts = st.one_of(
    st.text(max_size=60),
    st.text(st.characters(codec="utf-8"), max_size=20),
    st.sampled_from(_SPECIAL_TEXT),
    st.integers(min_value=1, max_value=20_000).map(lambda n: "q" * n),
)
raw_values: st.SearchStrategy[bytes] = st.one_of(
    texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=40),
    st.sampled_from(_SPECIAL_BYTES),
)

moments = st.datetimes(
    min_value=_dt.datetime(1, 1, 2), max_value=_dt.datetime(9999, 12, 30),
    timezones=st.sampled_from([_dt.UTC, _dt.timezone(_dt.timedelta(hours=-13))]) | st.none(),
).map(lambda d: d.isoformat())
json_values = st.one_of(
    st.integers(),
    st.integers(min_value=2**62, max_value=2**80),
    st.integers(min_value=-(2**80), max_value=-(2**62)),
    st.floats(),
    moments,
    texts,
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)
cursor_documents = st.fixed_dictionaries(
    {
        "s": st.sampled_from(SORTS) | texts,
        "k": st.sampled_from(["t", "n", "x"]),
        "v": json_values,
        "id": texts | st.sampled_from(["i0", "i1"]),
    }
)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


cursors = st.one_of(
    cursor_documents.map(lambda d: _b64(json.dumps(d).encode("utf-8", "surrogatepass"))),
    st.binary(max_size=80).map(_b64),
    texts,
)


@st.composite
def query_strings(draw: st.DrawFn) -> str:
    """A query string of the list page: known and unknown keys, any values, some repeated,
    percent-encoded from arbitrary bytes (so also invalid UTF-8)."""
    keys = ["cursor", "service", "status", "sort", "q", "limit", "environment", "page", "x"]
    pairs: list[tuple[str, bytes]] = []
    for key in draw(st.lists(st.sampled_from(keys), max_size=6)):
        if key == "cursor":
            value = draw(cursors).encode("utf-8", "surrogatepass")
        elif key == "status":
            value = draw(st.sampled_from([*STATUSES, "all"]).map(str.encode) | raw_values)
        elif key == "sort":
            value = draw(st.sampled_from(SORTS).map(str.encode) | raw_values)
        else:
            value = draw(raw_values)
        pairs.append((key, value))
    return "&".join(f"{k}={quote_from_bytes(v, safe='')}" for k, v in pairs)


@st.composite
def page_cursors(draw: st.DrawFn) -> str:
    """A query string with a cursor that decodes (known sort and kind) and the sort it
    belongs to, so the value and id reach the Firestore query; any filters too."""
    sort = draw(st.sampled_from(SORTS))
    kind = draw(st.sampled_from(["t", "n"]))
    value = draw(moments.filter(lambda m: "+" in m or "-" in m[10:]) if kind == "t" else
                 st.one_of(st.integers(), st.integers(min_value=2**62, max_value=2**80),
                           st.integers(min_value=-(2**80), max_value=-(2**62)), st.floats()))
    document = {"s": sort, "k": kind, "v": value, "id": draw(texts.filter(bool))}
    cursor = _b64(json.dumps(document).encode("utf-8", "surrogatepass"))
    extra = draw(st.sampled_from(["", "&q=issue", "&service=payments", "&status=all"]))
    return f"sort={sort}&cursor={cursor}{extra}"


_FILTER_KEYS = ["is", "service", "env", "environment", "release", "level", "servce", "IS", ""]
_FILTER_VALUES = [
    "open", "unresolved", "resolved", "ignored", "all", "error", "critical", "[error,critical]",
    "[error,", "[]", "[,]", "web", "prod", "1.4.2", '"', "a:b", "::",
]


@st.composite
def search_texts(draw: st.DrawFn) -> str:
    """What people type in the search box: filters (known, unknown, repeated, lists,
    broken lists), quoted phrases and words, with arbitrary text mixed in."""
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["filter", "word", "quote", "text"]))
        if kind == "filter":
            value = draw(st.sampled_from(_FILTER_VALUES) | texts.filter(lambda t: " " not in t))
            parts.append(f"{draw(st.sampled_from(_FILTER_KEYS))}:{value}")
        elif kind == "word":
            parts.append(draw(st.sampled_from(["KeyError", "issue", "order_id", "x", "Issue 1"])))
        elif kind == "quote":
            parts.append(f'"{draw(texts)}"')
        else:
            parts.append(draw(texts))
    return " ".join(parts)


issue_ids = st.one_of(raw_values.filter(bool), st.sampled_from([b"i0", b"i1", b"i2"]))


@pytest.fixture
def seeded(operator: FlaskClient, db: Any) -> FlaskClient:
    """The logged-in client, with a few issues of each status and sort value to page through."""
    for n in range(3):
        seed.put(db, "issues", seed.issue(f"i{n}", title=f"Issue {n}", count=n + 1,
                                          status=STATUSES[n]), occurrences=1)
    return operator


class TestAnyInput:
    """Whatever a browser or a script sends, the answer is below 500."""

    @_FUZZ
    @given(query=query_strings())
    def test_list_query_strings(self, seeded: FlaskClient, query: str) -> None:
        """Any filters, sort, cursor and unknown keys: a page, or a 4xx naming the value."""
        response = seeded.get(f"/issues?{query}")
        event(f"status {response.status_code}")

        html = response.get_data(as_text=True)
        assert response.status_code in (200, 400), (query, html[-600:])
        if response.status_code == 400:
            assert re.search(r"\b(cursor|status|sort|limit|service|search|environment) ", html), (
                query, html[-600:])

    @_FUZZ
    @given(search=search_texts(), extra=st.sampled_from(["", "&status=open", "&service=payments&sort=count"]))
    def test_search_box(self, seeded: FlaskClient, search: str, extra: str) -> None:
        """Any search box text, with or without the separate filters: a page, or a 400
        whose message names the search."""
        raw = search.encode("utf-8", "surrogatepass")
        response = seeded.get(f"/issues?q={quote_from_bytes(raw, safe='')}{extra}")
        event(f"status {response.status_code}")

        html = response.get_data(as_text=True)
        assert response.status_code in (200, 400), (search, html[-600:])
        if response.status_code == 400:
            assert re.search(r"\b(search|status|service|environment|sort) ", html), (search, html[-600:])

    @_FUZZ
    @given(query=page_cursors())
    def test_page_cursors(self, seeded: FlaskClient, query: str) -> None:
        """A well-formed cursor with any sort value and issue id: a page, or a 400."""
        response = seeded.get(f"/issues?{query}")
        event(f"status {response.status_code}")

        assert response.status_code in (200, 400), (query, response.get_data(as_text=True)[-600:])

    @_FUZZ
    @given(issue_id=issue_ids)
    def test_detail_paths(self, seeded: FlaskClient, issue_id: bytes) -> None:
        """Any issue id in the path: the issue, or a 4xx."""
        path = f"/issues/{quote_from_bytes(issue_id, safe='')}"

        response = seeded.get(path)
        event(f"status {response.status_code}")

        assert response.status_code < 500, (path, response.get_data(as_text=True)[-600:])

    @_FUZZ
    @given(issue_id=issue_ids, action=st.sampled_from(["resolve", "ignore", "reopen"]))
    def test_action_posts(self, seeded: FlaskClient, issue_id: bytes, action: str) -> None:
        """Any issue id as the target of an action: done (303) or a 4xx."""
        path = f"/issues/{quote_from_bytes(issue_id, safe='')}/{action}"

        response = seeded.post(path, data={"csrf_token": csrf_of(seeded, "/issues")})
        event(f"status {response.status_code}")

        assert response.status_code < 500, (path, response.get_data(as_text=True)[-600:])
