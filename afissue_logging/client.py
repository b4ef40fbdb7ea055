"""``IssueTrackerClient``: the seed system's manual API, ``log_issue(...) -> event id``.

Creating one also makes uncaught exceptions issues, unless ``capture_uncaught=False``
(:mod:`._uncaught`).
"""

from __future__ import annotations

from typing import Any

from afissue_logging import _uncaught
from afissue_logging._registry import get_sender
from afissue_logging._safe import text
from afissue_logging._sender import Sender
from afissue_logging._transport import Transport
from afissue_logging.settings import ClientSettings, load_settings
from afissue_logging.wire import new_event_id

__all__ = ["IssueTrackerClient"]

_TOP_LEVEL = frozenset(
    {"reporter_id", "level", "tags", "trace_id", "request_id", "fingerprint", "logger", "extra"}
)


class IssueTrackerClient:
    """Reports issues explicitly; shares the process-wide sender with the handler.

    Issues reported here are never storm-aggregated: each call is its own event, so the
    returned event id always names a delivered event.
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        token: str | None = None,
        service: str | None = None,
        environment: str | None = None,
        release: str | None = None,
        spool_dir: str | None = None,
        transport: Transport | None = None,
        capture_uncaught: bool | None = None,
        **tuning: Any,
    ) -> None:
        self.settings: ClientSettings = load_settings(
            None,
            url=url,
            token=token,
            service=service,
            environment=environment,
            release=release,
            spool_dir=spool_dir,
            capture_uncaught=capture_uncaught,
            **tuning,
        )
        self._sender: Sender = get_sender(self.settings, transport)
        if self.settings.capture_uncaught:
            _uncaught.install(self._sender)

    def log_issue(
        self,
        title: str,
        description: str,
        type: str = "bug",
        priority: str = "medium",
        **fields: Any,
    ) -> str:
        """Queue one issue; returns its event id (also when it had to be dropped)."""
        event_id = new_event_id()
        try:
            event: dict[str, Any] = {
                "event_id": event_id,
                "title": text(title, 200) or "(untitled)",
                "description": text(description, self.settings.max_message_chars),
                "message_template": text(title, 200),
                "type": text(type, 50),
                "priority": text(priority, 50),
                "level": "error",
                "logger": "afissue.manual",
            }
            extra: dict[str, Any] = {}
            for key, value in fields.items():
                if key in _TOP_LEVEL and key != "extra":
                    event[key] = value
                elif key == "extra" and isinstance(value, dict):
                    extra.update(value)
                else:
                    extra[key] = value
            if extra:
                event["extra"] = extra
            self._sender.submit_event(event)
        except Exception:  # noqa: BLE001 - reporting must never break the application
            self._sender.count_internal()
        return event_id

    def flush(self, timeout: float | None = None) -> bool:
        """Deliver or spool everything reported so far; whether all of it since the
        previous flush was delivered (see ``IssueHandler.flush``)."""
        return self._sender.flush(self.settings.exit_timeout if timeout is None else timeout)

    def stats(self) -> dict[str, Any]:
        """The shared sender's counters."""
        return self._sender.stats()
