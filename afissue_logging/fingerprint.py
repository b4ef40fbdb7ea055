"""Grouping: which occurrences are the same problem.

The fingerprint is computed on a wire-format event (see :mod:`afissue_logging.wire`),
so the client (on its background thread) and the ingest service (for events that
arrived without one) compute exactly the same value. The rules (grouping version
:data:`GROUPING_VERSION`; ``docs/client.md#grouping`` explains them with examples):

- With an exception: for the exception and each chained cause, its qualified type, its
  in-app frames as ``module:function`` (no line numbers, so unrelated edits do not split
  an issue; recursion collapsed, so recursion depth does not either) and the text of the
  line it failed at, whitespace removed (the innermost in-app frame's ``context_line``:
  two failing lines of one function are two issues, a moved or re-indented line is not).
  When no frame is in-app, all frames count. An exception without any frame (logged
  without its traceback) counts its normalised value instead. An exception group adds
  its children's components, deduplicated and sorted, so the order in which concurrent
  tasks failed, and how many failed alike, do not split an issue.
- Without one: the logger name and the first line of the message *template*, normalised
  so that numbers, durations, ids, hex, shas, uuids, emails, urls, ips, hostnames and
  quoted ``key='value'`` values do not split an issue.

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
    "GROUPING_VERSION",
    "compute_fingerprint",
    "default_components",
    "fingerprint_hash",
    "first_line",
    "issue_id_for",
    "normalize_message",
]

DEFAULT_MARKER = "{{ default }}"

#: The version of the rules above, sent with every event (``grouping_version``). 1: types,
#: in-app functions, chains, message templates. 2: adds the failing line's text, the
#: value of an exception without frames, exception groups' children, the first line of
#: a message and the placeholders for durations, shas, hostnames, ULIDs and quoted values.
GROUPING_VERSION = 2

_TLDS = (
    "com|net|org|io|dev|cloud|internal|local|localdomain|lan|corp|svc|edu|gov|info|biz|eu|uk|de"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+"), "<url>"),
    (re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), "<email>"),
    (re.compile(r"""\b([\w.-]+=)(['"])[^'"\n]*\2"""), r"\1\2<value>\2"),
    (
        re.compile(
            r"\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\b"
        ),
        "<uuid>",
    ),
    (re.compile(r"\b(?=[0-9A-Z]*\d)(?=[0-9A-Z]*[G-Z])[0-9A-HJKMNP-TV-Z]{26}\b"), "<id>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<ip>"),
    (re.compile(r"\b(?:[0-9a-fA-F]{1,4}:){3,7}[0-9a-fA-F]{1,4}\b"), "<ip>"),
    (
        re.compile(
            rf"\b(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{{0,61}}[a-zA-Z0-9])?\.)+(?:{_TLDS})\b(?::\d+)?",
            re.IGNORECASE,
        ),
        "<host>",
    ),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"), "<hex>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7}\b"), "<sha>"),
    (
        re.compile(r"\b\d+(?:[.,]\d+)?(?:ns|us|µs|ms|s|sec|secs|m|min|mins|h|hr|hrs|d)\b"),
        "<duration>",
    ),
    (re.compile(r"[-+]?\b\d+(?:[.,]\d+)*\b"), "<num>"),
)
#: Event fields whose values, when a message repeats them, stand for a placeholder.
_KNOWN_VALUES = (("host", "<host>"), ("trace_id", "<id>"), ("request_id", "<id>"))
_MIN_KNOWN_CHARS = 4


def first_line(text: str) -> str:
    """The first line of *text* that is not blank (``""`` when there is none)."""
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def normalize_message(text: str, known: Mapping[str, Any] | None = None) -> str:
    """Replace the variable parts of a message with placeholders; collapse whitespace.

    With *known* (an event), its ``host``, ``trace_id`` and ``request_id`` values are
    placeholders too wherever the message repeats them.
    """
    if known:
        for name, placeholder in _KNOWN_VALUES:
            value = known.get(name)
            if isinstance(value, str) and len(value) >= _MIN_KNOWN_CHARS:
                text = text.replace(value, placeholder)
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return " ".join(text.split())


def _collapse(frames: Iterable[Mapping[str, Any]]) -> list[str]:
    """``module:function`` of each frame, each distinct one once (collapses recursion)."""
    seen: dict[str, None] = {}
    for frame in frames:
        seen.setdefault(f"{frame.get('module', '')}:{frame.get('function', '')}", None)
    return list(seen)


def _frames(exc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    listed = exc.get("frames")
    return [f for f in listed if isinstance(f, Mapping)] if isinstance(listed, list) else []


def _exception_components(exc: Mapping[str, Any], depth: int = 0) -> list[str]:
    frames = _frames(exc)
    in_app = [f for f in frames if f.get("in_app")]
    module = exc.get("module") or ""
    qualified = f"{module}.{exc.get('type', '')}" if module else str(exc.get("type", ""))
    parts = [qualified, *_collapse(in_app or frames)]
    if frames:
        line = (in_app or frames)[-1].get("context_line")
        if isinstance(line, str) and line.strip():
            parts.append("line:" + "".join(line.split()))
    else:
        parts.append("value:" + normalize_message(first_line(str(exc.get("value") or ""))))
    children = exc.get("children")
    if isinstance(children, list) and depth < 32:
        signatures = {
            "\x1e".join(_with_chain(child, depth + 1))
            for child in children
            if isinstance(child, Mapping)
        }
        parts.extend("child:" + signature for signature in sorted(signatures))
    return parts


def _with_chain(exc: Mapping[str, Any], depth: int = 0) -> list[str]:
    """The components of *exc* preceded by those of its chain, outermost cause first."""
    parts: list[str] = []
    chain = exc.get("chain")
    for chained in chain if isinstance(chain, list) else ():
        if isinstance(chained, Mapping):
            parts.extend(_exception_components(chained, depth))
    parts.extend(_exception_components(exc, depth))
    return parts


def default_components(event: Mapping[str, Any]) -> list[str]:
    """The fingerprint components computed from the event itself (no override)."""
    exc = event.get("exception")
    if isinstance(exc, Mapping) and exc.get("type"):
        return ["exception", *_with_chain(exc)]
    template = event.get("message_template") or event.get("message") or event.get("title") or ""
    return [
        "message",
        str(event.get("type") or ""),
        str(event.get("logger") or ""),
        normalize_message(first_line(str(template)), event),
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
