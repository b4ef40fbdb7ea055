"""Tokens: creation, the tokens file, constant-time lookup."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ingest_service.errors import IngestConfigError
from ingest_service.tokens import TokenEntry, TokenStore, hash_token, new_token, parse_tokens


class TestNewToken:
    """``new_token(service)`` as used by ``afissue token new``."""

    def test_line_holds_the_service_and_the_sha256_of_the_token(self) -> None:
        """The line is 'service sha256hex' and never contains the token itself."""
        token, line = new_token("checkout")

        service, digest = line.split(" ")
        assert service == "checkout"
        assert digest == hashlib.sha256(token.encode()).hexdigest() == hash_token(token)
        assert token not in line

    def test_tokens_are_unique(self) -> None:
        """Two calls never give the same token."""
        assert new_token("a")[0] != new_token("a")[0]

    def test_service_with_spaces_is_refused(self) -> None:
        """A service name that would break the file format is refused."""
        with pytest.raises(IngestConfigError, match="'my service'"):
            new_token("my service")


    @given(
        service=st.one_of(
            st.text(max_size=140),
            st.text(st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=140),
            st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=120),
        )
    )
    @example("abc\n")
    @example("#ops")
    @example("ñame")
    @example("x" * 129)
    @example("")
    def test_every_accepted_name_round_trips_through_the_tokens_file(
        self, service: str
    ) -> None:
        """A name is refused with a message naming it, or its line parses back to
        exactly that service and token: never a line the file cannot hold."""
        try:
            token, line = new_token(service)
        except IngestConfigError as exc:
            assert str(exc).startswith(f"service name {service[:60]!r} ")
            return
        assert parse_tokens(line + "\n") == [
            TokenEntry(service, hashlib.sha256(token.encode()).digest())
        ]


class TestParseTokens:
    """The tokens-file format."""

    def test_comments_and_blank_lines_are_skipped(self) -> None:
        """Only 'service hex' lines count."""
        _, line = new_token("a")

        entries = parse_tokens(f"# comment\n\n{line}\n")

        assert [e.service for e in entries] == ["a"]

    def test_bad_line_is_named(self) -> None:
        """A malformed line is an error naming the file and line number."""
        with pytest.raises(IngestConfigError, match=r"tokens:2: expected 'service sha256-hex'"):
            parse_tokens("# ok\nservice-only\n", "tokens")


class TestTokenStore:
    """Looking a token up."""

    def test_known_and_unknown_tokens(self, tmp_path: Path) -> None:
        """A token maps to its service; an unknown one to None."""
        token, line = new_token("billing")
        path = tmp_path / "tokens"
        path.write_text(line + "\n")

        store = TokenStore(path)

        assert store.service_for(token) == "billing"
        assert store.service_for(token + "x") is None

    def test_added_token_works_at_once_and_removed_one_stops_within_recheck(
        self, tmp_path: Path
    ) -> None:
        """The file is looked at once per recheck interval, and whenever a token is
        unknown: a new token is accepted on first use, a removed one refused soon after."""
        kept, kept_line = new_token("billing")
        path = tmp_path / "tokens"
        path.write_text(kept_line + "\n")
        store = TokenStore(path, recheck_s=0.2)
        assert store.service_for(kept) == "billing"

        added, added_line = new_token("search")
        path.write_text(kept_line + "\n" + added_line + "\n")
        assert store.service_for(added) == "search"

        path.write_text(added_line + "\n")
        deadline = time.monotonic() + 5
        while store.service_for(kept) is not None:
            assert time.monotonic() < deadline, "removed token still accepted"
            time.sleep(0.05)
        assert store.service_for(added) == "search"

    def test_every_entry_is_compared_in_constant_time(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Each lookup runs hmac.compare_digest against every entry, match or not."""
        issued = [new_token(f"s{i}") for i in range(5)]
        path = tmp_path / "tokens"
        path.write_text("".join(line + "\n" for _, line in issued))
        store = TokenStore(path)
        calls: list[int] = []
        real = hmac.compare_digest

        def counting(a: bytes, b: bytes) -> bool:
            calls.append(1)
            return real(a, b)

        monkeypatch.setattr(hmac, "compare_digest", counting)
        for token in (issued[0][0], issued[4][0], "unknown"):
            calls.clear()
            store.service_for(token)
            assert len(calls) == 5


class TestReloadFailsClosed:
    """A tokens file that cannot be fully read on reload never keeps a revoked token working."""

    @staticmethod
    def _store(tmp_path: Path, *lines: str) -> tuple[Path, TokenStore]:
        path = tmp_path / "tokens"
        path.write_text("".join(line + "\n" for line in lines))
        return path, TokenStore(path, recheck_s=0.0)

    def test_revoked_token_is_refused_when_another_line_is_malformed(
        self, tmp_path: Path
    ) -> None:
        """Revoking a token while breaking another line refuses the revoked token; the
        well-formed lines still work."""
        revoked, revoked_line = new_token("billing")
        kept, kept_line = new_token("search")
        path, store = self._store(tmp_path, revoked_line, kept_line)
        assert store.service_for(revoked) == "billing"

        path.write_text(f"{kept_line}\nbilling not-a-digest\n")

        assert store.service_for(revoked) is None
        assert store.service_for(kept) == "search"
        assert store.problems and f"{path}:2: " in store.problems[0]
        assert "digest is not 64 hex digits" in store.problems[0]

    def test_a_line_that_became_malformed_no_longer_grants_its_token(
        self, tmp_path: Path
    ) -> None:
        """A changed entry that cannot be parsed counts as absent (fail closed)."""
        token, line = new_token("billing")
        path, store = self._store(tmp_path, line)

        path.write_text(line[:-10] + "\n")

        assert store.service_for(token) is None

    def test_partially_written_file_grants_only_its_complete_lines(
        self, tmp_path: Path
    ) -> None:
        """A file caught half-written grants what its complete lines say, nothing more,
        and everything once the write completes."""
        issued = [new_token(f"s{i}") for i in range(3)]
        whole = "".join(line + "\n" for _, line in issued)
        path, store = self._store(tmp_path, issued[0][1])

        path.write_text(whole[: len(issued[0][1]) + 1 + 40])
        assert store.service_for(issued[0][0]) == "s0"
        assert store.service_for(issued[1][0]) is None

        path.write_text(whole)
        assert [store.service_for(t) for t, _ in issued] == ["s0", "s1", "s2"]

    def test_invalid_utf8_does_not_raise_and_refuses_that_line(self, tmp_path: Path) -> None:
        """Bytes that are not UTF-8 make their line malformed instead of an exception."""
        token, line = new_token("billing")
        kept, kept_line = new_token("search")
        path, store = self._store(tmp_path, line, kept_line)

        path.write_bytes(b"bill\xffing " + line.split()[1].encode() + b"\n" + kept_line.encode())

        assert store.service_for(token) is None
        assert store.service_for(kept) == "search"

    def test_unreadable_file_refuses_every_token_and_says_so(self, tmp_path: Path) -> None:
        """A file that cannot be read at all grants nothing until it can be read again."""
        token, line = new_token("billing")
        path, store = self._store(tmp_path, line)

        path.unlink()
        path.mkdir()  # exists, but reading it fails

        assert store.service_for(token) is None
        assert store.unreadable is not None and "tokens" in store.unreadable

        path.rmdir()
        path.write_text(line + "\n")
        assert store.service_for(token) == "billing"
        assert store.unreadable is None

    def test_reload_problems_are_logged_as_errors_once(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Each bad version of the file is logged at ERROR, naming the line, once."""
        token, line = new_token("billing")
        path, store = self._store(tmp_path, line)

        path.write_text(f"{line}\nbroken\n")
        with caplog.at_level("ERROR", logger="ingest_service.tokens"):
            for _ in range(5):
                store.service_for(token)

        errors = [r for r in caplog.records if r.levelname == "ERROR"]
        assert len(errors) == 1, [r.getMessage() for r in errors]
        assert f"{path}:2" in errors[0].getMessage()
