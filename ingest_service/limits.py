"""Reading a request body within the documented limits, before the schema sees it.

Order: content type (415), declared and actual size (413), gzip (400/413), UTF-8 and JSON
(400), then a walk over the parsed value for nesting depth, string length and frame
count (413, naming the field). The schema (422) runs only on what passed.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import zlib
from dataclasses import dataclass
from typing import IO, Any

from afissue_logging import wire
from ingest_service.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from ingest_service.settings import IngestSettings

__all__ = [
    "Limits",
    "check_content_type",
    "check_value",
    "decode_body",
    "field_path",
    "for_body",
    "parse_json",
    "read_body",
]

_SURROGATE = re.compile("[\ud800-\udfff]")
# The only way a lone surrogate gets into parsed JSON (raw ones fail UTF-8 decoding).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


@dataclass(frozen=True)
class Limits:
    """The size limits of one request, taken from the settings."""

    max_body_bytes: int
    max_batch_events: int
    max_string_chars: int
    max_frames: int
    max_depth: int
    max_event_bytes: int
    check_strings: bool = True
    check_surrogates: bool = True
    check_structure: bool = True

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> Limits:
        return cls(
            max_body_bytes=settings.max_body_bytes,
            max_batch_events=settings.max_batch_events,
            max_string_chars=settings.max_string_chars,
            max_frames=settings.max_frames,
            max_depth=settings.max_depth,
            max_event_bytes=min(settings.max_event_bytes, wire.MAX_EVENT_BYTES),
        )


def check_content_type(content_type: str | None) -> None:
    """415 unless the media type is ``application/json`` (parameters allowed)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        shown = content_type[:64] if content_type else "none"
        raise UnsupportedMediaType(
            f"Content-Type must be application/json, got {shown!r}", field="Content-Type"
        )


def read_body(stream: IO[bytes], content_length: int | None, limits: Limits) -> bytes:
    """Read at most ``max_body_bytes`` from *stream*; 413 when there is more."""
    limit = limits.max_body_bytes
    if content_length is not None and content_length > limit:
        raise PayloadTooLarge(
            f"body of {content_length} bytes exceeds the limit of {limit} bytes", field="body"
        )
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"body exceeds the limit of {limit} bytes", field="body")
    return data


def read_exactly(stream: IO[bytes], length: int) -> bytes:
    """The *length* bytes of a body whose length was declared; 400 if it ends early."""
    data = stream.read(length)
    while len(data) < length:
        more = stream.read(length - len(data))
        if not more:
            raise BadRequest(
                f"body ended after {len(data)} of its {length} declared bytes", field="body"
            )
        data += more
    return data


def decode_body(data: bytes, content_encoding: str | None, limits: Limits) -> bytes:
    """Undo ``Content-Encoding: gzip`` within the body limit (zip bombs get 413)."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return data
    if encoding not in ("gzip", "x-gzip"):
        raise UnsupportedMediaType(
            f"Content-Encoding must be gzip or identity, got {encoding[:32]!r}",
            field="Content-Encoding",
        )
    limit = limits.max_body_bytes
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise BadRequest(f"body is not valid gzip: {exc}", field="body") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(
            f"decompressed body exceeds the limit of {limit} bytes", field="body"
        )
    if not inflater.eof:
        raise BadRequest("body is truncated gzip", field="body")
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# One decoder for every request: json.loads(text, parse_constant=...) builds a new one.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def for_body(limits: Limits, text: str) -> Limits:
    """*limits* without the checks that *text* cannot fail: no string can be too long
    (see :func:`_may_hold_long_string`); without a ``\\uD8..``-style escape no lone
    surrogate can appear; with fewer brackets than the depth and frame limits, neither
    can be exceeded. Small bodies (the common single event) skip the walk entirely."""
    brackets = text.count("{") + text.count("[")
    return _variant(
        limits,
        _may_hold_long_string(text, limits.max_string_chars),
        _SURROGATE_ESCAPE.search(text) is not None,
        brackets >= min(limits.max_depth, limits.max_frames),
    )


def _may_hold_long_string(text: str, limit: int) -> bool:
    """False only if no JSON string in *text* can decode to more than *limit* characters.
    Without escaped quotes, the pieces between quotes hold every string's raw form, which
    is never shorter than the decoded string; with them, the precise walk decides."""
    if len(text) <= limit:
        return False
    if '\\"' in text:
        return True
    # A run of more than *limit* characters without a quote contains a whole aligned
    # block of half that size: if every block holds a quote, there is no such run. A
    # few substring searches in C, instead of splitting a large batch into pieces.
    half = (limit + 1) // 2
    if all('"' in text[start:start + half] for start in range(0, len(text) - half + 1, half)):
        return False
    return max(map(len, text.split('"'))) > limit


@functools.lru_cache(maxsize=64)
def _variant(limits: Limits, strings: bool, surrogates: bool, structure: bool) -> Limits:
    return dataclasses.replace(
        limits, check_strings=strings, check_surrogates=surrogates, check_structure=structure
    )


def parse_json(data: bytes) -> Any:
    """Strict UTF-8 JSON (no NaN/Infinity); 400 naming the position, 413 when too deep."""
    return parse_text(decode_utf8(data))


def decode_utf8(data: bytes) -> str:
    """The body as text; 400 naming the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(
            f"body is not valid UTF-8: byte {exc.start} ({data[exc.start:exc.start + 1]!r})",
            field="body",
        ) from None


def parse_text(text: str) -> Any:
    """Strict JSON (no NaN/Infinity) of *text*; 400 naming the position, 413 when too deep."""
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", field="body"
        ) from None
    except ValueError as exc:
        raise BadRequest(f"malformed JSON: {exc}", field="body") from None
    except RecursionError:
        raise PayloadTooLarge("JSON nesting is too deep", field="body") from None


def field_path(parts: tuple[str | int, ...]) -> str:
    """``("events", 2, "title")`` -> ``events[2].title``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "body"


def check_value(value: Any, limits: Limits, prefix: tuple[str | int, ...] = ()) -> None:
    """Walk *value* (parsed JSON): depth, string length, frames, lone surrogates."""
    strings = limits.check_strings or limits.check_surrogates
    if not strings and not limits.check_structure:
        return
    base_depth = len(prefix)
    containers = (str, dict, list) if strings else (dict, list)
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, prefix)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            _check_string(item, path, limits)
        elif isinstance(item, dict):  # parsed JSON: concrete types, cheap checks
            _check_depth(path, base_depth, limits)
            for key, child in item.items():
                if strings:
                    _check_string(key, (*path, key), limits)
                if isinstance(child, containers):
                    stack.append((child, (*path, key)))
        elif isinstance(item, list):
            _check_depth(path, base_depth, limits)
            if path and path[-1] == "frames" and len(item) > limits.max_frames:
                raise PayloadTooLarge(
                    f"{len(item)} frames exceed the limit of {limits.max_frames}",
                    field=field_path(path),
                )
            for index, child in enumerate(item):
                if isinstance(child, containers):
                    stack.append((child, (*path, index)))


def _check_depth(path: tuple[str | int, ...], base_depth: int, limits: Limits) -> None:
    if len(path) - base_depth >= limits.max_depth:
        raise PayloadTooLarge(
            f"nesting deeper than {limits.max_depth} levels", field=field_path(path)
        )


def _check_string(text: str, path: tuple[str | int, ...], limits: Limits) -> None:
    if limits.check_strings and len(text) > limits.max_string_chars:
        raise PayloadTooLarge(
            f"string of {len(text)} characters exceeds the limit of {limits.max_string_chars}",
            field=field_path(path),
        )
    if limits.check_surrogates and _SURROGATE.search(text):
        raise BadRequest("string holds a lone UTF-16 surrogate", field=field_path(path))
