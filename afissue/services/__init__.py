"""Local infrastructure launchers used by ``afissue dev`` and the test fixtures."""

from __future__ import annotations

from afissue.services._process import ServiceError, free_port
from afissue.services.firestore_emulator import FirestoreEmulator, clear_firestore
from afissue.services.redis_server import RedisServer

__all__ = ["FirestoreEmulator", "RedisServer", "ServiceError", "clear_firestore", "free_port"]
