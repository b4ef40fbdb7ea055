"""The search box's language: filters and words as Sentry users type them."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from afissue_logging import wire
from issue_store.search import MAX_WORDS, Search, SearchError, parse

_value = st.text(alphabet="abcdefghijklmnop0123456789.-", min_size=1, max_size=12)
_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=2, max_size=12).filter(
    lambda w: w.strip("_") == w and "__" not in w
)


class TestParse:
    def test_filters_and_words(self) -> None:
        """Each filter sets its field; the other words are required tokens."""
        found = parse("is:unresolved service:web environment:prod release:1.4.2 level:error KeyError order")
        assert found == Search("open", "web", "prod", "1.4.2", ("error",), ("keyerror", "order"))

    def test_quoted_and_pasted_colons_are_text(self) -> None:
        """A quoted ``key:value`` and a pasted ``KeyError: 'x'`` are searched as words."""
        assert parse('"service:web"').words == ("service", "web")
        assert parse("KeyError: 'order_id'").words == ("keyerror", "order_id")

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("servce:web", "servce: is not a filter"),
            ("is:closed", "is:closed is not a status"),
            ("level:loud", "level:loud is not a level"),
            ("service:a service:b", "service: is given twice"),
            ("service:[a,b]", "service: takes one value"),
            ("x", "no word to search for"),
            (" ".join(f"w{n}x" for n in range(MAX_WORDS + 1)), "at most 10 expected"),
        ],
    )
    def test_errors_name_the_part(self, text: str, message: str) -> None:
        """Each refused search says which part is wrong and what was expected."""
        with pytest.raises(SearchError, match=message):
            parse(text)

    @given(
        st.none() | st.sampled_from(("open", "resolved", "ignored", "all")),
        st.none() | _value, st.none() | _value, st.none() | _value,
        st.lists(st.sampled_from(wire.LEVELS), unique=True, max_size=3),
        st.lists(_word, unique=True, max_size=MAX_WORDS),
    )
    def test_text_round_trips(
        self, status: str | None, service: str | None, env: str | None, release: str | None,
        levels: list[str], words: list[str],
    ) -> None:
        """``parse(search.text())`` gives the same search back."""
        search = Search(status, service, env, release, tuple(levels), tuple(words))
        assert parse(search.text()) == search

    @given(st.text(max_size=200))
    def test_anything_parses_or_is_refused(self, text: str) -> None:
        """Any text is a search or a ``SearchError``, nothing else."""
        with contextlib.suppress(SearchError):
            parse(text)
