"""The search box's language, as Sentry users type it: filters and words in one string.

``is:resolved service:web env:prod release:1.4.2 level:[error,critical] KeyError order``

- ``is:open`` / ``is:unresolved``, ``is:resolved``, ``is:ignored``, ``is:all`` (any status);
- ``service:``, ``env:`` (or ``environment:``), ``release:`` take one value;
  ``level:`` one value or a list ``level:[error,critical]`` (any of them);
- every other word must appear in the issue (AND), matched as search tokens
  (``issue_store.tokens``): whole words and identifier parts, not substrings;
- ``"..."`` quotes a phrase whose words are searched (so ``"ValueError: x"`` is text);
  a ``key:`` with an unknown key is an error that names the known ones, while a colon
  followed by a space (a pasted ``KeyError: 'x'``) is just text.

:func:`parse` turns a string into a :class:`Search`; :meth:`Search.text` writes one back.
"""

from __future__ import annotations

import dataclasses
import re

from afissue_logging import wire
from issue_store.tokens import MAX_TOKEN_CHARS, query_words

__all__ = ["FILTER_KEYS", "MAX_WORDS", "Search", "SearchError", "parse"]

FILTER_KEYS = ("is", "service", "env", "release", "level")
#: Most words a search may require (Firestore's ``array-contains-any`` takes 30 values).
MAX_WORDS = 10
_ALIASES = {"environment": "env"}
_IS = {"open": "open", "unresolved": "open", "resolved": "resolved", "ignored": "ignored", "all": "all"}
_PART = re.compile(r'"([^"]*)"?|(\S+)')
_FILTER = re.compile(r"^([A-Za-z_]+):(\S+)$")


class SearchError(ValueError):
    """A search string that cannot be used; the message says which part and why."""


@dataclasses.dataclass(frozen=True)
class Search:
    """A parsed search: the filters it sets (None: not set) and the words it requires."""

    status: str | None = None  # a wire status, "all", or None (not said)
    service: str | None = None
    environment: str | None = None
    release: str | None = None
    levels: tuple[str, ...] = ()
    words: tuple[str, ...] = ()

    def text(self) -> str:
        """The search as one would type it (``parse(s.text()) == s``)."""
        parts = []
        if self.status is not None:
            parts.append(f"is:{self.status}")
        for key, value in (("service", self.service), ("env", self.environment),
                           ("release", self.release)):
            if value is not None:
                parts.append(f"{key}:{value}")
        if len(self.levels) == 1:
            parts.append(f"level:{self.levels[0]}")
        elif self.levels:
            parts.append(f"level:[{','.join(self.levels)}]")
        parts.extend(self.words)
        return " ".join(parts)


def _one(key: str, value: str) -> str:
    if value.startswith("[") or "," in value:
        raise SearchError(f"{key}: takes one value, not {value!r}")
    if len(value) > 200:
        raise SearchError(f"{key}: value is {len(value)} characters long; at most 200 expected")
    return value


def _levels(value: str) -> tuple[str, ...]:
    names = value[1:-1].split(",") if value.startswith("[") and value.endswith("]") else [value]
    levels = tuple(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
    wrong = [n for n in levels if n not in wire.LEVELS]
    if wrong or not levels:
        raise SearchError(
            f"level:{value} is not a level; expected one of {', '.join(wire.LEVELS)}"
            " or a list like level:[error,critical]"
        )
    return levels


def parse(text: str) -> Search:
    """The :class:`Search` that *text* asks for; ``SearchError`` names what is wrong."""
    found: dict[str, object] = {}
    words: list[str] = []
    for match in _PART.finditer(text):
        quoted, bare = match.group(1), match.group(2)
        part = bare if bare is not None else None
        pair = _FILTER.match(part) if part is not None else None
        if pair is None:
            words.extend(query_words(quoted if quoted is not None else part or ""))
            continue
        key, value = pair.group(1).lower(), pair.group(2)
        key = _ALIASES.get(key, key)
        if key not in FILTER_KEYS:
            raise SearchError(
                f"{key}: is not a filter; use {', '.join(k + ':' for k in FILTER_KEYS)} "
                f'or quote it ("{part}") to search the text'
            )
        if key in found:
            raise SearchError(f"{key}: is given twice; give it once")
        if key == "is":
            if value.lower() not in _IS:
                raise SearchError(f"is:{value} is not a status; expected one of {', '.join('is:' + s for s in _IS)}")
            found[key] = _IS[value.lower()]
        elif key == "level":
            found[key] = _levels(value)
        else:
            found[key] = _one(key, value)
    words = list(dict.fromkeys(words))
    if len(words) > MAX_WORDS:
        raise SearchError(f"the search has {len(words)} words; at most {MAX_WORDS} expected")
    if not words and not found and text.strip():
        raise SearchError(
            f"{text.strip()[:40]!r} has no word to search for (words have 2 to {MAX_TOKEN_CHARS} letters or digits)"
        )
    return Search(
        status=found.get("is"),  # type: ignore[arg-type]
        service=found.get("service"),  # type: ignore[arg-type]
        environment=found.get("env"),  # type: ignore[arg-type]
        release=found.get("release"),  # type: ignore[arg-type]
        levels=found.get("level", ()),  # type: ignore[arg-type]
        words=tuple(words),
    )
