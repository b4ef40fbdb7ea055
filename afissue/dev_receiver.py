"""The local alert receiver of ``afissue dev``: a webhook endpoint in the dev process that
verifies each alert's Standard Webhooks signature and prints one line per alert.

When no alert channel is configured (no ``AFISSUE_ALERTS_FILE`` or
``AFISSUE_ALERT_WEBHOOK_URL``), ``afissue dev`` points the webhook shortcut here with a
fresh secret: every new issue and regression of the local stack then shows up in the
terminal as ``alert | ...``, having gone through the consumer's outbox and the notifier
exactly as in production.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from afissue.services import free_port
from notifier.message import one_line
from notifier.signing import SignatureError, new_secret, verify

__all__ = ["AlertReceiver", "describe_alert"]


def describe_alert(body: Any) -> str:
    """One line for a received webhook body: headline, title, where, link."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return f"unexpected body {one_line(body, 120)}"
    data = body["data"]
    if data.get("trigger") == "digest":
        return one_line(f"{data.get('headline')} (digest {data.get('id')})", 300)
    issue = data.get("issue") if isinstance(data.get("issue"), dict) else {}
    where = "/".join(str(issue[k]) for k in ("service", "environment") if issue.get(k))
    return one_line(
        f"{data.get('headline')}: {issue.get('title')} [{where}] {data.get('url')}", 300
    )


class AlertReceiver:
    """Receives signed alerts on ``http://127.0.0.1:PORT/alerts`` and echoes each one."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.port = free_port()
        self.secret = new_secret()
        self._echo = echo
        self._lock = threading.Lock()
        self.received: list[str] = []  # the webhook-id of each verified alert
        self._server: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/alerts"

    def start(self) -> AlertReceiver:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k: v for k, v in self.headers.items()}
                try:
                    verify(receiver.secret, headers, raw, now=int(time.time()))
                    body = json.loads(raw)
                except (SignatureError, ValueError) as error:
                    receiver._echo(f"alert | rejected: {error}")
                    self.send_response(400)
                else:
                    receiver._record(self.headers.get("webhook-id", ""), body)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, name="afissue-dev-alerts", daemon=True
        ).start()
        return self

    def _record(self, webhook_id: str, body: Any) -> None:
        with self._lock:
            repeat = webhook_id in self.received
            self.received.append(webhook_id)
        note = " (repeat of a delivered id)" if repeat else ""
        self._echo(f"alert | {describe_alert(body)}{note}")

    def count(self) -> int:
        """How many distinct alerts arrived."""
        with self._lock:
            return len(set(self.received))

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
