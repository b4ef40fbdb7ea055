"""What an issue id may be: the one rule, used by the consumer, the web UI and the CLI.

An issue id is the id of its Firestore document, so it must be a valid document id
(https://firebase.google.com/docs/firestore/quotas#collections_documents_and_fields): at
most 1,500 bytes of UTF-8, not ``.`` or ``..``, no ``/``, and not matching ``__.*__``.
The consumer dead-letters an event whose id breaks the rule; the reader answers "no such
issue" for one (no document can have it) without asking Firestore.
"""

from __future__ import annotations

__all__ = ["MAX_ISSUE_ID_BYTES", "issue_id_problem", "valid_issue_id"]

#: Firestore's limit on a document id, in bytes of UTF-8.
MAX_ISSUE_ID_BYTES = 1500
#: Below this many characters an id cannot exceed the byte limit (4 bytes a character).
_SURELY_SHORT = MAX_ISSUE_ID_BYTES // 4


def issue_id_problem(issue_id: str) -> str | None:
    """Why *issue_id* cannot name a Firestore document, or None when it can."""
    if not issue_id:
        return "it is empty"
    if "/" in issue_id:
        return "it contains '/'"
    if issue_id in (".", ".."):
        return f"{issue_id!r} is reserved"
    if len(issue_id) >= 4 and issue_id.startswith("__") and issue_id.endswith("__"):
        return "it matches __.*__ (reserved)"
    try:
        encoded = issue_id.encode()
    except UnicodeEncodeError:
        return "it is not valid UTF-8 (a lone surrogate)"
    if len(issue_id) > _SURELY_SHORT and len(encoded) > MAX_ISSUE_ID_BYTES:
        return f"it is {len(encoded)} bytes of UTF-8, limit {MAX_ISSUE_ID_BYTES}"
    return None


def valid_issue_id(issue_id: str) -> bool:
    """Whether *issue_id* can name a Firestore document (an issue with any other id
    cannot exist)."""
    return issue_id_problem(issue_id) is None
