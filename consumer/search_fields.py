"""The issue document's ``search_tokens``: planned with each write, from what it shows.

Word tokens come from the title, the exception's type and value, the culprit and the
message of the latest occurrence (``issue_store.tokens``: the reader tokenizes searches
with the same rules); facet tokens from the stored level and the releases seen
(``level:error``, ``release:1.4.2``). The field is written only when it changes, inside
the issue's own write: no extra Firestore write, and no index churn for a steady issue.
A document written before this field gets it with its next newer occurrence
(``docs/consumer.md``, "Search tokens").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from issue_store import tokens

__all__ = ["planned_tokens", "search_texts"]


def search_texts(event: Mapping[str, Any], culprit: str) -> list[str]:
    """The texts of *event* that are searched, most important first."""
    texts = [event.get("title")]
    exception = event.get("exception")
    if isinstance(exception, dict):
        texts.extend((exception.get("type"), exception.get("value")))
    texts.extend((culprit, event.get("message")))
    return [t for t in texts if isinstance(t, str)]


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def planned_tokens(
    existing: Mapping[str, Any] | None,
    fields: Mapping[str, Any],
    event: Mapping[str, Any],
    culprit: str,
) -> dict[str, Any]:
    """``{"search_tokens": [...]}`` when the write *fields* change them, else ``{}``."""
    stored = existing or {}
    old = _strings(stored.get("search_tokens"))
    if "latest" in fields or not old:
        words = tokens.word_tokens(search_texts(event, culprit))
    else:
        words = [t for t in old if not tokens.is_facet(t)]
    releases = fields["releases"] if "releases" in fields else stored.get("releases")
    planned = words + tokens.facets_of(fields.get("level", stored.get("level")), releases)
    return {} if planned == old else {"search_tokens": planned}
