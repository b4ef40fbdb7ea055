"""Per-service tokens: creating them, the tokens file, and checking one in constant time.

The tokens file (``AFISSUE_TOKENS_FILE``) holds one ``service sha256-hex-of-token`` line
per token; blank lines and ``#`` comments are ignored, and a service may have several
tokens (rotation). Only hashes are stored, so the file is not a secret in itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from ingest_service.errors import IngestConfigError

__all__ = ["TokenEntry", "TokenStore", "hash_token", "new_token", "parse_tokens"]

_SERVICE = re.compile(r"^[\x21-\x7e]{1,128}$")
_HEX = re.compile(r"^[0-9a-f]{64}$")


def hash_token(token: str) -> str:
    """The sha256 hex digest stored in the tokens file for *token*."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token(service: str) -> tuple[str, str]:
    """A fresh token for *service*: (plaintext token, tokens-file line)."""
    if not _SERVICE.match(service):
        raise IngestConfigError(
            f"service name {service!r} must be 1-128 printable ASCII characters without spaces"
        )
    token = f"afi_{secrets.token_urlsafe(32)}"
    return token, f"{service} {hash_token(token)}"


@dataclass(frozen=True)
class TokenEntry:
    """One line of the tokens file."""

    service: str
    digest: bytes


def parse_tokens(text: str, source: str = "<tokens>") -> list[TokenEntry]:
    """Parse tokens-file *text*; ``IngestConfigError`` names the bad line."""
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or not _SERVICE.match(parts[0]) or not _HEX.match(parts[1].lower()):
            raise IngestConfigError(
                f"{source}:{number}: expected 'service sha256-hex' (64 hex digits), "
                f"got {len(parts)} field(s)"
            )
        entries.append(TokenEntry(parts[0], bytes.fromhex(parts[1])))
    return entries


class TokenStore:
    """The tokens of a tokens file, reloaded when the file changes.

    The file is looked at (one ``stat``) at most every ``recheck_s`` seconds, and at once
    when a token is not found, so a token added to the file works on its next request
    and a removed one stops working within ``recheck_s``.
    """

    def __init__(self, path: str | os.PathLike[str], recheck_s: float = 1.0) -> None:
        self.path = Path(path)
        self.recheck_s = recheck_s
        self._stamp: tuple[int, int] | None = None
        self._entries: list[TokenEntry] = []
        self._next_check = 0.0
        self._load()

    def _load(self) -> None:
        try:
            stat = self.path.stat()
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise IngestConfigError(f"cannot read tokens file {str(self.path)!r}: {exc}") from None
        self._entries = parse_tokens(text, str(self.path))
        self._stamp = (stat.st_mtime_ns, stat.st_size)

    def _refresh(self) -> bool:
        """Reload the file if it changed; True when the tokens were reloaded."""
        self._next_check = time.monotonic() + self.recheck_s
        try:
            stat = os.stat(self.path)
        except OSError:
            return False  # keep the last good tokens rather than lock everyone out
        if (stat.st_mtime_ns, stat.st_size) == self._stamp:
            return False
        try:
            self._load()
        except IngestConfigError:
            return False
        return True

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
