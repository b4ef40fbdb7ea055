"""Event ids without a system call per event.

``uuid.uuid4()`` reads ``os.urandom`` every time, and each such call releases the GIL:
on the sender thread, next to a busy application thread, that costs up to a whole
switch interval per event. A private generator seeded from ``os.urandom`` once per
process (and again in every forked child) gives 128 random bits per id instead. Ids
only need to be unique; the user's ``random.seed()`` does not touch this generator.
"""

from __future__ import annotations

import os
import random

__all__ = ["new_event_id", "reseed"]

_rng = random.Random(os.urandom(32))


def new_event_id() -> str:
    """32 lowercase hex digits, like ``afissue_logging.wire.new_event_id``."""
    return f"{_rng.getrandbits(128):032x}"


def reseed() -> None:
    """Reseed (after ``fork``, so that parent and child never share ids)."""
    _rng.seed(os.urandom(32))


os.register_at_fork(after_in_child=reseed)
