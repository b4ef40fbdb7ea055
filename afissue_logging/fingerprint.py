"""Grouping: which occurrences are the same problem.

The fingerprint is computed on a wire-format event (see :mod:`afissue_logging.wire`),
so the client (on its background thread) and the ingest service (for events that
arrived without one) compute exactly the same value.

- With an exception: for the exception and each chained cause, its qualified type and
  its in-app frames as ``module:function`` (no line numbers, so unrelated edits do not
  split an issue; recursion collapsed, so recursion depth does not either). When no
  frame is in-app, all frames count.
- Without one: the logger name and the message *template*, normalised so that numbers,
  ids, hex, uuids, emails, urls and ips do not split an issue.

``issue_id_for(service, fingerprint)`` names the Firestore document: one per
(service, fingerprint).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "DEFAULT_MARKER",
    "compute_fingerprint",
    "default_components",
    "fingerprint_hash",
    "issue_id_for",
    "normalize_message",
]

DEFAULT_MARKER = "{{ default }}"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+"), "<url>"),
    (re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), "<email>"),
    (
        re.compile(
            r"\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\b"
        ),
        "<uuid>",
    ),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<ip>"),
    (re.compile(r"\b(?:[0-9a-fA-F]{1,4}:){3,7}[0-9a-fA-F]{1,4}\b"), "<ip>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"), "<hex>"),
    (re.compile(r"[-+]?\b\d+(?:[.,]\d+)*\b"), "<num>"),
)


def normalize_message(text: str) -> str:
    """Replace the variable parts of a message with placeholders; collapse whitespace."""
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return " ".join(text.split())


def _collapse(frames: Iterable[Mapping[str, Any]]) -> list[str]:
    """``module:function`` of each frame, each distinct one once (collapses recursion)."""
    seen: dict[str, None] = {}
    for frame in frames:
        seen.setdefault(f"{frame.get('module', '')}:{frame.get('function', '')}", None)
    return list(seen)


def _exception_components(exc: Mapping[str, Any]) -> list[str]:
    frames = list(exc.get("frames") or [])
    in_app = [f for f in frames if f.get("in_app")]
    module = exc.get("module") or ""
    qualified = f"{module}.{exc.get('type', '')}" if module else str(exc.get("type", ""))
    return [qualified, *_collapse(in_app or frames)]


def default_components(event: Mapping[str, Any]) -> list[str]:
    """The fingerprint components computed from the event itself (no override)."""
    exc = event.get("exception")
    if isinstance(exc, Mapping) and exc.get("type"):
        parts = ["exception"]
        for chained in exc.get("chain") or []:
            if isinstance(chained, Mapping):
                parts.extend(_exception_components(chained))
        parts.extend(_exception_components(exc))
        return parts
    template = event.get("message_template") or event.get("message") or event.get("title") or ""
    return [
        "message",
        str(event.get("type") or ""),
        str(event.get("logger") or ""),
        normalize_message(str(template)),
    ]


def fingerprint_hash(components: Sequence[str]) -> str:
    """32 hex digits identifying *components*."""
    digest = hashlib.sha256("\x1f".join(components).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]


def compute_fingerprint(
    event: Mapping[str, Any], override: Sequence[Any] | None = None
) -> str:
    """The event's fingerprint; *override* items replace it, ``"{{ default }}"`` inserts it."""
    if not override:
        return fingerprint_hash(default_components(event))
    parts: list[str] = []
    for item in override:
        if item == DEFAULT_MARKER:
            parts.extend(default_components(event))
        else:
            parts.append(str(item))
    return fingerprint_hash(["custom", *parts])


def issue_id_for(service: str, fingerprint: str) -> str:
    """The deterministic issue id (Firestore document id) of (service, fingerprint)."""
    return hashlib.sha256(f"{service}\x00{fingerprint}".encode()).hexdigest()[:32]
