"""What an HTTP answer means for the batch it answers: one pure function, no I/O.

Every answer maps to exactly one outcome::

    Sent(rejected)          2xx carrying the ingest API's per-event results
    Retry(reason, seconds)  408, 429, 5xx: send again later, not before Retry-After
    Split                   413 for a batch of several events: resend it in halves
    Spool(reason)           2xx that is not the ingest API's answer (a URL reaching some
                            other web server): retrying it in memory cannot help
    Drop(reason)            any other status: sending it again would be refused again

The sender decides what to do with an outcome (:mod:`afissue_logging._exchange`);
keeping the decision table pure lets property tests cover every status and header.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence

from afissue_logging._retry import parse_retry_after
from afissue_logging.wire import EventDict

__all__ = ["Drop", "Outcome", "Retry", "Sent", "Split", "Spool", "classify", "halves"]


@dataclasses.dataclass(frozen=True)
class Sent:
    """The API answered for every event; *rejected* of the occurrences it refused."""

    rejected: int


@dataclasses.dataclass(frozen=True)
class Retry:
    """Send the same batch again, not sooner than *seconds* (None: the sender's backoff)."""

    reason: str
    seconds: float | None = None


@dataclasses.dataclass(frozen=True)
class Split:
    """The batch is too large for the API: send its :func:`halves` instead."""


@dataclasses.dataclass(frozen=True)
class Spool:
    """Keep the batch on disk for a later replay, without retrying it now."""

    reason: str


@dataclasses.dataclass(frozen=True)
class Drop:
    """The API refuses the batch for good: count its occurrences dropped by *reason*."""

    reason: str


Outcome = Sent | Retry | Split | Spool | Drop

_ANSWER_STATUSES = frozenset({"accepted", "rejected"})


def classify(
    status: int, headers: Mapping[str, str], body: bytes, events: Sequence[EventDict]
) -> Outcome:
    """The outcome of answering *events* (the batch sent) with *status*, *headers*, *body*.

    *headers* are lower-cased, as :class:`afissue_logging._transport.Response` holds them.
    """
    if 200 <= status < 300:
        rejected = rejected_occurrences(events, body)
        return Spool("bad_answer") if rejected is None else Sent(rejected)
    if status == 413 and len(events) > 1:
        return Split()
    if status in (408, 429) or status >= 500:
        return Retry("status", parse_retry_after(headers.get("retry-after")))
    if status in (401, 403):
        return Drop("auth")
    return Drop("too_large" if status == 413 else "rejected")


def rejected_occurrences(events: Sequence[EventDict], body: bytes) -> int | None:
    """Occurrences the ingest API's 2xx *body* rejects; None if *body* is not its answer.

    The answer is ``{"results": [...]}`` with one ``{"status": "accepted" | "rejected"}``
    per event (or, for one event, ``{"id", "issue_id", "status": "accepted"}``).
    """
    try:
        payload = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(payload, dict):
        return None
    results = payload.get("results")
    if results is None and len(events) == 1 and "id" in payload:
        results = [payload]
    if not isinstance(results, list) or len(results) != len(events):
        return None
    rejected = 0
    for event, result in zip(events, results, strict=True):
        status = result.get("status") if isinstance(result, dict) else None
        if not isinstance(status, str) or status not in _ANSWER_STATUSES:
            return None
        if status == "rejected":
            rejected += event.get("count", 1)
    return rejected


def halves(events: Sequence[EventDict]) -> tuple[list[EventDict], list[EventDict]]:
    """*events* cut in two for a :class:`Split`: every event in exactly one half."""
    half = len(events) // 2
    return list(events[:half]), list(events[half:])
