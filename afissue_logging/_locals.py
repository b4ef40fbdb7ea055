"""Local variables of in-app frames: copied on the caller's thread, rendered on the sender's.

The caller's thread (:class:`LocalsCapture`, called by the snapshot) copies, for the
innermost :data:`~afissue_logging.wire.MAX_VARS_FRAMES` in-app frames of the logged
exception and its chain, at most :data:`~afissue_logging.wire.MAX_FRAME_VARS` variables
each. It runs no code of the application's objects: only values whose *exact* type is a
plain one are copied (``type(v) is int``, never ``isinstance`` and never
``v.__class__``, which a lazy object can hook):

- ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``, ``bytes``: immutable, kept
  by reference (the traceback keeps them alive anyway);
- ``list``, ``tuple``, ``dict``, ``set``, ``frozenset``: copied, at most
  :data:`MAX_ITEMS` items and :data:`MAX_DEPTH` levels deep, because the frame that is
  still running may change them once the log call returns;
- classes, functions and modules: kept, shown by name (``<class Order>``);
- anything else, subclasses of the types above included (an ``IntEnum``, a ``dict``
  subclass with its own ``items``, a str subclass that hides its text in ``__repr__``),
  is kept as its type only and shown as ``<TypeName>``: its ``__repr__`` may run SQL (a
  Django queryset) or leak what it holds, so it is never called, on any thread.

The sender thread (:func:`render_vars`) renders the copies as Python-like text,
scrubs names (the sensitive-key list) and values (the secret patterns) and cuts them to
the wire's bounds. Dunder names (``__class__``, a module frame's ``__builtins__``) are
left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice
from types import CodeType, FrameType, FunctionType, ModuleType, TracebackType
from typing import Any

from afissue_logging._exceptions import InAppRule, causes, frame_entries
from afissue_logging.scrub import FILTERED, Scrubber
from afissue_logging.settings import ClientSettings
from afissue_logging.wire import (
    MAX_FRAME_VARS,
    MAX_VAR_NAME_CHARS,
    MAX_VAR_VALUE_CHARS,
    MAX_VARS_FRAMES,
    ExceptionDict,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_STR_CHARS",
    "CapturedLocals",
    "LocalsCapture",
    "capture_for",
    "render_vars",
    "with_locals",
]

#: Items kept of one container; containers nested deeper than this are only counted.
MAX_ITEMS = 10
MAX_DEPTH = 2
#: Characters of a string (or bytes) shown; longer ones end in an ellipsis.
MAX_STR_CHARS = 200
_MAX_INT_BITS = 1024  # larger ints are shown by size: str() of a huge int is slow

_ATOMS = frozenset({type(None), bool, int, float, complex, str, bytes})
_SEQUENCES = frozenset({list, tuple, set, frozenset})

# Copies: an atom itself, or a tagged tuple (a plain tuple is never an atom).
_OTHER = 0  # (_OTHER, type)
_SEQ = 1  # (_SEQ, type, [copies], length)
_DICT = 2  # (_DICT, [(key copy, value copy)], length)
_DEEP = 3  # (_DEEP, type, length)
_NAMED = 4  # (_NAMED, class, function or module)

#: One frame's copied variables: (name, copy) pairs and how many were left out.
FrameVars = tuple[list[tuple[str, Any]], int]
#: What a snapshot keeps: the traceback entries whose frames were copied, with their copies.
CapturedLocals = list[tuple[TracebackType, FrameVars]]


def _copy(value: Any, depth: int) -> Any:
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind in _SEQUENCES:
        if depth >= MAX_DEPTH:
            return (_DEEP, kind, len(value))
        return (_SEQ, kind, [_copy(v, depth + 1) for v in islice(value, MAX_ITEMS)], len(value))
    if kind is dict:
        if depth >= MAX_DEPTH:
            return (_DEEP, kind, len(value))
        return (
            _DICT,
            [(_copy(k, MAX_DEPTH), _copy(v, depth + 1))
             for k, v in islice(value.items(), MAX_ITEMS)],
            len(value),
        )
    if kind is type or kind is FunctionType or kind is ModuleType:
        return (_NAMED, value)  # named by C slots, on the sender: no user code
    return (_OTHER, kind)


def _frame_vars(frame: FrameType) -> FrameVars:
    names = frame.f_locals
    copied: list[tuple[str, Any]] = []
    omitted = 0
    for name, value in names.items():
        if type(name) is not str or name.startswith("__"):
            continue
        if len(copied) >= MAX_FRAME_VARS:
            omitted += 1
            continue
        copied.append((name, _copy(value, 0)))
    return copied, omitted


class LocalsCapture:
    """Copies the locals of an exception's innermost in-app frames (the caller's part)."""

    __slots__ = ("_codes", "in_app")

    def __init__(self, in_app: InAppRule) -> None:
        self.in_app = in_app
        # id(code) -> (code, in app?): the code object kept, so a reused id cannot match.
        self._codes: dict[int, tuple[CodeType, bool]] = {}

    def _in_app(self, frame: FrameType) -> bool:
        code = frame.f_code
        known = self._codes.get(id(code))
        if known is not None and known[0] is code:
            return known[1]
        module = frame.f_globals.get("__name__")
        decided = self.in_app(code.co_filename, module if type(module) is str else "")
        if len(self._codes) < 10_000:
            self._codes[id(code)] = (code, decided)
        return decided

    def __call__(self, exc: BaseException, tb: TracebackType | None) -> CapturedLocals | None:
        """The copies, innermost frames first; None if there are none (or copying failed:
        the event goes out without locals rather than not at all)."""
        captured: CapturedLocals = []
        seen: dict[int, FrameVars] = {}
        try:
            self._walk(tb, captured, seen)
            for cause, _ in causes(exc):
                if len(seen) >= MAX_VARS_FRAMES:
                    break
                self._walk(cause.__traceback__, captured, seen)
        except Exception:  # noqa: BLE001 - never into the application
            return None
        return captured or None

    def _walk(
        self, tb: TracebackType | None, captured: CapturedLocals, seen: dict[int, FrameVars]
    ) -> None:
        nodes: list[TracebackType] = []
        while tb is not None:
            nodes.append(tb)
            tb = tb.tb_next
        inner: TracebackType | None = None
        for node in reversed(nodes):
            frame = node.tb_frame
            if (  # recursion: a run of equal frames is shown once, with the innermost's locals
                inner is not None
                and inner.tb_frame.f_code is frame.f_code
                and (inner.tb_lineno or 0) == (node.tb_lineno or 0)
            ):
                continue
            inner = node
            found = seen.get(id(frame))
            if found is None:
                if len(seen) >= MAX_VARS_FRAMES:
                    return
                if not self._in_app(frame):
                    continue
                found = seen[id(frame)] = _frame_vars(frame)
            captured.append((node, found))


_captures: dict[str, LocalsCapture] = {}


def capture_for(settings: ClientSettings) -> LocalsCapture | None:
    """The capture an entry point with *settings* uses: None when ``capture_locals`` is off;
    one per in-app rule, shared."""
    if not settings.capture_locals:
        return None
    found = _captures.get(settings.in_app_include)
    if found is None:
        found = LocalsCapture(InAppRule(settings.in_app_include.split(",")))
        if len(_captures) < 64:
            _captures[settings.in_app_include] = found
    return found


# -- the sender's part ---------------------------------------------------------------------


def _type_name(kind: type) -> str:
    try:  # the slot itself: a metaclass's own __qualname__ property is not run
        name = type.__dict__["__qualname__"].__get__(kind, type)
    except Exception:  # noqa: BLE001
        return "object"
    # A class made inside a function reads better without its "f.<locals>." prefix.
    return name.rpartition(".<locals>.")[2] if type(name) is str else "object"


def _named(value: Any) -> str:
    if type(value) is type:
        return f"<class {_type_name(value)}>"
    slot = FunctionType.__dict__["__qualname__"] if type(value) is FunctionType else None
    if slot is not None:
        name = slot.__get__(value, FunctionType)
        return f"<function {name}>" if type(name) is str else "<function>"
    slots: Any = ModuleType.__dict__
    name = slots["__dict__"].__get__(value, ModuleType).get("__name__")
    return f"<module {name}>" if type(name) is str else "<module>"


def _render(copy: Any, scrubber: Scrubber | None) -> str:
    kind = type(copy)
    if kind is tuple:
        tag = copy[0]
        if tag == _OTHER:
            return f"<{_type_name(copy[1])}>"
        if tag == _NAMED:
            return _named(copy[1])
        if tag == _DEEP:
            return f"<{_type_name(copy[1])} of {copy[2]}>"
        if tag == _DICT:
            parts = [f"{_render(k, None)}: {_entry(k, v, scrubber)}" for k, v in copy[1]]
            return "{" + _join(parts, copy[2]) + "}"
        return _sequence(copy[1], [_render(v, scrubber) for v in copy[2]], copy[3])
    if kind is str or kind is bytes:
        shown = repr(copy[:MAX_STR_CHARS])
        return shown + "…" if len(copy) > MAX_STR_CHARS else shown
    if kind is int and copy.bit_length() > _MAX_INT_BITS:
        return f"<int of {copy.bit_length()} bits>"
    return repr(copy)  # None, bool, int, float, complex: the builtin repr


def _entry(key: Any, value: Any, scrubber: Scrubber | None) -> str:
    if scrubber is not None and type(key) is str and scrubber.is_sensitive_key(key):
        return repr(FILTERED)
    return _render(value, scrubber)


def _join(parts: list[str], length: int) -> str:
    more = length - len(parts)
    return ", ".join(parts) + (f", …{more} more" if more > 0 else "")


def _sequence(kind: type, parts: list[str], length: int) -> str:
    if kind is list:
        return "[" + _join(parts, length) + "]"
    if kind is tuple:
        return "(" + _join(parts, length) + ("," if length == 1 else "") + ")"
    if not parts and length == 0:
        return "set()" if kind is set else "frozenset()"
    inner = "{" + _join(parts, length) + "}"
    return inner if kind is set else f"frozenset({inner})"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_vars(frame_vars: FrameVars, scrubber: Scrubber) -> dict[str, str]:
    """A frame's copied variables as the wire's ``vars``: names and values scrubbed
    (when scrubbing is on) and cut to the wire's bounds."""
    copied, _ = frame_vars
    scrub = scrubber if scrubber.enabled else None
    rendered: dict[str, str] = {}
    for name, copy in copied:
        key = _cut(name, MAX_VAR_NAME_CHARS)
        if scrub is not None and scrub.is_sensitive_key(name):
            rendered[key] = FILTERED
            continue
        try:
            text = _render(copy, scrub)
        except Exception:  # noqa: BLE001 - e.g. a recursion limit: say so, never fail the event
            text = "<unrenderable>"
        if scrub is not None:
            text = scrub.text(text)
        rendered[key] = _cut(_clean(text), MAX_VAR_VALUE_CHARS)
    return rendered


def _clean(text: str) -> str:
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _attach(
    frames: list[Any], entries: list[TracebackType], found: Mapping[int, FrameVars],
    scrubber: Scrubber,
) -> list[Any]:
    result = list(frames)
    for index, entry in enumerate(entries[: len(result)]):
        frame_vars = found.get(id(entry))
        if frame_vars is None:
            continue
        frame = dict(result[index])
        frame["vars"] = render_vars(frame_vars, scrubber)
        if frame_vars[1]:
            frame["vars_omitted"] = frame_vars[1]
        result[index] = frame
    return result


def with_locals(
    walked: ExceptionDict,
    exc: BaseException,
    tb: TracebackType | None,
    captured: CapturedLocals,
    scrubber: Scrubber,
) -> ExceptionDict:
    """A copy of the wire exception *walked* (of *exc* raised with *tb*) whose frames
    carry the *captured* locals; *walked* itself (perhaps the event cache's) is untouched.
    """
    found = {id(entry): frame_vars for entry, frame_vars in captured}
    result: Any = dict(walked)
    result["frames"] = _attach(walked["frames"], frame_entries(tb), found, scrubber)
    chain = walked.get("chain")
    if chain:
        # chain lists the causes outermost first; causes() walks them innermost first.
        pairs = list(zip(reversed(chain), causes(exc), strict=False))
        entries = [
            {**entry, "frames": _attach(entry["frames"], frame_entries(cause.__traceback__),
                                        found, scrubber)}
            for entry, (cause, _) in pairs
        ]
        entries.reverse()
        result["chain"] = entries
    return result  # type: ignore[no-any-return]
