"""The API's schema, defined once: pydantic models of an issue event, a batch and the
responses. Requests are validated with them and ``/api/v1/openapi.json`` is generated
from them (:mod:`ingest_service.openapi`), so the two cannot disagree.

The models mirror :class:`afissue_logging.wire.EventDict`. Unknown fields are ignored
(older servers keep accepting newer clients); ``extra`` carries arbitrary JSON.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictInt,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from afissue_logging import wire

__all__ = [
    "ISSUE_TYPES",
    "PRIORITIES",
    "AcceptedItem",
    "AcceptedResponse",
    "BatchResponse",
    "Breadcrumb",
    "DroppedCounts",
    "ErrorBody",
    "ErrorResponse",
    "EventBatch",
    "ExceptionInfo",
    "Frame",
    "IssueEvent",
    "ItemError",
    "RejectedItem",
    "RequestInfo",
    "check_dropped",
]

Level = wire.Level
IssueType = wire.IssueType
Priority = wire.Priority
ISSUE_TYPES = wire.ISSUE_TYPES
PRIORITIES = wire.PRIORITIES

_VOCABULARY = frozenset(ISSUE_TYPES) | frozenset(PRIORITIES)

# RFC 3339 allows a leap second (:60); Python's datetime does not, so it becomes :59.
_LEAP_SECOND = re.compile(r"^(.{10}[Tt ]\d\d:\d\d:)60")

# What wire.format_timestamp writes (and the client sends): already normalised.
_CANONICAL_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:[0-5]\d\.\d{6}Z$")

ShortText = Annotated[str, Field(max_length=256)]
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=wire.IDENTIFIER_PATTERN)]
EventId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
        description="Client-chosen id of this event; retries must reuse it.",
    ),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Frame(_Model):
    """One stack frame, innermost last."""

    filename: str = ""
    module: str = ""
    function: str = ""
    lineno: int = Field(default=0, ge=0, le=2**31 - 1)
    context_line: str | None = None
    in_app: bool = False


class ExceptionInfo(_Model):
    """An exception with its frames; ``chain`` holds its causes, outermost cause first;
    an exception group's sub-exceptions are its ``children``."""

    type: str = Field(min_length=1, description="Exception class name, e.g. ValueError.")
    value: str = ""
    module: str = Field(default="", description="Module of the exception class.")
    frames: list[Frame] = Field(default_factory=list)
    chain: list[ExceptionInfo] = Field(default_factory=list)
    relation: Literal["cause", "context"] | None = None
    frames_omitted: int | None = Field(default=None, ge=0, le=2**31 - 1)
    children: list[ExceptionInfo] | None = Field(
        default=None,
        description="An exception group's sub-exceptions, each with its own frames, chain "
        "and children.",
    )
    children_omitted: int | None = Field(
        default=None, ge=0, le=2**31 - 1,
        description="Sub-exceptions of the group the client left out of children.",
    )


class RequestInfo(_Model):
    """The HTTP request the event happened in (the client's web integrations); every
    field optional, strings bounded as the client bounds them."""

    method: str | None = Field(default=None, max_length=wire.MAX_REQUEST_METHOD_CHARS)
    path: str | None = Field(default=None, max_length=wire.MAX_REQUEST_PATH_CHARS)
    route: str | None = Field(
        default=None, max_length=wire.MAX_REQUEST_ROUTE_CHARS,
        description="Route template or view, e.g. /orders/{order_id}.",
    )
    query_string: str | None = Field(
        default=None, max_length=wire.MAX_REQUEST_QUERY_CHARS,
        description="Decoded; values of sensitive keys are [Filtered] by the client.",
    )
    status: int | None = Field(
        default=None, ge=100, le=599, description="Response status when known at the log call."
    )
    request_id: str | None = Field(default=None, max_length=wire.MAX_REQUEST_TEXT_CHARS)
    user_id: str | None = Field(default=None, max_length=wire.MAX_REQUEST_TEXT_CHARS)


BreadcrumbValue = (
    Annotated[str, Field(max_length=wire.MAX_BREADCRUMB_TEXT_CHARS)]
    | StrictInt
    | Annotated[float, Field(allow_inf_nan=False)]
    | bool
    | None
)


class Breadcrumb(_Model):
    """A log record that came before the event in the same thread, task or request
    (oldest first in ``breadcrumbs``); strings bounded as the client bounds them."""

    timestamp: str = Field(
        max_length=64, description="RFC 3339 time of the record.",
        json_schema_extra={"format": "date-time"},
    )
    level: Level
    logger: str = Field(default="", max_length=wire.MAX_BREADCRUMB_TEXT_CHARS)
    message: str = Field(
        default="", max_length=wire.MAX_BREADCRUMB_MESSAGE_CHARS,
        description="Rendered by the client; objects appear as <TypeName>, never repr'd.",
    )
    thread: str = Field(default="", max_length=wire.MAX_BREADCRUMB_TEXT_CHARS)
    data: dict[
        Annotated[str, Field(max_length=wire.MAX_BREADCRUMB_TEXT_CHARS)], BreadcrumbValue
    ] | None = Field(
        default=None, max_length=wire.MAX_BREADCRUMB_DATA_KEYS,
        description="A structlog event's other fields (plain values, scrubbed).",
    )

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        return wire.level_name(value) if isinstance(value, str) else value

    @field_validator("timestamp")
    @classmethod
    def _rfc3339(cls, value: str) -> str:
        try:
            moment = wire.parse_timestamp(value)
        except (ValueError, OverflowError):
            raise ValueError(
                f"timestamp {value[:64]!r} is not an RFC 3339 time with a timezone"
            ) from None
        return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


class IssueEvent(_Model):
    """One occurrence of a problem (or ``count`` identical ones). Only ``title`` is required."""

    event_id: EventId | None = None
    timestamp: str | None = Field(
        default=None,
        description="RFC 3339 time of the occurrence; defaults to receive time.",
        json_schema_extra={"format": "date-time"},
    )
    title: str = Field(min_length=1, description="Short summary shown in issue lists.")
    description: str | None = None
    type: IssueType | None = Field(
        default=None, description="Kind of problem, any case; unknown values are refused (422)."
    )
    priority: Priority | None = Field(
        default=None, description="Urgency, any case; unknown values are refused (422)."
    )
    reporter_id: ShortText | None = None
    service: Identifier | None = Field(
        default=None, description="Ignored in favour of the token's service when authenticated."
    )
    environment: ShortText | None = None
    release: ShortText | None = None
    host: ShortText | None = None
    pid: int | None = Field(default=None, ge=0, le=2**31 - 1)
    thread: ShortText | None = None
    level: Level | None = None
    logger: ShortText | None = None
    message: str | None = None
    message_template: str | None = None
    exception: ExceptionInfo | None = None
    fingerprint: Identifier | None = Field(
        default=None, description="Grouping key; computed by the server when absent."
    )
    grouping_version: int | None = Field(
        default=None, ge=1, le=1_000,
        description="Version of the grouping rules the fingerprint was computed by; "
        "set by the server when it computes the fingerprint.",
    )
    count: int = Field(default=1, ge=1, le=1_000_000_000, description="Identical occurrences.")
    tags: dict[str, str] | None = None
    extra: dict[str, JsonValue] | None = None
    trace_id: ShortText | None = None
    request_id: ShortText | None = None
    request: RequestInfo | None = None
    breadcrumbs: list[Breadcrumb] | None = Field(
        default=None, max_length=wire.MAX_BREADCRUMBS,
        description="Records below the event level that came before it in the same "
        "execution context, oldest first.",
    )

    @field_validator("timestamp")
    @classmethod
    def _rfc3339(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            if _CANONICAL_TIME.match(value):
                _dt.datetime.fromisoformat(value[:-1])  # valid date and time? (fast, in C)
                return value
            moment = wire.parse_timestamp(_LEAP_SECOND.sub(r"\g<1>59", value))
        except (ValueError, OverflowError):
            raise ValueError(
                f"timestamp {value[:64]!r} is not an RFC 3339 time with a timezone"
            ) from None
        return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")

    @field_validator("extra", "tags", mode="after")
    @classmethod
    def _firestore_safe(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        """Free-form maps as they will be stored (``wire.firestore_safe``): nested arrays
        as JSON text, reserved keys escaped, bounded; the user sees what Kafka holds."""
        return None if value is None else wire.firestore_safe(value)

    @field_validator("type", "priority", mode="before")
    @classmethod
    def _vocabulary(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in _VOCABULARY:
            return value.strip().lower()
        return value

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        return wire.level_name(value) if isinstance(value, str) else value


def check_dropped(value: Any) -> Any:
    """A batch's ``dropped`` field as sent, with a clear message for what is wrong with it
    (pydantic's own messages name a regex or a type, not the rule)."""
    if value is None:
        return value
    if not isinstance(value, dict):
        raise ValueError(
            f"dropped must be an object of counts by reason, got {type(value).__name__}"
        )
    if len(value) > wire.MAX_DROP_REASONS:
        raise ValueError(
            f"dropped names {len(value)} reasons; at most {wire.MAX_DROP_REASONS} are allowed"
        )
    counts: dict[str, int] = {}
    for reason, sent in value.items():
        if not wire.is_identifier(reason):
            raise ValueError(f"drop reason {reason[:64]!r} is not {wire.IDENTIFIER}")
        # 12.0 is an integer to JSON Schema, as to the client.
        count = int(sent) if isinstance(sent, float) and sent.is_integer() else sent
        if not isinstance(count, int) or isinstance(count, bool):
            raise ValueError(
                f"dropped[{reason!r}] must be an integer, got {type(count).__name__}"
            )
        if not 0 <= count <= wire.MAX_COUNT:
            raise ValueError(
                f"dropped[{reason!r}] is {count}; expected 0 to {wire.MAX_COUNT}"
            )
        counts[reason] = count
    return counts


DroppedCounts = Annotated[
    dict[Identifier, Annotated[StrictInt, Field(ge=0, le=wire.MAX_COUNT)]],
    Field(max_length=wire.MAX_DROP_REASONS),
    BeforeValidator(check_dropped),
    WithJsonSchema(
        {
            "type": "object",
            "description": (
                "Occurrences the client dropped since its last acknowledged report, by "
                "reason (e.g. queue_full); counted in afissue_ingest_client_dropped_total."
            ),
            "maxProperties": wire.MAX_DROP_REASONS,
            "propertyNames": {"pattern": wire.IDENTIFIER_PATTERN},
            "additionalProperties": {"type": "integer", "minimum": 0, "maximum": wire.MAX_COUNT},
        }
    ),
]

# What JSON Schema can say of the rule in EventBatch._not_empty.
_EVENTS_OR_DROPPED: dict[str, Any] = {
    "anyOf": [
        {"properties": {"events": {"minItems": 1}}},
        {"required": ["dropped"], "properties": {"dropped": {"type": "object", "minProperties": 1}}},
    ]
}


class EventBatch(_Model):
    """Many events in one request; each is accepted or rejected on its own. ``dropped``
    reports the client's drops; a batch of drop counts alone has no events."""

    model_config = ConfigDict(json_schema_extra=_EVENTS_OR_DROPPED)

    events: list[IssueEvent] = Field(
        description="At least one event, unless dropped names a reason."
    )
    dropped: DroppedCounts | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> EventBatch:
        if not self.events and not self.dropped:
            raise ValueError("events must hold at least one event unless dropped reports drops")
        return self


class ItemError(_Model):
    """Why an item or a request was refused."""

    field: str | None = Field(description="Path of the offending field, e.g. events[2].title.")
    message: str


class ErrorBody(ItemError):
    """The ``error`` object of every error response."""

    status: int
    code: str
    details: list[dict[str, Any]] | None = None


class ErrorResponse(_Model):
    """Body of every 4xx/5xx answer."""

    error: ErrorBody


class AcceptedResponse(_Model):
    """Kafka has confirmed the event."""

    id: str = Field(description="The event id (the client's, or a generated one).")
    issue_id: str = Field(description="Deterministic id of the issue (service, fingerprint).")
    status: Literal["accepted"] = "accepted"


class AcceptedItem(AcceptedResponse):
    """A batch item Kafka has confirmed."""


class RejectedItem(_Model):
    """A batch item that failed validation; the other items are unaffected."""

    index: int
    status: Literal["rejected"] = "rejected"
    error: ItemError


class BatchResponse(_Model):
    """One result per batch item, in request order."""

    results: list[AcceptedItem | RejectedItem]
