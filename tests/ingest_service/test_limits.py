"""limits: for_body() skips only checks a body could not fail; read_exactly() reads a
declared length."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest_service import IngestSettings
from ingest_service import limits as _limits
from ingest_service.errors import BadRequest

LIMIT = 12

strings = st.text(alphabet=st.sampled_from('ab"\\é\n'), max_size=3 * LIMIT)
documents = st.recursive(
    strings | st.integers(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(strings, inner, max_size=4),
    max_leaves=30,
)


def _longest_string(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return max([0, *(max(len(k), _longest_string(v)) for k, v in value.items())])
    if isinstance(value, list):
        return max([0, *(_longest_string(v) for v in value)])
    return 0


class TestForBody:
    """Skipping the string walk is safe."""

    @settings(max_examples=500, deadline=None)
    @given(documents, st.sampled_from([", ", ","]))
    def test_string_check_is_kept_whenever_a_string_is_too_long(
        self, document: Any, separator: str
    ) -> None:
        """If any key or string decodes to more than the limit, the check stays on."""
        text = json.dumps(document, ensure_ascii=False, separators=(separator, ":"))
        limits = _limits.Limits.from_settings(
            IngestSettings.from_env({}, max_string_chars=LIMIT)
        )

        decided = _limits.for_body(limits, text)

        if _longest_string(document) > LIMIT:
            assert decided.check_strings

    def test_large_batch_of_short_strings_skips_the_walk(self) -> None:
        """A big body whose every string is short needs no string walk (the common case)."""
        limits = _limits.Limits.from_settings(IngestSettings.from_env({}))
        text = json.dumps({"events": [{"title": "x" * 100, "message": "y" * 200}] * 2000})
        assert len(text) > limits.max_string_chars

        assert not _limits.for_body(limits, text).check_strings

    def test_one_long_string_in_a_large_batch_keeps_the_walk(self) -> None:
        """One string over the limit anywhere in a big body turns the walk on."""
        limits = _limits.Limits.from_settings(IngestSettings.from_env({}))
        events = [{"title": "x" * 100}] * 1000
        events[517] = {"title": "z" * (limits.max_string_chars + 1)}

        assert _limits.for_body(limits, json.dumps({"events": events})).check_strings


class _Trickle(io.BytesIO):
    """A stream that returns at most three bytes per read, like a slow socket."""

    def read(self, size: int | None = -1) -> bytes:
        return super().read(3 if size is None or size < 0 else min(size, 3))


class TestReadExactly:
    """Reading a body of declared length."""

    def test_short_reads_are_joined(self) -> None:
        """A stream that hands out a few bytes at a time still yields the whole body."""
        assert _limits.read_exactly(_Trickle(b"0123456789"), 10) == b"0123456789"

    def test_body_shorter_than_declared_is_400(self) -> None:
        """A body that ends before its Content-Length is a 400 naming both sizes."""
        with pytest.raises(BadRequest, match="4 of its 10"):
            _limits.read_exactly(io.BytesIO(b"0123"), 10)
