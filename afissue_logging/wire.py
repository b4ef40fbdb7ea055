"""The wire format shared by client, ingest and consumer: one issue event as JSON.

An *event* is one occurrence (or, with ``count`` > 1, N identical occurrences
aggregated by the client inside one flush window). The ingest API validates it
(``ingest_service`` holds the pydantic models and the OpenAPI document), adds
``service`` from the token, ``fingerprint`` / ``issue_id`` when missing and
``received_at``, and publishes it to Kafka keyed by ``issue_id``. Everything here is
standard library only, so the client can use it.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import random
import re
from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict, get_args

__all__ = [
    "BREADCRUMB_LEVELS",
    "DROP_REASONS",
    "IDENTIFIER",
    "IDENTIFIER_PATTERN",
    "INT64_MAX",
    "ISSUE_TYPES",
    "LEVELS",
    "LEVEL_ALIASES",
    "MAX_BREADCRUMBS",
    "MAX_BREADCRUMBS_BYTES",
    "MAX_BREADCRUMB_DATA_KEYS",
    "MAX_BREADCRUMB_MESSAGE_CHARS",
    "MAX_BREADCRUMB_TEXT_CHARS",
    "MAX_COUNT",
    "MAX_DROP_REASONS",
    "MAX_EVENT_BYTES",
    "MAX_REQUEST_METHOD_CHARS",
    "MAX_REQUEST_PATH_CHARS",
    "MAX_REQUEST_QUERY_CHARS",
    "MAX_REQUEST_ROUTE_CHARS",
    "MAX_REQUEST_TEXT_CHARS",
    "PRIORITIES",
    "STATUSES",
    "WIRE_VERSION",
    "BreadcrumbDict",
    "DropReason",
    "EventDict",
    "ExceptionDict",
    "FrameDict",
    "IssueType",
    "Level",
    "Priority",
    "RequestDict",
    "Status",
    "decode_event",
    "encode_event",
    "firestore_safe",
    "format_timestamp",
    "is_identifier",
    "level_name",
    "new_event_id",
    "parse_timestamp",
]

WIRE_VERSION = 1

#: The one size limit of an event, as compact UTF-8 JSON on the wire (what Kafka holds):
#: the client trims its events below it, ingest answers 413 above it, and the consumer
#: dead-letters a raw record above it. A stored document keeps far less (``firestore_safe``).
MAX_EVENT_BYTES = 512 * 1024

#: Most identical occurrences one event may stand for (``count``); sums of many stay
#: far below Firestore's int64 counter.
MAX_COUNT = 1_000_000_000

#: Firestore integers are signed 64-bit.
INT64_MAX = 2**63 - 1

#: Services and fingerprints: 1 to 128 printable ASCII characters, no space.
IDENTIFIER = "1 to 128 printable ASCII characters without spaces"
IDENTIFIER_PATTERN = r"^[\x21-\x7e]{1,128}$"
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)


def is_identifier(text: str) -> bool:
    """Whether *text* is a valid service name or fingerprint (:data:`IDENTIFIER`)."""
    return _IDENTIFIER.fullmatch(text) is not None


class FrameDict(TypedDict):
    """One stack frame, innermost last (as in a Python traceback)."""

    filename: str
    module: str
    function: str
    lineno: int
    context_line: NotRequired[str]
    in_app: bool


class ExceptionDict(TypedDict):
    """An exception; ``chain`` lists its causes/contexts, outermost cause first; an
    exception group's sub-exceptions are ``children`` (``children_omitted`` left out)."""

    type: str
    value: str
    module: str
    frames: list[FrameDict]
    chain: NotRequired[list[ExceptionDict]]
    relation: NotRequired[str]  # "cause" | "context" for chain entries
    frames_omitted: NotRequired[int]
    children: NotRequired[list[ExceptionDict]]
    children_omitted: NotRequired[int]


class EventDict(TypedDict, total=False):
    """One issue event. Only ``title`` is required by the API (seed body)."""

    event_id: str
    timestamp: str
    title: str
    description: str
    type: str
    priority: str
    reporter_id: str
    service: str
    environment: str
    release: str
    host: str
    pid: int
    thread: str
    level: str
    logger: str
    message: str
    message_template: str
    exception: ExceptionDict
    fingerprint: str
    grouping_version: int  # the rules the fingerprint was computed by (fingerprint.py)
    count: int
    tags: dict[str, str]
    extra: dict[str, Any]
    trace_id: str
    request_id: str
    request: RequestDict
    breadcrumbs: list[BreadcrumbDict]
    # Added by the ingest service:
    issue_id: str
    received_at: str
    wire_version: int


# -- vocabularies ---------------------------------------------------------------------

#: An event's level, least severe first.
Level = Literal["debug", "info", "warning", "error", "critical"]
LEVELS: tuple[str, ...] = get_args(Level)
#: Other names of those levels (stdlib level names, structlog method names), accepted
#: anywhere and stored as the level they stand for.
LEVEL_ALIASES: Mapping[str, str] = {
    "warn": "warning", "fatal": "critical", "exception": "error", "err": "error",
    "msg": "info", "notset": "debug",
}
#: What kind of problem an event reports (``type``); ``log_issue`` sends "bug".
IssueType = Literal["bug", "error", "crash", "performance", "security", "other"]
ISSUE_TYPES: tuple[str, ...] = get_args(IssueType)
#: How urgent it is (``priority``); ``log_issue`` sends "medium" unless told otherwise.
Priority = Literal["low", "medium", "high", "critical"]
PRIORITIES: tuple[str, ...] = get_args(Priority)
#: An issue's status: counting goes on in every one; a new occurrence reopens a resolved one.
Status = Literal["open", "resolved", "ignored"]
STATUSES: tuple[str, ...] = get_args(Status)
#: Why a client dropped occurrences. A batch reports them in its ``dropped`` field
#: (``{"events": [...], "dropped": {"queue_full": 12}}``); the API takes any identifier
#: as a reason, so that newer clients can add reasons, and counts unknown ones as "other".
DropReason = Literal[
    "queue_full", "rejected", "too_large", "auth", "spool_full", "spool_error", "internal",
    "shutdown",
]
DROP_REASONS: tuple[str, ...] = get_args(DropReason)
#: Most reasons one batch's ``dropped`` field may name.
MAX_DROP_REASONS = 32


def level_name(name: str) -> str:
    """*name* as one of :data:`LEVELS` when it is one or an alias (any case), else itself
    lower-cased (for the API to refuse by name)."""
    low = name.strip().lower()
    return LEVEL_ALIASES.get(low, low)


# Event ids without a system call per event: ``uuid.uuid4()`` reads ``os.urandom`` every
# time, and each such call releases the GIL (on the client's sender thread, next to a busy
# application thread, up to a whole switch interval per event). A private generator
# seeded from ``os.urandom`` once per process, and again in every forked child, gives
# 128 random bits per id instead; the user's ``random.seed()`` does not touch it.
_id_rng = random.Random(os.urandom(32))


def new_event_id() -> str:
    """A fresh event id (32 lowercase hex digits). Retries reuse it."""
    return f"{_id_rng.getrandbits(128):032x}"


def _reseed_ids() -> None:
    """Reseed after ``fork()``, so that parent and child never share ids."""
    _id_rng.seed(os.urandom(32))


os.register_at_fork(after_in_child=_reseed_ids)


def format_timestamp(epoch_seconds: float) -> str:
    """RFC 3339 UTC with microseconds, e.g. ``2026-11-26T19:42:00.123456Z``."""
    moment = _dt.datetime.fromtimestamp(epoch_seconds, tz=_dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> _dt.datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime; ``ValueError`` if invalid."""
    try:
        moment = _dt.datetime.fromisoformat(text)  # reads a trailing "Z" itself (3.11)
    except ValueError:
        moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no timezone")
    if moment.tzinfo is _dt.UTC:
        return moment
    try:
        return moment.astimezone(_dt.UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-14:00 is past the year 9999 in UTC
        raise ValueError(f"timestamp {text!r} is out of range in UTC") from None


def encode_event(event: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON, readable by kcat or kafka-console-consumer."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_event(data: bytes) -> dict[str, Any]:
    """Decode one event; ``ValueError`` if it is not a UTF-8 JSON object."""
    value = json.loads(data.decode("utf-8"))
    if not isinstance(value, dict):
        raise ValueError(f"event must be a JSON object, got {type(value).__name__}")
    return value


# -- request context -----------------------------------------------------------------

#: Bounds of an event's ``request`` object, in characters: the client cuts its values to
#: them (ending in "…"), the ingest API refuses longer ones (422).
MAX_REQUEST_METHOD_CHARS = 16
MAX_REQUEST_PATH_CHARS = 2048
MAX_REQUEST_ROUTE_CHARS = 512
MAX_REQUEST_QUERY_CHARS = 2048
#: ``request_id`` and ``user_id``: as the other short text fields.
MAX_REQUEST_TEXT_CHARS = 256


class RequestDict(TypedDict, total=False):
    """The HTTP request an event happened in, as the client's integrations record it
    (``afissue_logging.integrations``): every field optional, every string scrubbed and
    bounded by the client. ``query_string`` is decoded, with the values of sensitive
    keys replaced by ``[Filtered]``; ``status`` is the response status when it was known
    at the log call (500 for an unhandled exception). No headers, cookies or bodies."""

    method: str
    path: str
    route: str
    query_string: str
    status: int
    request_id: str
    user_id: str


# -- breadcrumbs ----------------------------------------------------------------------

#: Bounds of an event's ``breadcrumbs``: the client keeps at most this many (the newest)
#: and cuts their text to these lengths (ending in "…"); the ingest API refuses more (422).
MAX_BREADCRUMBS = 100
MAX_BREADCRUMB_MESSAGE_CHARS = 1024
#: ``logger``, ``thread`` and each string value of ``data``.
MAX_BREADCRUMB_TEXT_CHARS = 256
MAX_BREADCRUMB_DATA_KEYS = 20
#: Most bytes (compact UTF-8 JSON) of an event's breadcrumbs together: the client keeps
#: the newest that fit, so a trail of long records never pushes an event past
#: :data:`MAX_EVENT_BYTES`.
MAX_BREADCRUMBS_BYTES = 64 * 1024
#: A breadcrumb's level: any event level.
BREADCRUMB_LEVELS = LEVELS


class BreadcrumbDict(TypedDict, total=False):
    """One log record that came before the event in the same execution context (thread,
    asyncio task, request), oldest first in the event's ``breadcrumbs``. ``message`` is
    rendered on the client's sender thread from the template and the arguments the
    caller's thread kept: plain values as they were, any other object as ``<TypeName>``
    (never its ``repr``); scrubbed. ``data``: a structlog event's other fields (plain
    values, scrubbed by key and value as ``extra`` is)."""

    timestamp: str
    level: str
    logger: str
    message: str
    thread: str
    data: dict[str, str | int | float | bool | None]


# -- values Firestore stores as they are ------------------------------------------------

#: Deeper containers are kept as JSON text (Firestore nests maps 20 levels at most).
_SAFE_DEPTH = 6
#: Field names longer than this (Firestore: 1,500 bytes) are cut.
_MAX_KEY_CHARS = 256
_INT64_MIN = -(2**63)


def _reserved_key(key: str) -> bool:
    return not key or (len(key) >= 4 and key.startswith("__") and key.endswith("__"))


def _safe_key(key: Any, taken: Mapping[str, Any]) -> str:
    """A field name Firestore accepts: never empty, never ``__x__``, at most 256 chars."""
    name = key if isinstance(key, str) else str(key)
    if len(name) > _MAX_KEY_CHARS:
        name = name[:_MAX_KEY_CHARS] + "…"
    if _reserved_key(name):
        name = "~" + name
    while name in taken:  # a cut or escaped key met a real one: keep both values
        name += "~"
    return name


def _as_json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=lambda v: f"<{type(v).__name__}>")


class _Budget:
    """What is left of the size (Firestore's storage bytes) and entry budgets."""

    __slots__ = ("bytes", "entries")

    def __init__(self, max_bytes: int, max_entries: int) -> None:
        self.bytes = max_bytes
        self.entries = max_entries

    def spent(self) -> bool:
        return self.bytes <= 32 or self.entries <= 1

    def take(self, size: int) -> None:
        self.bytes -= size
        self.entries -= 1


def _safe_text(text: str, budget: _Budget) -> str:
    try:
        data = text.encode()
    except UnicodeEncodeError:  # lone surrogates: Firestore stores valid UTF-8 only
        data = text.encode("utf-8", "replace")
        text = data.decode()
    if len(data) + 1 > budget.bytes:
        kept = max(0, budget.bytes - 5)
        text = data[:kept].decode("utf-8", "ignore") + "…"
        data = text.encode()
    budget.take(len(data) + 1)
    return text


def _safe(value: Any, depth: int, budget: _Budget) -> Any:
    if value is None or isinstance(value, bool):
        budget.take(1)
        return value
    if isinstance(value, int):
        if _INT64_MIN <= value <= INT64_MAX:
            budget.take(8)
            return value
        return _safe_text(str(value), budget)
    if isinstance(value, float):
        budget.take(8)
        return value
    if isinstance(value, str):
        return _safe_text(value, budget)
    if isinstance(value, bytes):
        return _safe_text(value.decode("utf-8", "replace"), budget)
    if isinstance(value, Mapping):
        if depth >= _SAFE_DEPTH:
            return _safe_text(_as_json_text(value), budget)
        budget.take(0)
        safe: dict[str, Any] = {}
        for index, (key, item) in enumerate(value.items()):
            if budget.spent():
                safe["…"] = f"{len(value) - index} more keys omitted"
                break
            name = _safe_key(key, safe)
            budget.take(len(name.encode()) + 1)
            budget.entries += 1  # a field name is not an entry of its own
            safe[name] = _safe(item, depth + 1, budget)
        return safe
    if isinstance(value, list | tuple):
        if depth >= _SAFE_DEPTH:
            return _safe_text(_as_json_text(value), budget)
        budget.take(0)
        items: list[Any] = []
        for index, item in enumerate(value):
            if budget.spent():
                items.append(f"… {len(value) - index} more items omitted")
                break
            if isinstance(item, list | tuple):  # Firestore has no arrays in arrays
                items.append(_safe_text(_as_json_text(item), budget))
            else:
                items.append(_safe(item, depth + 1, budget))
        return items
    return _safe_text(f"<{type(value).__name__}>", budget)


def firestore_safe(value: Any, max_bytes: int = 128 * 1024, max_entries: int = 2000) -> Any:
    """*value* (decoded JSON, or plain Python values) as Firestore stores it unchanged.

    The one rule for what may reach a document, applied by the client to ``extra``
    (so users see what is stored), by ingest to every free-form field, and by the
    consumer to whatever it writes (raw records on the topic come from anyone):

    - an array inside an array becomes its JSON text (Firestore has no nested arrays);
    - containers deeper than 6 levels become JSON text;
    - an empty key becomes ``"~"``, a reserved ``__name__`` key ``"~__name__"``, a key
      over 256 characters is cut (a clash with another key appends ``~``);
    - an integer outside int64 becomes its decimal text; lone surrogates become U+FFFD;
    - past *max_bytes* (counted as Firestore counts a document's size) or *max_entries*
      values, strings are cut with ``…`` and further keys or items are replaced by one
      ``"… N more … omitted"`` marker, so no document passes 1 MiB or 40,000 index entries.
    """
    return _safe(value, 0, _Budget(max_bytes, max_entries))
