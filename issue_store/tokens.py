"""Words of an issue as search tokens: what the consumer stores and what a search asks for.

The consumer writes ``search_tokens`` on each issue document at flush time from the
title, the exception type, the culprit and the message (``consumer.search_fields``);
the reader tokenizes a search the same way (``issue_store.search``), so both sides must
use this module. Rules:

- words are runs of letters, digits and ``_``; everything is lowercased;
- an identifier also yields its parts: ``KeyError`` gives ``keyerror``, ``key``,
  ``error``; ``order_id`` gives ``order_id``, ``order``, ``id``; ``orders.api`` is two
  words. A search word matches its whole form, so ``key`` finds ``KeyError`` and
  ``keyerror`` finds it too;
- tokens shorter than 2 or longer than :data:`MAX_TOKEN_CHARS` characters are dropped,
  and so are values that look like ids (pure numbers over 6 digits, mixed letters and
  digits over 16 characters): they would spend the budget and never be typed;
- at most :data:`MAX_TOKENS` word tokens, the title's first: a long message's tail is
  not searchable;
- facets (``level:error``, ``release:1.2.3``) are tokens too, so a filter and words can
  share one array query; they never collide with words, which hold no ``:``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "MAX_FACET_CHARS",
    "MAX_TOKENS",
    "MAX_TOKEN_CHARS",
    "facet",
    "facets_of",
    "is_facet",
    "query_words",
    "stored_texts",
    "word_tokens",
]

MAX_TOKENS = 100
MAX_TOKEN_CHARS = 40
MAX_FACET_CHARS = 200
_WORD = re.compile(r"[^\W_]+(?:_+[^\W_]+)*", re.UNICODE)
# lower→Upper, and the end of an acronym before a capitalised word (HTTPError → http, error)
_CAMEL = re.compile(r"(?<=[^\W\d_])(?=[A-Z][a-z])|(?<=[a-z\d])(?=[A-Z])")


def _keep(token: str) -> bool:
    if not 2 <= len(token) <= MAX_TOKEN_CHARS:
        return False
    if token.isdigit():
        return len(token) <= 6
    return len(token) <= 16 or not any(c.isdigit() for c in token)


def _forms(word: str) -> list[str]:
    """The word's whole form, then its parts (camelCase humps and ``_`` pieces)."""
    forms = [word.lower()]
    for piece in word.split("_"):
        forms.extend(part.lower() for part in _CAMEL.split(piece))
    return forms


def word_tokens(texts: Iterable[str], limit: int = MAX_TOKENS) -> list[str]:
    """The search tokens of *texts*, in order of first appearance, at most *limit*."""
    seen: dict[str, None] = {}
    for text in texts:
        for match in _WORD.finditer(text):
            for token in _forms(match.group()):
                if token not in seen and _keep(token):
                    seen[token] = None
                    if len(seen) == limit:
                        return list(seen)
    return list(seen)


def query_words(text: str) -> list[str]:
    """The tokens a search text requires: each word's whole form (``KeyError`` →
    ``keyerror``; ``orders.py`` → ``orders``, ``py``)."""
    seen: dict[str, None] = {}
    for match in _WORD.finditer(text):
        token = match.group().lower()
        if _keep(token):
            seen[token] = None
    return list(seen)


def facet(name: str, value: str) -> str:
    """The token of a facet value (``level:error``), cut to :data:`MAX_FACET_CHARS`."""
    return f"{name}:{value}"[:MAX_FACET_CHARS]


def is_facet(token: str) -> bool:
    """Whether *token* is a facet rather than a word."""
    return ":" in token


def stored_texts(document: dict[str, object]) -> list[str]:
    """The searched texts of a stored issue document, in the consumer's order (title,
    exception type and value, culprit, message): what ``afissue reindex`` tokenizes."""
    latest = document.get("latest")
    latest = latest if isinstance(latest, dict) else {}
    exception = latest.get("exception")
    exception = exception if isinstance(exception, dict) else {}
    texts = [document.get("title"), exception.get("type"), exception.get("value"),
             document.get("culprit"), latest.get("message")]
    return [t for t in texts if isinstance(t, str)]


def facets_of(level: object, releases: object) -> list[str]:
    """The facet tokens of an issue's level and releases."""
    found = [facet("level", level)] if isinstance(level, str) else []
    if isinstance(releases, list):
        found.extend(facet("release", r) for r in releases if isinstance(r, str))
    return list(dict.fromkeys(found))
