"""wire.new_event_id: the one event-id generator of client, ingest and consumer tests."""

from __future__ import annotations

import os
import random
import re

import pytest

from afissue_logging import wire

_HEX32 = re.compile(r"^[0-9a-f]{32}$")


class TestNewEventId:
    def test_ids_are_32_lowercase_hex_digits_and_distinct(self) -> None:
        ids = {wire.new_event_id() for _ in range(10_000)}
        assert len(ids) == 10_000
        assert all(_HEX32.match(event_id) for event_id in ids)

    def test_no_system_call_per_id(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """An id does not read os.urandom (each read releases the GIL on the sender)."""
        def refuse(size: int) -> bytes:
            raise AssertionError("os.urandom called per event id")

        monkeypatch.setattr(os, "urandom", refuse)
        assert _HEX32.match(wire.new_event_id())

    def test_the_users_random_seed_does_not_repeat_ids(self) -> None:
        random.seed(7)
        first = wire.new_event_id()
        random.seed(7)
        assert wire.new_event_id() != first

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
    def test_a_forked_child_draws_other_ids_than_its_parent(self) -> None:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            os.write(write, wire.new_event_id().encode())
            os._exit(0)
        os.close(write)
        child = os.read(read, 64).decode()
        os.close(read)
        os.waitpid(pid, 0)
        assert _HEX32.match(child)
        assert child != wire.new_event_id()
