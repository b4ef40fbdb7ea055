"""The reported mark: one exception object is one occurrence, in this process only."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from afissue_logging._reported import claim, is_reported

_EXCEPTION_TYPES = st.sampled_from(
    [ValueError, KeyError, OSError, RuntimeError, ZeroDivisionError, ExceptionGroup, KeyboardInterrupt]
)


def _instance(kind: type[BaseException], text: str) -> BaseException:
    if issubclass(kind, BaseExceptionGroup):
        return kind(text, [ValueError(text)])
    return kind(text)


@dataclasses.dataclass(frozen=True)
class _FrozenError(Exception):
    code: int


class TestClaim:
    @given(kind=_EXCEPTION_TYPES, text=st.text(max_size=20))
    def test_first_claim_wins(self, kind: type[BaseException], text: str) -> None:
        """Any exception is claimed once: the first claim is True, every later one False."""
        error = _instance(kind, text)
        assert not is_reported(error)
        assert claim(error)
        assert is_reported(error)
        assert not claim(error)
        assert not claim(error)

    def test_frozen_dataclass_exceptions_are_marked(self) -> None:
        """An exception class that forbids attribute assignment is still marked."""
        error = _FrozenError(3)
        assert claim(error)
        assert not claim(error)

    def test_a_copy_is_the_same_report_a_pickle_is_not(self) -> None:
        """copy.copy keeps the mark; a pickled round trip (another process's exception)
        comes back unmarked."""
        error = ValueError("x")
        claim(error)
        assert is_reported(copy.copy(error))
        assert not is_reported(pickle.loads(pickle.dumps(error)))

    def test_unpickling_does_not_need_afissue(self) -> None:
        """A marked exception unpickles in a process that cannot import afissue_logging."""
        error = ValueError("sent elsewhere")
        claim(error)
        code = (
            "import pickle, sys\n"
            "sys.modules['afissue_logging'] = None\n"
            "error = pickle.loads(sys.stdin.buffer.read())\n"
            "print(repr(error), error.__dict__)\n"
        )
        result = subprocess.run(
            [sys.executable, "-I", "-c", code],
            input=pickle.dumps(error),
            capture_output=True,
            check=True,
            timeout=30,
        )
        assert result.stdout.decode().strip() == "ValueError('sent elsewhere') {'_afissue_reported': False}"
