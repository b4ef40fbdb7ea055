"""Real receivers on 127.0.0.1 for the notifier's tests: an HTTP server thread that
records every request (and can be taken down and brought back on the same port, or made
to answer an error), and an SMTP server (aiosmtpd) that keeps every message."""

from __future__ import annotations

import dataclasses
import http.server
import json
import threading
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

from afissue.services import free_port


@dataclasses.dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver:
    """Records POSTs; answers ``status`` (200 unless told otherwise)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[Received] = []
        #: Every POST that reached the receiver, answered 2xx or not.
        self.hits = 0
        self.status = 200
        self.retry_after: str | None = None
        self._lock = threading.Lock()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                status = receiver.status
                with receiver._lock:
                    receiver.hits += 1
                if status < 300:
                    with receiver._lock:
                        receiver.requests.append(
                            Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                        )
                self.send_response(status)
                if receiver.retry_after is not None:
                    self.send_header("Retry-After", receiver.retry_after)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Take the receiver down: connections are refused until :meth:`start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def received(self) -> list[Received]:
        with self._lock:
            return list(self.requests)

    def ids(self) -> list[str]:
        return [request.headers.get("webhook-id", "") for request in self.received()]


class SmtpReceiver:
    """An aiosmtpd server keeping each message it accepts."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.messages: list[Message] = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                receiver.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
