"""Writing ``search_tokens`` on issue documents that lack them (written before the field).

The consumer writes the field with an issue's next newer occurrence; an issue that
never recurs would stay unsearchable by words. ``afissue reindex`` walks the collection
in document-id order, in pages, and sets the tokens computed from the stored title,
culprit, latest exception and message, level and releases (``issue_store.tokens``, the
rules the consumer uses). Each update is conditional on the document's update time, so
a document the consumer wrote meanwhile is left to it. Idempotent: run it again after
an interruption and it only touches what is still missing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from issue_store import tokens

__all__ = ["ReindexProgress", "planned_tokens_of", "reindex"]


@dataclasses.dataclass
class ReindexProgress:
    """Documents read, updated (or with ``dry_run``, to update), and skipped as changed."""

    read: int = 0
    updated: int = 0
    changed_meanwhile: int = 0


def planned_tokens_of(document: dict[str, Any]) -> list[str]:
    """The ``search_tokens`` the consumer would give the stored *document*."""
    return tokens.word_tokens(tokens.stored_texts(document)) + tokens.facets_of(
        document.get("level"), document.get("releases")
    )


def reindex(
    db: Any,
    collection: str = "issues",
    *,
    everything: bool = False,
    dry_run: bool = False,
    page_size: int = 200,
    progress: Callable[[ReindexProgress], None] | None = None,
) -> ReindexProgress:
    """Set ``search_tokens`` where missing (with *everything*, where different)."""
    from google.api_core import exceptions as gexc

    done = ReindexProgress()
    query = db.collection(collection).order_by("__name__")
    after = None
    while True:
        ordered = query.start_after(after) if after is not None else query
        page = list(ordered.limit(page_size).stream())
        for snapshot in page:
            done.read += 1
            row = snapshot.to_dict() or {}
            have = row.get("search_tokens")
            if isinstance(have, list) and not everything:
                continue
            planned = planned_tokens_of(row)
            if planned == have:
                continue
            if not dry_run:
                try:
                    snapshot.reference.update(
                        {"search_tokens": planned},
                        option=db.write_option(last_update_time=snapshot.update_time),
                    )
                except gexc.FailedPrecondition:
                    done.changed_meanwhile += 1
                    continue
            done.updated += 1
        if progress is not None:
            progress(done)
        if len(page) < page_size:
            return done
        after = page[-1]
