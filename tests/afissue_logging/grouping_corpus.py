"""The grouping corpus: scenarios of real errors, each stating which occurrences must
share an issue and which must not.

Every step logs one occurrence through the real client (``IssueHandler`` on the
``shop`` loggers, ``IssueProcessor`` for structlog) from real code
(:mod:`tests.afissue_logging.corpus_code`, and *releases* of one module written to disk,
so that a moved or reformatted line is a real line of a real file).
``test_grouping_corpus.py`` runs them.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import logging
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.afissue_logging import corpus_code as code


@dataclasses.dataclass
class Env:
    """What a step logs with."""

    logger: logging.Logger  # "shop.orders"
    other_logger: logging.Logger  # "shop.billing"
    slog: Any  # a structlog logger whose processors end with IssueProcessor
    releases: Releases


Step = Callable[[Env], None]


@dataclasses.dataclass(frozen=True)
class Scenario:
    """Steps by label; ``same``: groups of labels that must share an issue; ``apart``:
    pairs that must be two issues."""

    name: str
    rule: str
    steps: dict[str, Step]
    same: tuple[tuple[str, ...], ...] = ()
    apart: tuple[tuple[str, str], ...] = ()


_RELEASES = {
    "v1": 'def charge(order):\n    total = order["amount"] * order["qty"]\n    return total\n',
    "v2-moved": (
        '"""Release 2: a new check above the failing line moves it down."""\n\n\n'
        "def _validate(order):\n    return order is not None\n\n\n"
        "def charge(order):\n    _validate(order)\n    # the total, as before\n"
        '    total = order["amount"] * order["qty"]\n    return total\n'
    ),
    "v3-reformatted": (
        'def charge(order):\n    total = order[ "amount" ]*order[ "qty" ]\n    return total\n'
    ),
}


class Releases:
    """Versions of one application module (``corpus_checkout``), each a real file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._loaded: dict[str, ModuleType] = {}

    def charge(self, version: str) -> Callable[[dict[str, Any]], Any]:
        """``corpus_checkout.charge`` as of *version*."""
        module = self._loaded.get(version)
        if module is None:
            path = self.root / version / "corpus_checkout.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_RELEASES[version])
            spec = importlib.util.spec_from_file_location("corpus_checkout", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self._loaded[version] = module
        charge: Callable[[dict[str, Any]], Any] = module.charge
        return charge


def failing(call: Callable[[], Any], message: str = "operation failed", *,
            as_message: bool = False) -> Step:
    """A step that runs *call* and logs what it raises with ``logger.exception``, or with
    ``logger.error(error)`` when *as_message*."""

    def step(env: Env) -> None:
        try:
            call()
        except Exception as error:
            if as_message:
                env.logger.error(error)
            else:
                env.logger.exception(message)

    return step


def failing_structlog(call: Callable[[], Any]) -> Step:
    """A step that runs *call* and logs what it raises with structlog's ``exception``."""

    def step(env: Env) -> None:
        try:
            call()
        except Exception:
            env.slog.exception("operation failed")

    return step


def without_traceback(error: BaseException) -> Step:
    """A step that logs a copy of *error* with ``exc_info=(type, value, None)``: a copy
    each time, because one exception object is reported once however often it is logged."""

    def step(env: Env) -> None:
        logged = copy.copy(error)
        env.logger.error("failed", exc_info=(type(logged), logged, None))

    return step


def as_message(error: Any) -> Step:
    """A step that logs a copy of *error* as the message itself: ``logger.error(error)``."""
    return lambda env: env.logger.error(copy.copy(error))


def message(text: str, *args: Any, other: bool = False, **extra: Any) -> Step:
    """A step that logs an error message (on ``shop.billing`` when *other*)."""
    return lambda env: (env.other_logger if other else env.logger).error(text, *args, extra=extra)


def _v(version: str) -> Step:
    return lambda env: failing(lambda: env.releases.charge(version)({}))(env)


def _group(*jobs: Any) -> Step:
    return failing(lambda: code.gather(*jobs), "pricing run failed")


def _batch(message_text: str, *errors: Callable[[], Exception]) -> Step:
    """A step raising an ExceptionGroup of fresh *errors* (made when the step runs)."""
    return failing(lambda: code.fail_batch(message_text, *(e() for e in errors)), "batch failed")


def _shard(error: Callable[[], Exception]) -> Callable[[], Exception]:
    return lambda: ExceptionGroup("shard", [code.raised(error())])


SCENARIOS: list[Scenario] = [
    Scenario("values_do_not_split", "Values are not the problem: one line, one issue.",
             {"a": failing(lambda: code.lookup({}, "alice")),
              "b": failing(lambda: code.lookup({}, "bob"))}, same=(("a", "b"),)),
    Scenario("two_lines_one_function", "Two failing lines of one function are two issues.",
             {"a": failing(lambda: code.read_field({}, 1)),
              "b": failing(lambda: code.read_field({}, 2))}, apart=(("a", "b"),)),
    Scenario("moved_line", "A failing line moved down by a release stays one issue.",
             {"a": _v("v1"), "b": _v("v2-moved")}, same=(("a", "b"),)),
    Scenario("reformatted_line", "A failing line reformatted (whitespace) stays one issue.",
             {"a": _v("v1"), "b": _v("v3-reformatted")}, same=(("a", "b"),)),
    Scenario("types_on_one_line", "Two exception types from one line are two issues.",
             {"a": failing(lambda: code.parse_price("abc")),
              "b": failing(lambda: code.parse_price(None))}, apart=(("a", "b"),)),  # type: ignore[arg-type]
    Scenario("same_type_other_function", "One type in two functions is two issues.",
             {"a": failing(lambda: code.lookup({}, "k")),
              "b": failing(lambda: code.other_lookup({}, "k"))}, apart=(("a", "b"),)),
    Scenario("recursion_depth", "Recursion depth does not split an issue.",
             {"a": failing(lambda: code.walk(0, 3)), "b": failing(lambda: code.walk(0, 40))},
             same=(("a", "b"),)),
    Scenario("library_error_one_app_line", "Library errors from one app line are one issue.",
             {"a": failing(lambda: code.load_json("{")),
              "b": failing(lambda: code.load_json("[1,"))}, same=(("a", "b"),)),
    Scenario("library_error_two_app_lines", "A library call failing on two lines: two issues.",
             {"a": failing(lambda: code.load_two("{", "1")),
              "b": failing(lambda: code.load_two("1", "{"))}, apart=(("a", "b"),)),
    Scenario("chain_values", "A chain with other values is the same issue.",
             {"a": failing(lambda: code.process("/a")), "b": failing(lambda: code.process("/b"))},
             same=(("a", "b"),)),
    Scenario("chain_causes", "Other causes (or a cause hidden by from None) are other issues.",
             {"a": failing(lambda: code.process("/a")),
              "b": failing(lambda: code.process_lookup("k")),
              "c": failing(lambda: code.process_quietly("/a"))},
             apart=(("a", "b"), ("a", "c"), ("b", "c"))),
    Scenario("no_traceback_values", "Without a traceback, different values: two issues.",
             {"a": without_traceback(ValueError("price missing")),
              "b": without_traceback(ValueError("stock negative"))}, apart=(("a", "b"),)),
    Scenario("no_traceback_normalised", "Without a traceback, values are normalised.",
             {"a": without_traceback(ValueError("order 17 not found")),
              "b": without_traceback(ValueError("order 99 not found"))}, same=(("a", "b"),)),
    Scenario("no_traceback_types", "Without a traceback, other types are other issues.",
             {"a": without_traceback(ValueError("x")), "b": without_traceback(TypeError("x"))},
             apart=(("a", "b"),)),
    Scenario("error_as_message", "logger.error(error): three errors, three issues.",
             {"a": as_message(ValueError("price missing")),
              "b": as_message(ValueError("stock negative")),
              "c": as_message(ValueError("currency unknown"))},
             apart=(("a", "b"), ("a", "c"), ("b", "c"))),
    Scenario("error_as_message_normalised", "logger.error(error): ids do not split.",
             {"a": as_message(ValueError("order 17 not found")),
              "b": as_message(ValueError("order 99 not found"))}, same=(("a", "b"),)),
    Scenario("raised_error_as_message", "logger.error(e) of a caught error is that error.",
             {"a": failing(lambda: code.lookup({}, "alice"), as_message=True),
              "b": failing(lambda: code.lookup({}, "bob"))},
             same=(("a", "b"),)),
    Scenario("event_dicts_via_stdlib", "Event dicts as stdlib messages never merge.",
             {"a": as_message({"event": "payment failed", "order": 1}),
              "b": as_message({"event": "refund failed", "order": 2})}, apart=(("a", "b"),)),
    Scenario("event_dicts_numbers", "Event dicts that differ in numbers are one issue.",
             {"a": as_message({"event": "payment failed", "order": 1}),
              "b": as_message({"event": "payment failed", "order": 2})}, same=(("a", "b"),)),
    Scenario("structlog_messages", "structlog messages group by normalised text.",
             {"a": lambda env: env.slog.error("user 17 not found"),
              "b": lambda env: env.slog.error("user 99 not found"),
              "c": lambda env: env.slog.error("cart 17 expired")},
             same=(("a", "b"),), apart=(("a", "c"),)),
    Scenario("structlog_exceptions", "structlog exceptions group like stdlib ones.",
             {"a": failing_structlog(lambda: code.lookup({}, "alice")),
              "b": failing_structlog(lambda: code.lookup({}, "bob")),
              "c": failing_structlog(lambda: code.other_lookup({}, "bob"))},
             same=(("a", "b"),), apart=(("a", "c"),)),
    Scenario("structlog_error_as_event", "log.error(error): different errors, two issues.",
             {"a": lambda env: env.slog.error(ValueError("price missing")),
              "b": lambda env: env.slog.error(ValueError("stock negative"))},
             apart=(("a", "b"),)),
    Scenario("task_group_order", "The order concurrent tasks failed in does not split.",
             {"a": _group(code.fetch_prices, code.fetch_stock),
              "b": _group(code.fetch_stock, code.fetch_prices)}, same=(("a", "b"),)),
    Scenario("task_group_children", "TaskGroups failing with other errors are other issues.",
             {"a": _group(code.fetch_prices), "b": _group(code.fetch_stock),
              "c": _group(code.fetch_prices, code.fetch_rates)},
             apart=(("a", "b"), ("a", "c"), ("b", "c"))),
    Scenario("task_group_repeats", "How many tasks failed alike does not split.",
             {"a": _group(code.fetch_prices, code.fetch_prices),
              "b": _group(code.fetch_prices, code.fetch_prices, code.fetch_prices)},
             same=(("a", "b"),)),
    Scenario("nested_groups", "Nested groups group by their leaves.",
             {"a": _batch("b", _shard(lambda: ValueError("v"))),
              "b": _batch("b", _shard(lambda: KeyError("k"))),
              "c": _batch("b", _shard(lambda: ValueError("w")))},
             same=(("a", "c"),), apart=(("a", "b"),)),
    Scenario("group_messages", "A group's message and its children's values do not split.",
             {"a": _batch("batch 1 failed", lambda: ValueError("row 3")),
              "b": _batch("batch 2 failed", lambda: ValueError("row 9"))}, same=(("a", "b"),)),
    Scenario("durations", "Durations are placeholders.",
             {"a": message("charge timed out after 1532ms"),
              "b": message("charge timed out after 87ms"),
              "c": message("charge timed out after 2.5s")}, same=(("a", "b", "c"),)),
    Scenario("quoted_values", "Quoted key='value' values are placeholders.",
             {"a": message("unknown currency code='EUR' for user=\"bob\""),
              "b": message("unknown currency code='JPY' for user=\"alice\"")},
             same=(("a", "b"),)),
    Scenario("git_shas", "Short git shas are placeholders.",
             {"a": message("deploy of a1b2c3d failed"), "b": message("deploy of 9f8e7d6 failed")},
             same=(("a", "b"),)),
    Scenario("hostnames", "Hostnames are placeholders.",
             {"a": message("cannot reach primary.db.internal"),
              "b": message("cannot reach replica-2.db.internal"),
              "c": message("cannot reach api.payments.example.com:8443")},
             same=(("a", "b", "c"),)),
    Scenario("trace_ids", "The event's own trace id and ULIDs are placeholders.",
             {"a": message("request 01HF8ZK3V2Q7W9X4B5N6M8T0RJ failed",
                           trace_id="01HF8ZK3V2Q7W9X4B5N6M8T0RJ"),
              "b": message("request req-Zx81kQ failed", trace_id="req-Zx81kQ"),
              "c": message("request 01HF8ZM0AAB7C9D4E5F6G8H0JK failed")},
             same=(("a", "b", "c"),)),
    Scenario("multi_line_first_line", "Multi-line messages group on their first line.",
             {"a": message("payment failed\norder 1 card visa declined"),
              "b": message("payment failed\ncustomer bob: gateway timeout"),
              "c": message("refund failed\norder 1 card visa declined")},
             same=(("a", "b"),), apart=(("a", "c"),)),
    Scenario("different_messages", "Different messages are different issues.",
             {"a": message("payment failed"), "b": message("refund failed")},
             apart=(("a", "b"),)),
    Scenario("different_loggers", "One message from two loggers is two issues.",
             {"a": message("payment failed"), "b": message("payment failed", other=True)},
             apart=(("a", "b"),)),
    Scenario("numbers_in_messages", "Numbers in messages are placeholders.",
             {"a": message("order 17 failed after 3 retries"),
              "b": message("order 99 failed after 5 retries")}, same=(("a", "b"),)),
    Scenario("template_args", "Arguments of a template do not split.",
             {"a": message("user %s not found", "alice@example.com"),
              "b": message("user %s not found", "bob")}, same=(("a", "b"),)),
    Scenario("override", "A fingerprint override groups different errors together.",
             {"a": message("payment failed", fingerprint=["payments"]),
              "b": message("refund failed", fingerprint=["payments"])}, same=(("a", "b"),)),
    Scenario("override_with_default", "{{ default }} plus a tenant splits by tenant.",
             {"a": message("payment failed", fingerprint=["{{ default }}", "tenant-a"]),
              "b": message("payment failed", fingerprint=["{{ default }}", "tenant-b"]),
              "c": message("payment failed")},
             apart=(("a", "b"), ("a", "c"), ("b", "c"))),
]
