"""A tiny real HTTP ingest stand-in: records every POSTed body, answers like the API."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[list[dict[str, Any]]], tuple[int, dict[str, str], bytes] | None]

# A responder's answer meaning: close the connection without any response.
DISCONNECT: tuple[int, dict[str, str], bytes] = (0, {}, b"")


class CaptureServer:
    """``POST /api/v1/issues`` on 127.0.0.1; ``events`` holds what was accepted."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.responder: Responder | None = None
        self.condition = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                payload = json.loads(body.decode("utf-8"))
                events = payload.get("events", [payload])
                answer = outer.responder(events) if outer.responder else None
                with outer.condition:
                    outer.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "events": events}
                    )
                    if answer is None:
                        outer.events.extend(events)
                    outer.condition.notify_all()
                if answer is None:
                    results = [
                        {"id": e.get("event_id"), "issue_id": "x", "status": "accepted"}
                        for e in events
                    ]
                    data = json.dumps(
                        {"results": results} if "events" in payload else results[0]
                    ).encode()
                    answer = (202, {"Content-Type": "application/json"}, data)
                if answer is DISCONNECT:
                    self.close_connection = True
                    return
                status, headers, data = answer
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CaptureServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def occurrences(self) -> int:
        """Sum of accepted events' counts."""
        with self.condition:
            return sum(int(e.get("count", 1)) for e in self.events)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Wait until *predicate* holds for the captured data (checked on every request)."""
        with self.condition:
            return self.condition.wait_for(predicate, timeout)


def main() -> None:
    """Run a capture server on the port given as argv[1], printing each event as JSON."""
    import sys

    server = CaptureServer(int(sys.argv[1]))
    original = server.events

    class Printing(list[dict[str, Any]]):
        def extend(self, items: Any) -> None:
            for item in items:
                print(json.dumps(item), flush=True)
            original.extend(items)

    server.events = Printing()
    server.server.serve_forever()


if __name__ == "__main__":
    main()
