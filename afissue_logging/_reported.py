"""One exception object is one occurrence: the mark saying afissue has reported it.

Whichever entry point meets an exception first (``IssueHandler.emit``,
``IssueProcessor``, the uncaught-exception hooks of :mod:`._uncaught`) claims it, and
the others skip it. So an error logged with ``logger.exception()`` and re-raised until
it kills the thread or the process is not a second occurrence, and a previous
``sys.excepthook`` that logs what it is given does not report it again either.

The mark lives on the exception object itself, in its ``__dict__``, whichever sender
reported it: exceptions cannot be weakly referenced, and a registry holding them would
keep their tracebacks, and the frames' local variables, alive. A claim is a dictionary
lookup and store on the caller's thread. The mark survives ``copy.copy`` but not
pickling (it unpickles as ``False``): an exception sent to another process is that
process's to report, and unpickling it never needs this package.
"""

from __future__ import annotations

__all__ = ["claim", "is_reported"]

_ATTRIBUTE = "_afissue_reported"


class _Mark:
    __slots__ = ()

    def __reduce__(self) -> tuple[type[bool], tuple[()]]:
        return (bool, ())

    def __repr__(self) -> str:
        return "<reported to afissue>"


_MARK = _Mark()


def claim(error: BaseException) -> bool:
    """Mark *error* reported; False if it already was (then it must not be reported).

    An exception whose ``__dict__`` cannot be reached is never marked, and always new.
    """
    try:
        attributes = error.__dict__
        if attributes.get(_ATTRIBUTE) is _MARK:
            return False
        attributes[_ATTRIBUTE] = _MARK
    except Exception:  # noqa: BLE001 - an exotic exception class: report it, unmarked
        return True
    return True


def is_reported(error: BaseException) -> bool:
    """Whether *error* was claimed in this process."""
    try:
        return error.__dict__.get(_ATTRIBUTE) is _MARK
    except Exception:  # noqa: BLE001
        return False
