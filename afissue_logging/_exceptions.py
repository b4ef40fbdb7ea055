"""Walking a live exception (and its traceback objects) into a wire ``ExceptionDict``.

Runs on the background thread: the caller only kept ``(type, value, traceback)``.
Recursion is collapsed (a repeated run of identical frames is kept once with a note),
very long stacks keep their outermost and innermost frames, and ``__cause__`` /
``__context__`` chains become ``chain`` entries, outermost cause first.
"""

from __future__ import annotations

import linecache
import sys
import sysconfig
from collections.abc import Sequence
from types import CodeType, TracebackType
from typing import Any

from afissue_logging._safe import safe_str, text
from afissue_logging.wire import ExceptionDict, FrameDict

__all__ = [
    "InAppRule",
    "exception_frames_key",
    "exception_to_dict",
    "exception_values",
    "raw_exception_key",
]

_MAX_FRAMES = 60
_HEAD_FRAMES = 10
_MAX_CHAIN = 10
_MAX_VALUE_CHARS = 8_192


def _library_prefixes() -> tuple[str, ...]:
    paths: set[str] = set()
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            paths.add(sysconfig.get_paths()[name])
        except KeyError:
            continue
    paths.update(p for p in sys.path if "site-packages" in p or "dist-packages" in p)
    return tuple(sorted(p.rstrip("/") + "/" for p in paths if p))


class InAppRule:
    """Decides whether a frame is the application's own code (not stdlib or site-packages)."""

    def __init__(self, include: Sequence[str] = ()) -> None:
        self.include = tuple(m.strip() for m in include if m.strip())
        self._library = _library_prefixes()
        self._cache: dict[tuple[str, str], bool] = {}

    def __call__(self, filename: str, module: str) -> bool:
        key = (filename, module)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._decide(filename, module)
            if len(self._cache) < 10_000:
                self._cache[key] = cached
        return cached

    def _decide(self, filename: str, module: str) -> bool:
        if any(module == m or module.startswith(m + ".") for m in self.include):
            return True
        if module.startswith("afissue_logging"):
            return False
        if filename.startswith("<") and not filename.startswith("<stdin"):
            return False
        return not filename.startswith(self._library)


def _frames(tb: TracebackType | None, in_app: InAppRule) -> tuple[list[FrameDict], int]:
    raw: list[tuple[CodeType, int, dict[str, Any]]] = []
    while tb is not None:
        live = tb.tb_frame
        raw.append((live.f_code, tb.tb_lineno or 0, live.f_globals))
        tb = tb.tb_next
    collapsed: list[tuple[CodeType, int, dict[str, Any], int]] = []
    for code, lineno, globs in raw:
        if collapsed and collapsed[-1][0] is code and collapsed[-1][1] == lineno:
            last = collapsed[-1]
            collapsed[-1] = (last[0], last[1], last[2], last[3] + 1)
        else:
            collapsed.append((code, lineno, globs, 0))
    omitted = 0
    if len(collapsed) > _MAX_FRAMES:
        omitted = len(collapsed) - _MAX_FRAMES
        tail = _MAX_FRAMES - _HEAD_FRAMES
        collapsed = collapsed[:_HEAD_FRAMES] + collapsed[-tail:]
    frames: list[FrameDict] = []
    for code, lineno, globs, repeats in collapsed:
        filename = code.co_filename
        module = globs.get("__name__")
        module = module if isinstance(module, str) else ""
        frame: FrameDict = {
            "filename": filename,
            "module": module,
            "function": code.co_qualname,
            "lineno": lineno,
            "in_app": in_app(filename, module),
        }
        line = linecache.getline(filename, lineno, globs).strip()
        if line:
            frame["context_line"] = text(line, 500)
        frames.append(frame)
        if repeats:
            omitted += repeats
    return frames, omitted


def _one(exc: BaseException, tb: TracebackType | None, in_app: InAppRule) -> ExceptionDict:
    kind = type(exc)
    frames, omitted = _frames(tb, in_app)
    module = getattr(kind, "__module__", "") or ""
    result: ExceptionDict = {
        "type": kind.__qualname__,
        "value": safe_str(exc, _MAX_VALUE_CHARS),
        "module": module if isinstance(module, str) else "",
        "frames": frames,
    }
    if omitted:
        result["frames_omitted"] = omitted
    return result


def _chain(exc: BaseException) -> list[tuple[BaseException, str]]:
    """The causes of *exc* that ``chain`` shows, innermost first, with their relation."""
    chain: list[tuple[BaseException, str]] = []
    seen = {id(exc)}
    current: BaseException = exc
    while len(chain) < _MAX_CHAIN:
        if current.__cause__ is not None:
            nxt, relation = current.__cause__, "cause"
        elif current.__context__ is not None and not current.__suppress_context__:
            nxt, relation = current.__context__, "context"
        else:
            break
        if id(nxt) in seen:
            break
        seen.add(id(nxt))
        chain.append((nxt, relation))
        current = nxt
    return chain


def exception_to_dict(
    exc: BaseException, tb: TracebackType | None, in_app: InAppRule
) -> ExceptionDict:
    """The wire form of *exc* raised with traceback *tb*, its causes in ``chain``."""
    top = _one(exc, tb, in_app)
    chain: list[ExceptionDict] = []
    for nxt, relation in _chain(exc):
        entry = _one(nxt, nxt.__traceback__, in_app)
        entry["relation"] = relation
        chain.append(entry)
    if chain:
        chain.reverse()
        top["chain"] = chain
    return top


def exception_values(exc: BaseException) -> tuple[str, list[str]]:
    """The ``value`` of *exc* and of each ``chain`` entry, in ``chain`` order.

    What :func:`exception_to_dict` would put there, without walking any frame: the
    per-occurrence part of an exception whose frames are already known.
    """
    values = [safe_str(nxt, _MAX_VALUE_CHARS) for nxt, _ in _chain(exc)]
    values.reverse()
    return safe_str(exc, _MAX_VALUE_CHARS), values


def exception_frames_key(exc: BaseException, tb: TracebackType | None) -> tuple[Any, ...]:
    """A key equal only for exceptions whose ``exception_to_dict`` frames are equal.

    Like :func:`raw_exception_key` (types, code objects) plus line numbers and the
    chain's relations, which the frames and ``chain`` entries show.
    """
    parts: list[Any] = [type(exc)]
    node = tb
    while node is not None:
        parts.append((node.tb_frame.f_code, node.tb_lineno))
        node = node.tb_next
    for nxt, relation in _chain(exc):
        parts.append((type(nxt), relation))
        node = nxt.__traceback__
        while node is not None:
            parts.append((node.tb_frame.f_code, node.tb_lineno))
            node = node.tb_next
    return tuple(parts)


def raw_exception_key(exc: BaseException, tb: TracebackType | None) -> tuple[Any, ...]:
    """A cheap key that is equal only for exceptions of equal type raised along equal code.

    Equal keys imply equal fingerprints, so the background thread can count a repeat
    without walking and rendering it again.
    """
    parts: list[Any] = []
    current: BaseException | None = exc
    depth = 0
    while current is not None and depth < _MAX_CHAIN:
        parts.append(type(current))
        node = tb if depth == 0 else current.__traceback__
        while node is not None:
            parts.append(node.tb_frame.f_code)
            node = node.tb_next
        parts.append(None)
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
        depth += 1
    return tuple(parts)
