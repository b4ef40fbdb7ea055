"""fingerprint: the grouping rules of version 2, on wire events (the golden values of
older cases are pinned in ``test_fingerprint_golden.py``)."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from afissue_logging.fingerprint import (
    compute_fingerprint,
    default_components,
    first_line,
    normalize_message,
)


def _frame(function: str, line: str | None = None, app: bool = True, lineno: int = 7) -> dict[str, Any]:
    frame: dict[str, Any] = {"filename": "app/jobs.py", "module": "app.jobs",
                             "function": function, "lineno": lineno, "in_app": app}
    if line is not None:
        frame["context_line"] = line
    return frame


def _exc(type_: str = "KeyError", value: str = "", frames: Any = None, **more: Any) -> dict[str, Any]:
    return {"type": type_, "module": "builtins", "value": value,
            "frames": [_frame("run", "total = d['a']")] if frames is None else frames, **more}


def _fp(exc: dict[str, Any]) -> str:
    return compute_fingerprint({"exception": exc})


class TestMessages:
    @given(st.integers(0, 10**9), st.sampled_from(["ns", "us", "µs", "ms", "s", "min", "h"]),
           st.integers(0, 10**9), st.sampled_from(["ms", "s", "m", "d"]))
    def test_durations_are_one_placeholder(self, a: int, unit_a: str, b: int, unit_b: str) -> None:
        """Any number with a unit attached normalises to <duration>, whatever the unit."""
        assert normalize_message(f"took {a}{unit_a}") == normalize_message(f"took {b}.5{unit_b}")
        assert normalize_message(f"took {a}{unit_a}") == "took <duration>"

    @given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 -_.:", max_size=30),
           st.sampled_from(["'", '"']))
    def test_quoted_key_values_are_one_placeholder(self, value: str, quote: str) -> None:
        """key='…' and key="…" keep the key and lose the value."""
        assert normalize_message(f"bad currency={quote}{value}{quote} here") == (
            f"bad currency={quote}<value>{quote} here"
        )

    @given(st.from_regex(r"[0-9a-f]{7}", fullmatch=True).filter(
        lambda s: any(c.isdigit() for c in s) and any(c.isalpha() for c in s)))
    def test_short_git_shas(self, sha: str) -> None:
        """A 7-character hex word with a digit and a letter is a sha."""
        assert normalize_message(f"deploy of {sha} failed") == "deploy of <sha> failed"

    def test_words_are_not_shas_or_hosts(self) -> None:
        """Plain words, module paths and file names are left alone."""
        text = "decade in app.pricing.quote reading setup.py and config.json"
        assert normalize_message(text) == text

    @given(st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True),
                    min_size=1, max_size=3),
           st.sampled_from(["com", "internal", "io", "local", "svc", "net"]),
           st.none() | st.integers(1, 65535))
    def test_hostnames(self, labels: list[str], tld: str, port: int | None) -> None:
        """Dotted names ending in a known top-level or internal domain are <host>."""
        host = ".".join([*labels, tld]) + (f":{port}" if port else "")
        assert normalize_message(f"cannot reach {host} now") == "cannot reach <host> now"

    def test_ulids_and_the_events_own_ids(self) -> None:
        """ULIDs, and the event's own trace id, request id and host, are placeholders."""
        event = {"trace_id": "t-Zx81kQ", "request_id": "req_77aa", "host": "worker-7"}
        text = "01HF8ZK3V2Q7W9X4B5N6M8T0RJ t-Zx81kQ req_77aa on worker-7"
        assert normalize_message(text, event) == "<id> <id> <id> on <host>"
        assert normalize_message("id") == "id"

    @given(st.text(max_size=40), st.text(max_size=40))
    def test_groups_on_the_first_line(self, head: str, tail: str) -> None:
        """A message groups on its first non-blank line; its title uses it too."""
        line = first_line(head) or "failed"
        one = {"logger": "app", "message_template": f"\n  \n{line}\n{tail}"}
        two = {"logger": "app", "message_template": line}
        assert compute_fingerprint(one) == compute_fingerprint(two)


class TestExceptions:
    def test_two_failing_lines_are_two_issues(self) -> None:
        """The innermost in-app frame's line text splits one function's failures."""
        assert _fp(_exc(frames=[_frame("run", "a = d['price']")])) != _fp(
            _exc(frames=[_frame("run", "a = d['quantity']")]))

    def test_moved_and_reformatted_lines_are_one_issue(self) -> None:
        """Line numbers and whitespace inside the line do not count."""
        assert _fp(_exc(frames=[_frame("run", "a = d[ 'price' ]", lineno=3)])) == _fp(
            _exc(frames=[_frame("run", "a=d['price']", lineno=90)]))

    def test_only_the_innermost_in_app_line_counts(self) -> None:
        """Library lines and outer frames' lines do not split an issue."""
        def frames(outer: str, library: str) -> list[dict[str, Any]]:
            return [_frame("main", outer), _frame("run", "json.loads(s)"),
                    _frame("decode", library, app=False)]
        assert _fp(_exc(frames=frames("run(1)", "raise X"))) == _fp(
            _exc(frames=frames("run(2)", "raise Y")))

    def test_frameless_exceptions_group_by_normalised_value(self) -> None:
        """Without frames the value's first line, normalised, is part of it."""
        assert _fp(_exc(value="order 17 missing", frames=[])) == _fp(
            _exc(value="order 99 missing\nmore", frames=[]))
        assert _fp(_exc(value="price missing", frames=[])) != _fp(
            _exc(value="stock negative", frames=[]))

    def test_values_of_exceptions_with_frames_do_not_count(self) -> None:
        """With frames the value is left out, as in version 1."""
        assert _fp(_exc(value="a")) == _fp(_exc(value="b"))


def _child(type_: str, function: str = "fetch") -> dict[str, Any]:
    return _exc(type_, "x", [_frame(function, "raise error")])


class TestGroups:
    @given(st.permutations(["ValueError", "KeyError", "TimeoutError"]),
           st.lists(st.sampled_from([0, 1, 2]), max_size=6))
    def test_order_and_repeats_of_children_do_not_split(
        self, order: list[str], repeats: list[int]
    ) -> None:
        """A group's children are a set: their order and repeats change nothing."""
        base = _exc("ExceptionGroup", "g", children=[_child(t) for t in
                                                   ["ValueError", "KeyError", "TimeoutError"]])
        shuffled = [*order, *(order[i] for i in repeats)]
        other = _exc("ExceptionGroup", "h", children=[_child(t) for t in shuffled])
        assert _fp(base) == _fp(other)

    def test_other_children_are_other_issues(self) -> None:
        """Another set of children (one more, one other) is another issue."""
        prints = {_fp(_exc("ExceptionGroup", "g", children=[_child(t) for t in types]))
                  for types in (["ValueError"], ["KeyError"], ["ValueError", "KeyError"],
                                [])}
        assert len(prints) == 4

    def test_nested_groups_and_childrens_chains_count(self) -> None:
        """A child's chain and a nested group's children are part of the child."""
        def outer(inner: dict[str, Any]) -> str:
            return _fp(_exc("ExceptionGroup", "g", children=[inner]))
        plain = _child("RuntimeError")
        caused = {**plain, "chain": [{**_child("OSError", "save"), "relation": "cause"}]}
        nested = [_exc("ExceptionGroup", "s", children=[_child(t)]) for t in ("A", "B")]
        assert len({outer(plain), outer(caused), *(outer(n) for n in nested)}) == 4

    def test_groups_without_children_keep_the_version_one_components(self) -> None:
        """An exception that is not a group gets no child components."""
        assert not any(part.startswith("child:") for part in default_components(
            {"exception": _exc()}))
        for a, b in itertools.combinations(["g", "h"], 2):
            assert _fp(_exc("ExceptionGroup", a, children=[_child("X")])) == _fp(
                _exc("ExceptionGroup", b, children=[_child("X")]))
