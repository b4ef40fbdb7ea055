"""A stand-in for the ingest API: a real HTTP server, in a thread, that records what
clients POST to ``/api/v1/issues`` and answers as the API does (202)."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class CapturedRequest:
    """One POST: its headers and the events of its body (one, or a batch)."""

    def __init__(self, headers: dict[str, str], events: list[dict[str, Any]]) -> None:
        self.headers = headers
        self.events = events


class _Handler(BaseHTTPRequestHandler):
    server: CaptureServer

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""

    def do_GET(self) -> None:
        self._answer(200 if self.path.startswith("/api/health") else 404, {"status": "ok"})

    def do_POST(self) -> None:
        if self.path.split("?")[0] != "/api/v1/issues":
            self._answer(404, {"error": "not found"})
            return
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        body = json.loads(raw)
        batch = isinstance(body, dict) and isinstance(body.get("events"), list)
        events: list[dict[str, Any]] = body["events"] if batch else [body]
        self.server.record(CapturedRequest(dict(self.headers.items()), events))
        results = [self._accepted(event) for event in events]
        self._answer(202, {"results": results} if batch else results[0])

    @staticmethod
    def _accepted(event: dict[str, Any]) -> dict[str, Any]:
        key = f"{event.get('service')}:{event.get('fingerprint') or event.get('title')}"
        return {
            "id": event.get("event_id") or uuid.uuid4().hex,
            "issue_id": hashlib.sha256(key.encode()).hexdigest()[:32],
            "status": "accepted",
        }

    def _answer(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class CaptureServer(ThreadingHTTPServer):
    """Serves on 127.0.0.1 (a free port) until :meth:`close`."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[CapturedRequest] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def record(self, request: CapturedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def events(self) -> list[tuple[dict[str, str], dict[str, Any]]]:
        """Every event received so far, with the headers of its request."""
        with self._lock:
            return [(r.headers, e) for r in self.requests for e in r.events]

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)
