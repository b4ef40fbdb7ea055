"""What a list of issues asks for: filters, sort order and a Firestore cursor, validated.

Shared by ``/issues`` (built from the query string) and ``afissue issues list`` (built
from flags); the statuses are the wire's (``afissue_logging.wire.STATUSES``). The search
box's text (``issue_store.search``) may set every filter; its filters win over the
separate ones. The Firestore query holds the equality filters and at most one array
clause (Firestore allows one ``array-contains``/``array-contains-any`` per query); the
other conditions are checked on each document read (:meth:`IssueQuery.matches`). A cursor
is the sort value and the id of the last issue shown, so the next page starts right
after it even while other issues are updated; it travels in URLs as base64url JSON.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as _dt
import json
import math
from collections.abc import Mapping
from typing import Any

from afissue_logging import wire
from issue_store import tokens
from issue_store.ids import valid_issue_id
from issue_store.search import Search, SearchError, parse

__all__ = [
    "ANY_STATUS",
    "DEFAULT_STATUS",
    "SORTS",
    "Cursor",
    "InvalidQuery",
    "IssueQuery",
]

SORTS = ("last_seen", "count", "first_seen")
DEFAULT_STATUS = "open"
ANY_STATUS = "all"
MAX_PAGE_SIZE = 500
# Firestore integers are signed 64-bit; a cursor value outside cannot come from a document.
_INT64 = range(-(2**63), 2**63)


class InvalidQuery(ValueError):
    """A filter, sort or cursor value that cannot be used; the message names it."""


@dataclasses.dataclass(frozen=True)
class Cursor:
    """The position right after one issue in a list sorted by ``sort``, descending."""

    sort: str
    value: _dt.datetime | int | float
    issue_id: str

    def encode(self) -> str:
        """The cursor as an opaque URL-safe token."""
        value: Any = self.value
        if isinstance(value, _dt.datetime):
            kind, value = "t", value.astimezone(_dt.UTC).isoformat()
        else:
            kind = "n"
        raw = json.dumps({"s": self.sort, "k": kind, "v": value, "id": self.issue_id})
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """Parse a token made by :meth:`encode`; ``InvalidQuery`` if it is not one."""
        try:
            padded = token + "=" * (-len(token) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
            sort, kind, value, issue_id = data["s"], data["k"], data["v"], data["id"]
            if sort not in SORTS or not isinstance(issue_id, str) or not valid_issue_id(issue_id):
                raise ValueError(token)
            if kind == "t" and isinstance(value, str):
                moment = _dt.datetime.fromisoformat(value)
                if moment.tzinfo is None:
                    raise ValueError(value)
                # Out of Firestore's (and datetime's) range once in UTC: OverflowError.
                return cls(sort, moment.astimezone(_dt.UTC), issue_id)
            if kind == "n" and isinstance(value, int) and not isinstance(value, bool):
                if value not in _INT64:
                    raise ValueError(value)
                return cls(sort, value, issue_id)
            if kind == "n" and isinstance(value, float) and math.isfinite(value):
                return cls(sort, value, issue_id)
            raise ValueError(token)
        except (ValueError, KeyError, TypeError, OverflowError, binascii.Error):
            raise InvalidQuery(f"cursor {token[:40]!r} is not a page cursor") from None


def _text(value: str | None, name: str, limit: int = 200) -> str | None:
    value = (value or "").strip()
    if len(value) > limit:
        raise InvalidQuery(f"{name} is {len(value)} characters long; at most {limit} expected")
    return value or None


@dataclasses.dataclass(frozen=True)
class IssueQuery:
    """Filters (all optional, combined with AND), a descending sort and a page position.

    ``status`` None means any status; ``words`` are search tokens the issue must all
    have (``issue_store.tokens``); ``levels`` any of; ``release`` one the issue was seen in.
    """

    status: str | None = DEFAULT_STATUS
    service: str | None = None
    environment: str | None = None
    release: str | None = None
    levels: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    sort: str = "last_seen"
    cursor: Cursor | None = None
    limit: int = 50

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in wire.STATUSES:
            raise InvalidQuery(
                f"status {self.status!r} is not one of {', '.join((*wire.STATUSES, ANY_STATUS))}"
            )
        if self.sort not in SORTS:
            raise InvalidQuery(f"sort {self.sort!r} is not one of {', '.join(SORTS)}")
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise InvalidQuery(f"limit {self.limit} is not between 1 and {MAX_PAGE_SIZE}")
        if self.cursor is not None and self.cursor.sort != self.sort:
            raise InvalidQuery(f"the cursor belongs to sort {self.cursor.sort!r}, not {self.sort!r}")

    @property
    def search(self) -> str | None:
        """The words searched for, or None."""
        return " ".join(self.words) or None

    @property
    def filtered(self) -> bool:
        """Whether some condition is checked on the documents read (the page may scan)."""
        return bool(self.post_conditions())

    @classmethod
    def build(
        cls,
        *,
        status: str | None = DEFAULT_STATUS,
        service: str | None = None,
        environment: str | None = None,
        search: str | None = None,
        sort: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> IssueQuery:
        """A query from user-typed text: blanks are unset, ``status="all"`` is any status,
        and the filters typed in *search* (``is:resolved service:web``) win."""
        status_text = _text(status, "status")
        sort_text = _text(sort, "sort") or "last_seen"
        try:
            typed = parse(_text(search, "search", 1000) or "")
        except SearchError as exc:
            raise InvalidQuery(f"search {exc}") from None
        if typed.status is not None:
            status_text = typed.status
        return cls(
            status=None if status_text in (None, ANY_STATUS) else status_text,
            service=typed.service or _text(service, "service"),
            environment=typed.environment or _text(environment, "environment"),
            release=typed.release,
            levels=typed.levels,
            words=typed.words,
            sort=sort_text,
            cursor=Cursor.decode(cursor) if cursor else None,
            limit=limit,
        )

    @classmethod
    def from_args(cls, args: Mapping[str, str], limit: int) -> IssueQuery:
        """A query from a request's query string. ``status`` defaults to open, except
        when the search box was sent (``q``, even empty): then its ``is:`` decides."""
        return cls.build(
            status=args.get("status", ANY_STATUS if "q" in args else DEFAULT_STATUS),
            service=args.get("service"),
            environment=args.get("environment"),
            search=args.get("q"),
            sort=args.get("sort"),
            cursor=args.get("cursor"),
            limit=limit,
        )

    def search_text(self) -> str:
        """The whole query as typed in the search box (``is:open service:web KeyError``)."""
        return Search(
            status=self.status or ANY_STATUS, service=self.service,
            environment=self.environment, release=self.release, levels=self.levels,
            words=self.words,
        ).text()

    def to_args(self, cursor: Cursor | None = None) -> dict[str, Any]:
        """Query-string arguments that rebuild this query at *cursor* (first page if None)."""
        args: dict[str, Any] = {"q": self.search_text(), "sort": self.sort}
        if cursor is not None:
            args["cursor"] = cursor.encode()
        return args

    def _array_clause(self) -> tuple[str, str, list[str]] | None:
        """The one array clause Firestore gets: the most selective condition that is one."""
        if self.release:
            return ("search_tokens", "array_contains_any", [tokens.facet("release", self.release)])
        if self.words:
            return ("search_tokens", "array_contains_any", [max(self.words, key=len)])
        if self.environment:
            return ("environments", "array_contains", [self.environment])
        if self.levels:
            return ("search_tokens", "array_contains_any", [tokens.facet("level", lv) for lv in self.levels])
        return None

    def equality_filters(self) -> list[tuple[str, str, Any]]:
        """The Firestore ``where`` clauses, as (field, operator, value)."""
        filters: list[tuple[str, str, Any]] = []
        if self.service:
            filters.append(("service", "==", self.service))
        if self.status:
            filters.append(("status", "==", self.status))
        array = self._array_clause()
        if array is not None:
            field, op, values = array
            filters.append((field, op, values[0] if op == "array_contains" else values))
        return filters

    def post_conditions(self) -> list[tuple[str, Any]]:
        """What the Firestore query does not check: (field, required values) pairs; a
        document passes when its list *field* holds all (``words``) or any (the rest)."""
        array = self._array_clause()
        conditions: list[tuple[str, Any]] = []
        words = set(self.words)
        if array is not None and array[0] == "search_tokens" and self.words and not self.release:
            words -= set(array[2])
        if words:
            conditions.append(("words", frozenset(words)))
        if self.environment and (array is None or array[0] != "environments"):
            conditions.append(("environments", frozenset({self.environment})))
        levels_in_query = array is not None and array[2][0].startswith("level:")
        if self.levels and not levels_in_query:
            conditions.append(("levels", frozenset(tokens.facet("level", lv) for lv in self.levels)))
        return conditions

    def matches(self, row: Mapping[str, Any]) -> bool:
        """Whether the issue document *row* meets the conditions Firestore did not check."""
        have = row.get("search_tokens")
        found = set(have) if isinstance(have, list) else set()
        for field, values in self.post_conditions():
            if field == "words":
                if not values <= found:
                    return False
            elif field == "environments":
                envs = row.get("environments")
                if not isinstance(envs, list) or not values & set(envs):
                    return False
            elif not values & found:
                return False
        return True
