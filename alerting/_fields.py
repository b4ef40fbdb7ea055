"""Reading one table of an alerts file field by field, with errors that say where."""

from __future__ import annotations

from typing import Any

__all__ = ["Fields", "RulesError", "kind"]


class RulesError(ValueError):
    """The alert configuration is invalid; the message says where and what was expected."""


class Fields:
    """One table of the file, read field by field with errors naming *where*."""

    def __init__(self, table: Any, where: str, allowed: tuple[str, ...]) -> None:
        if not isinstance(table, dict):
            raise RulesError(f"{where}: expected a table, got {kind(table)}")
        unknown = sorted(str(k) for k in table if k not in allowed)
        if unknown:
            raise RulesError(f"{where}: unknown field {unknown[0]!r} (expected one of {', '.join(allowed)})")
        self.table, self.where = table, where

    def fail(self, name: str, expected: str) -> RulesError:
        return RulesError(f"{self.where}: field {name!r}: expected {expected}, got {kind(self.table.get(name))}")

    def text(self, name: str, default: str | None = None) -> str:
        value = self.table.get(name, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, "a non-empty string")
        return value

    def optional_text(self, name: str) -> str | None:
        return self.text(name) if name in self.table else None

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.table.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(name, f"an integer from {low} to {high}")
        return value

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.table.get(name)
        if not isinstance(value, list) or not value or not all(
            isinstance(v, str) and v.strip() for v in value
        ):
            raise self.fail(name, "a non-empty list of non-empty strings")
        return tuple(value)

    def optional_set(self, name: str) -> frozenset[str] | None:
        return frozenset(self.strings(name)) if name in self.table else None


def kind(value: Any) -> str:
    if value is None:
        return "nothing"
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"
