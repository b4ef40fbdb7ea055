"""Scrubbing: secrets never leave the process.

Two rules, both on by default:

- *keys*: values of ``extra`` / bound-context keys whose name contains a sensitive word
  (password, secret, token, api_key, authorization, cookie, session, ...) are replaced
  with ``"[Filtered]"``, at any nesting depth;
- *values*: secret-looking substrings of free text (bearer tokens, JWTs,
  ``password=...`` pairs, credentials in URLs, cloud access keys, card numbers that pass
  the Luhn check) are replaced inside messages, titles, exception values and extra strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["DEFAULT_SENSITIVE_KEYS", "FILTERED", "Scrubber"]

FILTERED = "[Filtered]"

DEFAULT_SENSITIVE_KEYS: tuple[str, ...] = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "authorization",
    "auth",
    "cookie",
    "session",
    "credential",
    "private_key",
    "access_key",
    "csrf",
)

_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")

_VALUE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9\-._~+/]{8,}=*"), r"\1 " + FILTERED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), FILTERED),
    (
        re.compile(
            r"(?i)\b([\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key"
            r"|auth|session|cookie)[\w-]*)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&,;\"']+)"
        ),
        r"\1\2" + FILTERED,
    ),
    (re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+):[^\s@/]+@"), r"\1:" + FILTERED + "@"),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), FILTERED),
    (re.compile(r"\bAIza[0-9A-Za-z\-_]{35}\b"), FILTERED),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), FILTERED),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"), FILTERED),
    (re.compile(r"\bsk_(?:live|test)_[A-Za-z0-9]{16,}\b"), FILTERED),
)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return FILTERED if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)


_MEMO_ENTRIES = 2_048
_MEMO_MAX_CHARS = 512


class Scrubber:
    """Replaces sensitive keys' values and secret-looking text; a no-op when disabled."""

    def __init__(
        self, enabled: bool = True, extra_keys: Iterable[str] = (), scrub_values: bool = True
    ) -> None:
        self.enabled = enabled
        self.scrub_values = scrub_values
        self.keys = tuple(
            k.strip().lower() for k in (*DEFAULT_SENSITIVE_KEYS, *extra_keys) if k.strip()
        )
        # Messages and exception values repeat (a storm, each new window's first
        # occurrence): a bounded memo spares the dozen regex passes per repeat.
        self._memo: dict[str, str] = {}

    def is_sensitive_key(self, key: str) -> bool:
        """Whether the value under *key* must be filtered."""
        low = key.lower()
        return any(word in low for word in self.keys)

    def text(self, value: str) -> str:
        """*value* with secret-looking substrings replaced."""
        if not (self.enabled and self.scrub_values) or not value:
            return value
        memo = self._memo
        found = memo.get(value)
        if found is not None:
            return found
        result = value
        for pattern, replacement in _VALUE_RULES:
            result = pattern.sub(replacement, result)
        result = _CARD.sub(_card, result)
        if len(value) <= _MEMO_MAX_CHARS:
            if len(memo) >= _MEMO_ENTRIES:
                memo.clear()
            memo[value] = result
        return result

    def mapping(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """A scrubbed copy of JSON-safe *data* (keys at any depth, text in values)."""
        return {k: self._value(k, v) for k, v in data.items()} if self.enabled else dict(data)

    def _value(self, key: str, value: Any) -> Any:
        if self.is_sensitive_key(key):
            return FILTERED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self._value(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._value("", v) for v in value]
        return value
