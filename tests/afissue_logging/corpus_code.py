"""Application code that the grouping corpus fails in: real functions raising real
exceptions, so that frames, lines, chains and groups are Python's own."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

E = TypeVar("E", bound=BaseException)


def parse_price(text: str) -> float:
    return float(text)


def read_field(record: dict[str, Any], which: int) -> Any:
    if which == 1:
        return record["price"]
    return record["quantity"]


def lookup(table: dict[str, Any], key: str) -> Any:
    return table[key]


def other_lookup(table: dict[str, Any], key: str) -> Any:
    return table[key]


def load_json(text: str) -> Any:
    return json.loads(text)


def load_two(first: str, second: str) -> Any:
    json.loads(first)
    return json.loads(second)


def walk(depth: int, bottom: int) -> int:
    if depth >= bottom:
        raise ValueError(f"no node below level {depth}")
    return walk(depth + 1, bottom)


def save(path: str) -> None:
    raise OSError(f"disk full writing {path}")


def process(path: str) -> None:
    try:
        save(path)
    except OSError as error:
        raise RuntimeError(f"processing {path} failed") from error


def process_lookup(key: str) -> None:
    try:
        lookup({}, key)
    except KeyError as error:
        raise RuntimeError(f"processing {key} failed") from error


def process_quietly(path: str) -> None:
    try:
        save(path)
    except OSError:
        raise RuntimeError(f"processing {path} failed") from None


async def fetch_prices() -> None:
    raise ValueError("prices unavailable")


async def fetch_stock() -> None:
    raise KeyError("stock")


async def fetch_rates() -> None:
    raise TimeoutError("rates")


def gather(*jobs: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run *jobs* in one ``asyncio.TaskGroup``; their failures leave as an ExceptionGroup."""

    async def main() -> None:
        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(job())

    asyncio.run(main())


def raised(error: E) -> E:
    """*error*, raised and caught here, so that it carries a traceback."""
    try:
        raise error
    except BaseException:
        return error


def fail_batch(message: str, *errors: Exception) -> None:
    """Raise an ExceptionGroup of *errors*, each raised first (nested groups as given)."""
    raise ExceptionGroup(message, [raised(e) for e in errors])
