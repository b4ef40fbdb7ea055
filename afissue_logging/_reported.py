"""One exception object is one occurrence: the mark saying afissue has reported it.

Each sender claims the exceptions of the records it takes, on its own thread, in the
order they were logged: the first record of an exception object is reported, later
ones (``IssueHandler``, ``IssueProcessor``, the uncaught-exception hooks of
:mod:`._uncaught`) are skipped. So an error logged with ``logger.exception()`` and
re-raised until it kills the thread or the process is not a second occurrence, and a
previous ``sys.excepthook`` that logs what it is given does not report it again either.
Claiming on the sender's thread keeps the caller's cost where it was (creating an
exception's ``__dict__`` to mark it costs ~0.35 µs); each sender claims for itself, so
two handlers with different destinations both report it, as they would any record.

The mark lives on the exception object itself, in its ``__dict__``: exceptions cannot
be weakly referenced, and a registry holding them would keep their tracebacks, and the
frames' local variables, alive. The web integrations claim too (owner 0) once they have
logged an exception, so a server's repeat of it is recognised (:func:`is_reported`). The
mark survives ``copy.copy`` but not pickling (it unpickles as ``False``): an exception
sent to another process is that process's to report, and unpickling it never needs
this package.
"""

from __future__ import annotations

__all__ = ["claim", "is_reported"]

_ATTRIBUTE = "_afissue_reported"


class _Marks(set[int]):
    """The owners (senders, or 0 for an integration) that reported an exception."""

    __slots__ = ()

    def __reduce__(self) -> tuple[type[bool], tuple[()]]:
        return (bool, ())

    def __repr__(self) -> str:
        return "<reported to afissue>"


def claim(error: BaseException, owner: int = 0) -> bool:
    """Mark *error* reported by *owner*; False if *owner* already had (then it must not
    be reported again).

    An exception whose ``__dict__`` cannot be reached is never marked, and always new.
    """
    try:
        attributes = error.__dict__
        marks = attributes.get(_ATTRIBUTE)
        if type(marks) is not _Marks:
            attributes[_ATTRIBUTE] = _Marks((owner,))
            return True
        if owner in marks:
            return False
        marks.add(owner)
    except Exception:  # noqa: BLE001 - an exotic exception class: report it, unmarked
        return True
    return True


def is_reported(error: BaseException) -> bool:
    """Whether some owner claimed *error* in this process."""
    try:
        return type(error.__dict__.get(_ATTRIBUTE)) is _Marks
    except Exception:  # noqa: BLE001
        return False
