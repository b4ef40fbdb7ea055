"""Golden values: fingerprints and issue ids of a fixed set of events, pinned.

An issue id is a Firestore document id (``issues/{issue_id}``). A change to grouping —
a new normalisation pattern, another frame rule, another hash — changes these values and
so silently splits every existing issue in two: the old document stops counting and a
new one starts at 1. If a test here fails, that is what the change does to users' data.
Change the values only together with a stated grouping version change (CHANGELOG, with
what happens to existing issues), never to make the test pass. ``GOLDEN`` holds events
whose ids version 1 fixed and version 2 (``fingerprint.GROUPING_VERSION``) kept on
purpose; ``GOLDEN_V2`` the events whose ids version 2 fixed.
"""

from __future__ import annotations

from typing import Any

import pytest

from afissue_logging.fingerprint import compute_fingerprint, issue_id_for, normalize_message


def FR(module: str, function: str, app: bool = True) -> dict[str, Any]:
    return {
        "filename": module.replace(".", "/") + ".py",
        "module": module,
        "function": function,
        "lineno": 7,
        "in_app": app,
    }


EVENTS: dict[str, tuple[dict[str, Any], list[str] | None]] = {
    "exception_in_app_frames": (
        {
            "logger": "app",
            "exception": {
                "type": "ValueError",
                "module": "builtins",
                "value": "bad price 12.5",
                "frames": [
                    FR("lib.http", "get", False),
                    FR("app.pricing", "quote"),
                    FR("app.pricing", "round_price"),
                ],
            },
        },
        None,
    ),
    "exception_no_in_app_frames": (
        {
            "logger": "app",
            "exception": {
                "type": "KeyError",
                "module": "builtins",
                "value": "'bids'",
                "frames": [FR("lib.a", "f", False), FR("lib.b", "g", False)],
            },
        },
        None,
    ),
    "exception_recursion_collapsed": (
        {
            "exception": {
                "type": "RecursionError",
                "module": "builtins",
                "value": "",
                "frames": [FR("app.tree", "walk")] * 50,
            }
        },
        None,
    ),
    "chained_cause": (
        {
            "exception": {
                "type": "RuntimeError",
                "module": "builtins",
                "value": "x",
                "frames": [FR("app.jobs", "run")],
                "chain": [
                    {
                        "type": "OSError",
                        "module": "builtins",
                        "value": "disk",
                        "frames": [FR("app.io", "save")],
                        "relation": "cause",
                    }
                ],
            }
        },
        None,
    ),
    "message_template": (
        {
            "logger": "app.orders",
            "message_template": "order %s failed after %d ms for bob@example.com",
        },
        None,
    ),
    "message_normalised": (
        {
            "logger": "app.orders",
            "message": "GET https://x.io/a?b=1 from 10.0.0.1 took 1532 ms"
            " id 550e8400-e29b-41d4-a716-446655440000 0xdeadbeef",
        },
        None,
    ),
    "override": ({"logger": "app"}, ["payments", "timeout"]),
    "override_with_default": (
        {"logger": "app", "message_template": "timeout %s"},
        ["{{ default }}", "eu-west"],
    ),
    "seed_body": (
        {"title": "Order book snapshot failed", "description": "KeyError: 'bids' in snapshot()"},
        None,
    ),
}

GOLDEN = {
    "exception_in_app_frames": (
        "3b51bb213a1c9467e6b238bcf490e4a0",
        "1d91d568d392b12ea4c0d40de86cca51",
    ),
    "exception_no_in_app_frames": (
        "4f24bd30e8d34b18dbed5eabd9d4c105",
        "871bbf9b966b2c8098700fade1d17126",
    ),
    "exception_recursion_collapsed": (
        "e42ccbc45c2abb27ef584f682c1368fa",
        "6795ef63fd72b1e4f816f10dcb36381d",
    ),
    "chained_cause": ("e5c50f04f95d533dab47512b10e22725", "23b90e57abad9a5863838f36067521e5"),
    "message_template": ("9f4e794206254d31063f933adb84fcee", "67559c2c68b068e068c0f25aeaabdad6"),
    "message_normalised": ("3275e93965f869de065e650e95d653ae", "a8359d6035254953d6e725823d382b17"),
    "override": ("7e9272167c450875a69cb1875737e370", "269e89efc3007e3825dad58e62362578"),
    "override_with_default": (
        "9fd2e2a2d8ba0dae6d96da65c7ca1add",
        "203602ad7988d6daebbc543048ac0832",
    ),
    "seed_body": ("a6e8e542c5486211bddec0d9372d0ef6", "905193eb4b376c1780439ccec4201ab1"),
}


def FL(module: str, function: str, line: str, app: bool = True) -> dict[str, Any]:
    return {**FR(module, function, app), "context_line": line}


#: Events whose grouping version 2 decides (the failing line, frameless values, groups,
#: first lines, the new placeholders): pinned from version 2 on.
EVENTS_V2: dict[str, dict[str, Any]] = {
    "exception_failing_line": {
        "exception": {
            "type": "KeyError",
            "module": "builtins",
            "value": "'price'",
            "frames": [FL("app.orders", "handle", "total(order)"),
                       FL("app.orders", "total", 'return order["price"] * order["qty"]')],
        }
    },
    "exception_without_frames": {
        "exception": {"type": "ValueError", "module": "builtins",
                      "value": "order 17 not found", "frames": []}
    },
    "exception_group": {
        "exception": {
            "type": "ExceptionGroup",
            "module": "builtins",
            "value": "unhandled errors in a TaskGroup (2 sub-exceptions)",
            "frames": [FL("app.jobs", "main", "async with asyncio.TaskGroup() as group:")],
            "children": [
                {"type": "TimeoutError", "module": "builtins", "value": "rates",
                 "frames": [FL("app.jobs", "fetch_rates", "raise TimeoutError('rates')")]},
                {"type": "KeyError", "module": "builtins", "value": "'stock'",
                 "frames": [FL("app.jobs", "fetch_stock", "return stock[sku]")]},
            ],
        }
    },
    "message_new_placeholders": {
        "logger": "app.deploy",
        "message": "deploy a1b2c3d to db-1.prod.internal took 1532ms for user='bob'",
    },
    "message_multi_line": {"logger": "app", "message": "payment failed\ncard 4111 declined"},
}

GOLDEN_V2: dict[str, tuple[str, str]] = {
    "exception_failing_line": (
        "5162509fd349dc141190311a04853c17",
        "31f73890d088276c853bab382b093e27",
    ),
    "exception_group": ("e163911087a14d2ccdb61deddb211673", "c2dc194cffdafd22b1f92b1adf80fe93"),
    "exception_without_frames": (
        "4b6fdb5ddd71ef43a7857f2d4c43209f",
        "f732c17bfa6985968ac86b2d6e9ee08c",
    ),
    "message_multi_line": ("58a8707a8bf472679c70deb7901c70d8", "aa491102049bc42e258c242011043b84"),
    "message_new_placeholders": (
        "37a19418a4d8ce7b1e77959e8dcb5650",
        "d9eed72c300b66dca99b085b0635257b",
    ),
}


class TestGoldenFingerprints:
    """The grouping of existing issues does not change unnoticed."""

    @pytest.mark.parametrize("name", sorted(EVENTS))
    def test_fingerprint_and_issue_id_are_pinned(self, name: str) -> None:
        """Each event keeps its fingerprint and its issue id (service ``pricing``): a
        change splits every existing issue of that kind (see the module docstring)."""
        event, override = EVENTS[name]
        fingerprint = compute_fingerprint(event, override)
        assert (fingerprint, issue_id_for("pricing", fingerprint)) == GOLDEN[name], (
            f"grouping of {name!r} changed: existing issues would split"
        )

    def test_every_golden_event_is_a_distinct_issue(self) -> None:
        """The fixed events are distinct problems, so they must stay distinct issues."""
        pinned = [*GOLDEN.values(), *GOLDEN_V2.values()]
        assert len({fingerprint for fingerprint, _ in pinned}) == len(pinned)

    @pytest.mark.parametrize("name", sorted(EVENTS_V2))
    def test_version_two_fingerprints_are_pinned(self, name: str) -> None:
        """Each event that version 2's rules decide keeps its fingerprint and issue id."""
        fingerprint = compute_fingerprint(EVENTS_V2[name])
        assert (fingerprint, issue_id_for("pricing", fingerprint)) == GOLDEN_V2[name], (
            f"grouping of {name!r} changed: existing issues would split"
        )

    def test_version_two_placeholders_are_pinned(self) -> None:
        """The placeholders of version 2 are part of the grouping contract too."""
        assert normalize_message(EVENTS_V2["message_new_placeholders"]["message"]) == (
            "deploy <sha> to <host> took <duration> for user='<value>'"
        )

    def test_message_normalisation_is_pinned(self) -> None:
        """The placeholders a message is normalised to are part of the grouping contract."""
        assert normalize_message(EVENTS["message_normalised"][0]["message"]) == (
            "GET <url> from <ip> took <num> ms id <uuid> <hex>"
        )
