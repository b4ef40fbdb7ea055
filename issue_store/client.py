"""The one Firestore client factory of the consumer, the web UI and the CLI.

google-cloud-firestore finds an emulator only through the ``FIRESTORE_EMULATOR_HOST``
environment variable, read in the client's constructor. The factory sets it for that
call alone, under a lock, and puts back what was there before: a process holding
clients of two Firestores (a test, ``afissue dev``, a tool that copies between them)
keeps each on its own, and nothing else in the process sees the variable change.
"""

from __future__ import annotations

import os
import threading
from typing import Any

__all__ = ["EMULATOR_VARIABLE", "LazyFirestore", "firestore_client"]

#: Where the client library looks for an emulator (the standard Google name).
EMULATOR_VARIABLE = "FIRESTORE_EMULATOR_HOST"
_LOCK = threading.Lock()


def firestore_client(project: str, emulator_host: str | None = None) -> Any:
    """A Firestore client of *project*; on the emulator at *emulator_host* (anonymous
    credentials) when given, else with the environment's Google credentials."""
    from google.cloud import firestore

    if not emulator_host:
        return firestore.Client(project=project)
    from google.auth.credentials import AnonymousCredentials

    with _LOCK:
        previous = os.environ.get(EMULATOR_VARIABLE)
        os.environ[EMULATOR_VARIABLE] = emulator_host
        try:
            return firestore.Client(
                project=project,
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            )
        finally:
            if previous is None:
                os.environ.pop(EMULATOR_VARIABLE, None)
            else:
                os.environ[EMULATOR_VARIABLE] = previous


class LazyFirestore:
    """A Firestore client made on first use.

    Building a client looks for credentials, which an ingest app that is only asked to
    accept events may not have; made lazily, a missing credential is an error page of
    the UI instead of an app that cannot start.
    """

    def __init__(self, project: str, emulator_host: str | None) -> None:
        self.project = project
        self.emulator_host = emulator_host
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        """The client, made now if it was not yet."""
        with self._lock:
            if self._client is None:
                self._client = firestore_client(self.project, self.emulator_host)
            return self._client

    def collection(self, name: str) -> Any:
        return self.client().collection(name)

    def transaction(self) -> Any:
        return self.client().transaction()
