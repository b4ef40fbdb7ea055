"""Walking a live exception (and its traceback objects) into a wire ``ExceptionDict``.

Runs on the background thread: the caller only kept ``(type, value, traceback)``.
Recursion is collapsed (a repeated run of identical frames is kept once with a note),
very long stacks keep their outermost and innermost frames, and ``__cause__`` /
``__context__`` chains become ``chain`` entries, outermost cause first.

An exception group (``ExceptionGroup``, ``BaseExceptionGroup``: what ``asyncio.TaskGroup``
and ``trio`` nurseries raise) lists its sub-exceptions in ``children``, each walked like
a logged exception (its own frames, chain and children). Bounded, so that one event stays
far below the wire's size limit whatever the group holds:

- at most :data:`MAX_CHILDREN` children per group, chosen one of each distinct kind
  (type and raising code) first, then in order; the rest are counted in
  ``children_omitted``;
- groups nested at most :data:`MAX_GROUP_DEPTH` deep (deeper groups keep their own
  frames, their children are only counted);
- at most :data:`MAX_EXCEPTIONS` exceptions in one event, chains included;
- a child keeps at most :data:`MAX_CHILD_FRAMES` frames (the logged exception and its
  chain keep 60).
"""

from __future__ import annotations

import linecache
import sys
import sysconfig
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from afissue_logging._safe import safe_str, text
from afissue_logging.fingerprint import first_line
from afissue_logging.wire import ExceptionDict, FrameDict

__all__ = [
    "MAX_CHAIN",
    "MAX_CHILDREN",
    "MAX_CHILD_FRAMES",
    "MAX_EXCEPTIONS",
    "MAX_GROUP_DEPTH",
    "MAX_VALUE_CHARS",
    "InAppRule",
    "causes",
    "exception_title",
    "exception_to_dict",
    "frame_entries",
]

_MAX_FRAMES = 60
_HEAD_FRAMES = 10
MAX_CHILD_FRAMES = 20
_CHILD_HEAD_FRAMES = 5
MAX_CHAIN = 10
MAX_CHILDREN = 10
MAX_GROUP_DEPTH = 4
MAX_EXCEPTIONS = 50
MAX_VALUE_CHARS = 8_192
_TITLE_CHILD_TYPES = 3


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


def _runs(
    tb: TracebackType | None, limit: int, head: int
) -> tuple[list[tuple[TracebackType, TracebackType, int]], int]:
    """Runs of equal traceback entries (recursion collapsed): first entry, innermost
    entry, repeats; a long stack keeps its *head* outermost and innermost runs."""
    runs: list[tuple[TracebackType, TracebackType, int]] = []
    while tb is not None:
        if runs:
            first, _, repeats = runs[-1]
            if first.tb_frame.f_code is tb.tb_frame.f_code and (first.tb_lineno or 0) == (
                tb.tb_lineno or 0
            ):
                runs[-1] = (first, tb, repeats + 1)
                tb = tb.tb_next
                continue
        runs.append((tb, tb, 0))
        tb = tb.tb_next
    omitted = 0
    if len(runs) > limit:
        omitted = len(runs) - limit
        runs = runs[:head] + runs[-(limit - head):]
    return runs, omitted


def frame_entries(tb: TracebackType | None, top: bool = True) -> list[TracebackType]:
    """The innermost traceback entry of each frame :func:`exception_to_dict` shows for a
    traceback (*top*: of the logged exception or its chain, else of a group's child)."""
    limit, head = (_MAX_FRAMES, _HEAD_FRAMES) if top else (MAX_CHILD_FRAMES, _CHILD_HEAD_FRAMES)
    return [inner for _, inner, _ in _runs(tb, limit, head)[0]]


def _frames(
    tb: TracebackType | None, in_app: InAppRule, limit: int, head: int
) -> tuple[list[FrameDict], int]:
    runs, omitted = _runs(tb, limit, head)
    frames: list[FrameDict] = []
    for first, _, repeats in runs:
        live = first.tb_frame
        code, lineno, globs = live.f_code, first.tb_lineno or 0, live.f_globals
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


def causes(exc: BaseException) -> list[tuple[BaseException, str]]:
    """The causes of *exc* that ``chain`` shows, innermost first, with their relation."""
    chain: list[tuple[BaseException, str]] = []
    seen = {id(exc)}
    current: BaseException = exc
    while len(chain) < MAX_CHAIN:
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


def _kind(exc: BaseException) -> tuple[Any, ...]:
    """Type and raising code of *exc*: children of one kind are the same failure."""
    parts: list[Any] = [type(exc)]
    node = exc.__traceback__
    while node is not None:
        parts.append((node.tb_frame.f_code, node.tb_lineno))
        node = node.tb_next
    return tuple(parts)


def _choose(members: Sequence[BaseException]) -> list[int]:
    """Indices of the children to walk: every kind once first, then the rest, in order."""
    if len(members) <= MAX_CHILDREN:
        return list(range(len(members)))
    first: dict[tuple[Any, ...], int] = {}
    for index, member in enumerate(members):
        first.setdefault(_kind(member), index)
    chosen = list(first.values())[:MAX_CHILDREN]
    taken = set(chosen)
    for index in range(len(members)):
        if len(chosen) >= MAX_CHILDREN:
            break
        if index not in taken:
            chosen.append(index)
    return sorted(chosen)


class _Walk:
    """One walk over an exception tree, within :data:`MAX_EXCEPTIONS`."""

    def __init__(self, in_app: InAppRule) -> None:
        self.in_app = in_app
        self.left = MAX_EXCEPTIONS
        self.walked: set[int] = set()

    def tree(self, exc: BaseException, tb: TracebackType | None, depth: int) -> ExceptionDict:
        """*exc* with its chain, outermost cause first, and a group's children."""
        top = self.one(exc, tb, depth)
        chain: list[ExceptionDict] = []
        for nxt, relation in causes(exc):
            if self.left <= 0:
                break
            entry = self.one(nxt, nxt.__traceback__, depth)
            entry["relation"] = relation
            chain.append(entry)
        if chain:
            chain.reverse()
            top["chain"] = chain
        return top

    def one(self, exc: BaseException, tb: TracebackType | None, depth: int) -> ExceptionDict:
        self.left -= 1
        self.walked.add(id(exc))
        kind = type(exc)
        limit, head = (_MAX_FRAMES, _HEAD_FRAMES) if depth == 0 else (
            MAX_CHILD_FRAMES, _CHILD_HEAD_FRAMES)
        frames, omitted = _frames(tb, self.in_app, limit, head)
        module = getattr(kind, "__module__", "") or ""
        result: ExceptionDict = {
            "type": kind.__qualname__,
            "value": safe_str(exc, MAX_VALUE_CHARS),
            "module": module if isinstance(module, str) else "",
            "frames": frames,
        }
        if omitted:
            result["frames_omitted"] = omitted
        if isinstance(exc, BaseExceptionGroup):
            self.children(exc, result, depth)
        return result

    def children(self, group: BaseExceptionGroup[Any], result: ExceptionDict, depth: int) -> None:
        members = group.exceptions
        walked: list[ExceptionDict] = []
        if depth < MAX_GROUP_DEPTH:
            for index in _choose(members):
                member = members[index]
                if self.left <= 0:
                    break
                if id(member) not in self.walked:  # a cycle through a chain
                    walked.append(self.tree(member, member.__traceback__, depth + 1))
        result["children"] = walked
        if len(members) > len(walked):
            result["children_omitted"] = len(members) - len(walked)


def exception_to_dict(
    exc: BaseException, tb: TracebackType | None, in_app: InAppRule
) -> ExceptionDict:
    """The wire form of *exc* raised with traceback *tb*: causes in ``chain``, a group's
    sub-exceptions in ``children`` (bounded, see the module docstring)."""
    return _Walk(in_app).tree(exc, tb, 0)


def _leaf_types(exc: ExceptionDict, into: dict[str, None]) -> None:
    for child in exc.get("children", ()):
        if child.get("children"):
            _leaf_types(child, into)
        else:
            into.setdefault(child["type"], None)


def exception_title(exc: ExceptionDict) -> str:
    """``"Type: first line of the value"``; a group adds the types it holds,
    e.g. ``"ExceptionGroup: unhandled errors in a TaskGroup (2 sub-exceptions) [KeyError,
    ValueError]"``."""
    value = first_line(exc["value"])
    title = f"{exc['type']}: {value}" if value else exc["type"]
    if exc.get("children"):
        types: dict[str, None] = {}
        _leaf_types(exc, types)
        shown = list(types)[:_TITLE_CHILD_TYPES]
        more = ", …" if len(types) > len(shown) else ""
        title += f" [{', '.join(shown)}{more}]"
    return title
