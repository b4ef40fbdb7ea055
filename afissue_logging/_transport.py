"""Transports: how one request body reaches the ingest API.

Exceptions::

    TransportError            the request may not have arrived (retry it)
    └── TransportTimeout      connect or read timed out

A transport answers with a :class:`Response` for any HTTP status; deciding what a
status means is the sender's job. Unit tests inject their own transport (see
:mod:`afissue_logging.testing`); :class:`HttpTransport` is the real one: standard
library ``http.client``, one keep-alive connection, timeouts on every call.

:func:`preload` imports the HTTP stack on the constructing thread. Importing it lazily on
the sender thread would let a ``fork()`` land while that thread holds an import lock:
the child then finds a half-initialised ``http.client`` (or no ``idna`` codec) and every
send of its sender fails.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import http.client

__all__ = [
    "API_PATH",
    "HttpTransport",
    "Response",
    "Transport",
    "TransportError",
    "TransportTimeout",
    "preload",
]

API_PATH = "/api/v1/issues"


class TransportError(Exception):
    """The request failed before a response arrived; it may be retried."""


class TransportTimeout(TransportError):
    """Connecting or reading timed out."""


@dataclasses.dataclass(frozen=True)
class Response:
    """An HTTP response: status, lower-cased headers, body."""

    status: int
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    body: bytes = b""


class Transport(Protocol):
    """Sends one POST body to the ingest API's issues endpoint."""

    def send(self, body: bytes, headers: Mapping[str, str], timeout: float) -> Response:
        """POST *body* with *headers*; raise :class:`TransportError` if no response."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def preload() -> None:
    """Import everything a request needs, here and now (see the module docstring).

    Covers ``http.client`` and what it imports, its header parser, and the ``idna``
    codec that ``socket.getaddrinfo`` looks up for a host name on first use.
    """
    import http.client

    "localhost".encode("idna")
    http.client.parse_headers(io.BytesIO(b"Content-Type: application/json\r\n\r\n"))


class HttpTransport:
    """``POST {url}/api/v1/issues`` over one keep-alive ``http.client`` connection."""

    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"AFISSUE_URL {url!r} is not an http(s) URL")
        preload()
        self.scheme = parsed.scheme
        self.host = parsed.hostname
        self.port = parsed.port
        self.path = parsed.path.rstrip("/") + API_PATH
        self._conn: http.client.HTTPConnection | None = None

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        import http.client  # deferred: keeps ``import afissue_logging`` cheap

        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def send(self, body: bytes, headers: Mapping[str, str], timeout: float) -> Response:
        """POST once; a stale keep-alive connection is reopened once before giving up."""
        reused = self._conn is not None
        try:
            return self._send(body, headers, timeout)
        except TransportError:
            if not reused:
                raise
            return self._send(body, headers, timeout)

    def _send(self, body: bytes, headers: Mapping[str, str], timeout: float) -> Response:
        conn = self._conn
        if conn is None:
            conn = self._conn = self._connect(timeout)
        else:
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
        try:
            conn.request("POST", self.path, body=body, headers=dict(headers))
            response = conn.getresponse()
            data = response.read()
            result = Response(
                response.status, {k.lower(): v for k, v in response.getheaders()}, data
            )
            if response.will_close:
                self.close()
            return result
        except TimeoutError as error:
            self.close()
            raise TransportTimeout(f"{self.host}:{self.port}: {error}") from error
        except (OSError, _http_exception()) as error:
            self.close()
            raise TransportError(f"{self.host}:{self.port}: {error!r}") from error

    def close(self) -> None:
        """Close the keep-alive connection (reopened on the next send)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()


def _http_exception() -> type[Exception]:
    import http.client

    return http.client.HTTPException
