"""Per-service tokens: creating them, the tokens file, and checking one in constant time.

The tokens file (``AFISSUE_TOKENS_FILE``) holds one ``service sha256-hex-of-token`` line
per token; blank lines and ``#`` comments are ignored, and a service may have several
tokens (rotation). Only hashes are stored, so the file is not a secret in itself.

The file is re-read when it changes, and a reload fails closed: a line that cannot be
parsed grants nothing (a revoked or half-written entry never keeps working), and a file
that cannot be read at all grants nothing until it can (:attr:`TokenStore.unreadable`).
Either is logged at ERROR once per version of the file.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from afissue_logging import wire
from ingest_service.errors import IngestConfigError

__all__ = [
    "TokenEntry",
    "TokenStore",
    "hash_token",
    "new_token",
    "parse_tokens",
    "scan_tokens",
    "service_name_problem",
]

log = logging.getLogger(__name__)

_HEX = re.compile(r"[0-9a-f]{64}")
#: Problems of one file version logged one by one; the rest are summed up.
_LOGGED_PROBLEMS = 20


def hash_token(token: str) -> str:
    """The sha256 hex digest stored in the tokens file for *token*."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def service_name_problem(service: str) -> str | None:
    """Why *service* cannot name a tokens-file entry, or None when it can.

    The line is ``service hex`` split on whitespace, and a line starting with ``#`` is
    a comment, so a name is 1-128 printable ASCII characters, no whitespace, no leading
    ``#``; the same characters the API accepts as an event's ``service``.
    """
    if not service:
        return "is empty"
    if len(service) > 128:
        return f"is {len(service)} characters long; at most 128 allowed"
    if not wire.is_identifier(service):
        return "must be printable ASCII without spaces or control characters, e.g. 'checkout-api'"
    if service.startswith("#"):
        return "must not start with '#' (that line would be a comment)"
    return None


def new_token(service: str) -> tuple[str, str]:
    """A fresh token for *service*: (plaintext token, tokens-file line).

    ``IngestConfigError`` names a service the tokens file could not hold.
    """
    problem = service_name_problem(service)
    if problem is not None:
        raise IngestConfigError(f"service name {service[:60]!r} {problem}")
    token = f"afi_{secrets.token_urlsafe(32)}"
    return token, f"{service} {hash_token(token)}"


@dataclass(frozen=True)
class TokenEntry:
    """One line of the tokens file."""

    service: str
    digest: bytes


def scan_tokens(text: str, source: str = "<tokens>") -> tuple[list[TokenEntry], list[str]]:
    """The entries of the well-formed lines of *text*, and one message per malformed line."""
    entries = []
    problems = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        wrong = _line_problem(parts)
        if wrong:
            problems.append(f"{source}:{number}: expected 'service sha256-hex', {wrong}")
            continue
        entries.append(TokenEntry(parts[0], bytes.fromhex(parts[1])))
    return entries, problems


def _line_problem(parts: list[str]) -> str | None:
    """What is wrong with the fields of one line, without repeating them; None if nothing."""
    if len(parts) != 2:
        return f"got {len(parts)} fields"
    if service_name_problem(parts[0]) is not None:
        return "the service name is not 1-128 printable ASCII characters"
    if not _HEX.fullmatch(parts[1].lower()):
        return f"the digest is not 64 hex digits ({len(parts[1])} characters)"
    return None


def parse_tokens(text: str, source: str = "<tokens>") -> list[TokenEntry]:
    """Parse tokens-file *text*; ``IngestConfigError`` names the first bad line."""
    entries, problems = scan_tokens(text, source)
    if problems:
        raise IngestConfigError(problems[0])
    return entries


class TokenStore:
    """The tokens of a tokens file, reloaded when the file changes.

    The file is looked at (one ``stat``) at most every ``recheck_s`` seconds, and at once
    when a token is not found, so a token added to the file works on its next request
    and a removed one stops working within ``recheck_s``.

    At construction the file must be readable and well-formed (``IngestConfigError``):
    a service does not start on a broken file. A later version that is broken fails
    closed: malformed lines are skipped (listed in :attr:`problems`), and an unreadable
    file grants no token (:attr:`unreadable` says why) until it can be read again.
    """

    def __init__(self, path: str | os.PathLike[str], recheck_s: float = 1.0) -> None:
        self.path = Path(path)
        self.recheck_s = recheck_s
        self._stamp: tuple[int, int] | None = None
        self._entries: list[TokenEntry] = []
        self._next_check = 0.0
        #: Why the file could not be read at the last look; None when it could.
        self.unreadable: str | None = None
        #: One message per malformed line of the version in use.
        self.problems: list[str] = []
        self._reported: str | None = None
        self._load(strict=True)

    def _load(self, *, strict: bool) -> None:
        try:
            before = os.stat(self.path)
            raw = self.path.read_bytes()
            after = os.stat(self.path)
        except OSError as exc:
            message = f"cannot read tokens file {str(self.path)!r}: {exc}"
            if strict:
                raise IngestConfigError(message) from None
            self._entries, self.problems, self._stamp = [], [], None
            self.unreadable = message
            self._report(message, [message + "; every token is refused until it can be read"])
            return
        # Undecodable bytes only spoil their own line, which is then malformed.
        entries, problems = scan_tokens(raw.decode("utf-8", "replace"), str(self.path))
        if strict and problems:
            raise IngestConfigError(problems[0])
        self._entries, self.problems, self.unreadable = entries, problems, None
        stamp = _stamp_of(before)
        # Changed while being read (a write in progress): look again at the next check.
        self._stamp = stamp if stamp == _stamp_of(after) else None
        self._report(
            f"{stamp}:{problems}" if problems else None,
            [f"{problem}; that line grants no token until it is fixed" for problem in problems],
        )

    def _report(self, key: str | None, messages: list[str]) -> None:
        """Log *messages* at ERROR unless this same trouble (*key*) was logged last time."""
        if key is not None and key != self._reported:
            for message in messages[:_LOGGED_PROBLEMS]:
                log.error("%s", message)
            if len(messages) > _LOGGED_PROBLEMS:
                log.error("%s: %d more malformed lines", self.path, len(messages) - _LOGGED_PROBLEMS)
        self._reported = key

    def _refresh(self) -> bool:
        """Reload the file if it changed (or could not be read); True when reloaded."""
        self._next_check = time.monotonic() + self.recheck_s
        try:
            stamp = _stamp_of(os.stat(self.path))
        except OSError:
            stamp = None
        if stamp is not None and stamp == self._stamp:
            return False
        self._load(strict=False)
        return True

    def refresh_if_due(self) -> None:
        """Look at the file now if ``recheck_s`` has passed since the last look."""
        if time.monotonic() >= self._next_check:
            self._refresh()

    @property
    def services(self) -> set[str]:
        return {entry.service for entry in self._entries}

    def service_for(self, token: str) -> str | None:
        """The service *token* belongs to, or None. Every entry is compared, in constant
        time, so timing reveals neither which entry matched nor how much of it."""
        looked = time.monotonic() >= self._next_check
        if looked:
            self._refresh()
        presented = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        found = self._match(presented)
        if found is None and not looked and self._refresh():
            found = self._match(presented)  # a token added since the last look
        return found

    def _match(self, presented: bytes) -> str | None:
        found: str | None = None
        for entry in self._entries:
            if hmac.compare_digest(presented, entry.digest) and found is None:
                found = entry.service
        return found


def _stamp_of(stat: os.stat_result) -> tuple[int, int]:
    return (stat.st_mtime_ns, stat.st_size)
