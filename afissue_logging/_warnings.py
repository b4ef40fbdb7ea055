"""Misconfiguration is loud once: one ``afissue: ...`` line on stderr per kind of problem.

A wrong ``AFISSUE_URL`` (connection refused, a host that does not resolve, a web server
that is not the ingest API, a 404), a refused token, the first spill to the spool, a
spool that cannot be written, an ``IssueProcessor`` placed after structlog's
``format_exc_info``: each would otherwise only show in ``stats()``. The line is written
to ``sys.stderr`` directly, never through ``logging``: the client must not feed its own
handlers, and a warning must show even when logging is not configured.

Each :class:`Once` prints a key at most once, without a lock (``dict.setdefault`` is
atomic), so nothing here can deadlock a forked child; a child inherits what its parent
already printed. :class:`DeliveryWarnings` words the sender's warnings; it runs on the
sender thread.
"""

from __future__ import annotations

import sys

from afissue_logging.settings import ClientSettings

__all__ = ["DeliveryWarnings", "Once", "write_line"]

_PREFIX = "afissue: "
# Answers that mean the URL does not lead to the ingest API's endpoint.
_WRONG_PATH = ("HTTP 404", "HTTP 405")


def write_line(text: str) -> None:
    """Write ``afissue: <text>`` as one line to ``sys.stderr``; never raises."""
    stream = sys.stderr
    if stream is None:  # pythonw, some daemons
        return
    try:
        stream.write(_PREFIX + " ".join(text.split()) + "\n")
        stream.flush()
    except Exception:  # noqa: BLE001,S110 - a closed or broken stderr: nothing to tell
        pass


class Once:
    """Prints each key's line at most once (any thread)."""

    def __init__(self) -> None:
        self._printed: dict[str, object] = {}

    def __call__(self, key: str, text: str) -> bool:
        """Print *text* unless *key* was printed before; whether it was printed now."""
        token = object()
        if self._printed.setdefault(key, token) is not token:
            return False
        write_line(text)
        return True


class DeliveryWarnings:
    """The warnings of one sender: why its events are not reaching the ingest API.

    Keys: ``delivery`` (unreachable, not the ingest API, or the first spill: whichever
    comes first says where the events go), ``auth``, ``refused`` (any other status that
    drops a batch) and ``spool`` (the spool cannot be written).
    """

    def __init__(self, settings: ClientSettings, spooling: bool) -> None:
        self._once = Once()
        self._url = settings.url
        self._service = settings.service
        self._has_token = bool(settings.token)
        self._spool_dir = settings.spool_dir if spooling else None

    def _fate(self) -> str:
        if self._spool_dir is None:
            return "then dropped (spooling is off)"
        return f"then spooled to {self._spool_dir}"

    def failed(self, kind: str, detail: str, occurrences: int, *, delivered_before: bool) -> None:
        """An exchange failed with *kind* (see ``Exchange.problem``) and *detail*."""
        url = self._url
        if kind == "auth":
            token = "the token" if self._has_token else "a request without a token"
            self._once(
                "auth",
                f"the ingest API at {url} refused {token} of service {self._service!r} "
                f"({detail}); {occurrences} occurrence(s) dropped, and later ones will be "
                "until AFISSUE_TOKEN is right.",
            )
        elif kind == "refused":
            hint = (
                "; is AFISSUE_URL the ingest API's base URL?"
                if detail in _WRONG_PATH
                else "; see stats()['dropped']."
            )
            self._once(
                "refused",
                f"{url} refused a batch ({detail}): {occurrences} occurrence(s) dropped{hint}",
            )
        elif kind == "unreachable" and not delivered_before:
            self._once(
                "delivery",
                f"cannot reach the ingest API at {url} ({detail}); events are retried, "
                f"{self._fate()}. Is AFISSUE_URL right?",
            )
        elif kind == "bad_answer" and not delivered_before:
            self._once(
                "delivery",
                f"{url} answered {detail}, but not as the afissue ingest API does; events are "
                f"retried, {self._fate()}. Is AFISSUE_URL the ingest API?",
            )

    def spilled(self, occurrences: int, detail: str | None) -> None:
        """Occurrences were written to the spool (the first time, say so)."""
        why = f" ({detail})" if detail else ""
        self._once(
            "delivery",
            f"the ingest API at {self._url} is not taking events{why}: {occurrences} "
            f"occurrence(s) spooled to {self._spool_dir}; they are sent when it answers again.",
        )

    def not_spooled(self, occurrences: int, detail: str | None) -> None:
        """Occurrences that could not be delivered were dropped: spooling is off."""
        why = f" ({detail})" if detail else ""
        self._once(
            "delivery",
            f"the ingest API at {self._url} is not taking events{why} and spooling is off: "
            f"{occurrences} occurrence(s) dropped.",
        )

    def spool_failed(self, occurrences: int, error: str) -> None:
        """The spool could not be written."""
        self._once(
            "spool",
            f"cannot write the spool in {self._spool_dir} ({error}): {occurrences} "
            "occurrence(s) dropped.",
        )
