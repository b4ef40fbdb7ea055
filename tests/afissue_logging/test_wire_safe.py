"""``wire.firestore_safe``: any JSON-like value becomes one Firestore stores as it is."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from afissue_logging.wire import firestore_safe
from tests.firestore_rules import size, violations

_keys = st.one_of(st.text(max_size=5), st.sampled_from(["", "__x__", "~", "~__x__"]),
                  st.text(min_size=257, max_size=300))
_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.floats(), st.text(max_size=50),
              st.integers(min_value=-(2**80), max_value=2**80), st.binary(max_size=5),
              st.text(alphabet=st.characters(categories=["Cs"]), max_size=3)),
    lambda inner: st.lists(inner, max_size=5) | st.tuples(inner, inner)
    | st.dictionaries(_keys, inner, max_size=5),
    max_leaves=60,
)


class TestFirestoreSafe:
    """firestore_safe()"""

    @settings(max_examples=300)
    @given(value=_values, budget=st.integers(min_value=64, max_value=4096))
    def test_result_breaks_no_firestore_rule_and_keeps_the_budget(
        self, value: Any, budget: int
    ) -> None:
        """Whatever goes in, the result nests no arrays, has no reserved or empty keys,
        only int64 integers and valid UTF-8, and stays near the byte budget."""
        safe = firestore_safe({"v": value}, max_bytes=budget, max_entries=200)
        assert violations(safe) == []
        assert size(safe) <= budget + 600  # a cut marker and one key may pass it

    def test_plain_values_are_kept_as_they_are(self) -> None:
        """Ordinary extra fields are unchanged."""
        value = {"user": "ann", "n": 3, "ratio": 0.5, "tags": ["a", "b"], "nested": {"ok": True}}
        assert firestore_safe(value) == value

    def test_nested_arrays_become_json_text(self) -> None:
        """A matrix is kept readable as the JSON text of each row."""
        assert firestore_safe({"m": [[1, 2], [3]]}) == {"m": ["[1, 2]", "[3]"]}

    def test_reserved_and_empty_keys_are_escaped_without_losing_values(self) -> None:
        """``""`` and ``__x__`` keys get a ``~`` prefix, and a clash keeps both values."""
        assert firestore_safe({"": 1, "__x__": 2, "~__x__": 3}) == {
            "~": 1, "~__x__": 2, "~__x__~": 3}

    def test_large_values_are_cut_with_a_marker(self) -> None:
        """Past the budget, strings are cut and the remaining items are counted, not lost
        silently."""
        safe = firestore_safe({"items": list(range(10_000))}, max_bytes=1024)
        assert safe["items"][-1].endswith("more items omitted")
        assert firestore_safe("x" * 5000, max_bytes=100).endswith("…")
