"""Search tokens: the words of an issue as the consumer stores them and a search asks."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from issue_store import tokens


class TestWordTokens:
    def test_identifiers_yield_their_parts(self) -> None:
        """``KeyError`` and ``order_id`` are searchable whole and by their parts."""
        found = tokens.word_tokens(["KeyError: 'order_id'", "HTTPError in orders.api"])
        assert found[:6] == ["keyerror", "key", "error", "order_id", "order", "id"]
        assert {"httperror", "http", "orders", "api"} <= set(found)

    def test_ids_and_one_letter_words_are_dropped(self) -> None:
        """Long numbers and hashes would spend the budget and are never typed."""
        found = tokens.word_tokens(["a 404 1234567 deadbeefdeadbeef12345 x"])
        assert found == ["404"]

    @given(st.lists(st.text(), max_size=8))
    def test_bounded_lowercase_and_unique(self, texts: list[str]) -> None:
        """Any texts give at most MAX_TOKENS distinct lowercase tokens of bounded length."""
        found = tokens.word_tokens(texts)
        assert len(found) <= tokens.MAX_TOKENS
        assert len(set(found)) == len(found)
        assert all(2 <= len(t) <= tokens.MAX_TOKEN_CHARS and t == t.lower() for t in found)
        assert not any(tokens.is_facet(t) for t in found)

    @given(st.text(alphabet=st.characters(categories=("L", "Nd")) | st.just("_"), min_size=2, max_size=30))
    def test_a_word_is_found_by_its_query(self, word: str) -> None:
        """Every token a search asks for a stored word is among the word's tokens."""
        assert set(tokens.query_words(word)) <= set(tokens.word_tokens([word]))


class TestFacet:
    def test_facets_are_bounded_and_recognised(self) -> None:
        """A facet token names its facet and is cut to MAX_FACET_CHARS."""
        token = tokens.facet("release", "x" * 500)
        assert token.startswith("release:") and len(token) == tokens.MAX_FACET_CHARS
        assert tokens.is_facet(token)
