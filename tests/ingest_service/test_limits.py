"""for_body(): the checks it skips for a body are checks that body could not fail."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest_service import IngestSettings
from ingest_service import limits as _limits

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
