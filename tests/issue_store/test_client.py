"""The one client factory: the emulator address reaches the client and nothing else."""

from __future__ import annotations

import os
import threading

import pytest

from issue_store.client import EMULATOR_VARIABLE, LazyFirestore, firestore_client


class TestEmulatorAddress:
    def test_client_talks_to_the_given_emulator(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The address given is the one the client uses."""
        monkeypatch.delenv(EMULATOR_VARIABLE, raising=False)
        client = firestore_client("p", "127.0.0.1:1234")
        assert client._emulator_host == "127.0.0.1:1234"

    def test_process_environment_is_left_unset(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Making an emulator client does not leave the variable set for the rest of the
        process (the web UI's factory used to)."""
        monkeypatch.delenv(EMULATOR_VARIABLE, raising=False)
        firestore_client("p", "127.0.0.1:1234")
        assert EMULATOR_VARIABLE not in os.environ

    def test_previous_value_is_restored(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A value set before is put back, and a client made afterwards keeps its own."""
        monkeypatch.setenv(EMULATOR_VARIABLE, "127.0.0.1:1111")
        second = firestore_client("p", "127.0.0.1:2222")
        assert os.environ[EMULATOR_VARIABLE] == "127.0.0.1:1111"
        assert second._emulator_host == "127.0.0.1:2222"
        assert firestore_client("p", "127.0.0.1:3333")._emulator_host == "127.0.0.1:3333"

    def test_concurrent_clients_each_get_their_own(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Clients made on several threads at once each talk to the emulator they were given."""
        monkeypatch.delenv(EMULATOR_VARIABLE, raising=False)
        hosts = {n: f"127.0.0.1:{2000 + n}" for n in range(8)}
        made: dict[int, str] = {}

        def make(n: int) -> None:
            made[n] = firestore_client("p", hosts[n])._emulator_host

        threads = [threading.Thread(target=make, args=(n,)) for n in hosts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert made == hosts
        assert EMULATOR_VARIABLE not in os.environ


class TestLazyFirestore:
    def test_makes_no_client_until_used(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The client is made on first use, once."""
        monkeypatch.delenv(EMULATOR_VARIABLE, raising=False)
        lazy = LazyFirestore("p", "127.0.0.1:1234")
        assert lazy._client is None
        assert lazy.client() is lazy.client()
        assert lazy.client()._emulator_host == "127.0.0.1:1234"
