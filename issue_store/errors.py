"""The issue store's errors, shared by the reader's callers (web UI and CLI)."""

from __future__ import annotations

__all__ = ["FirestoreUnavailable", "IssueNotFound"]


class IssueNotFound(LookupError):
    """No issue document has this id."""


class FirestoreUnavailable(RuntimeError):
    """Firestore could not complete the request; nothing was changed."""
