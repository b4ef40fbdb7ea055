"""Misconfiguration is loud once: one stderr line per problem, and flush() says False."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import structlog

from afissue_logging import IssueHandler, IssueProcessor
from afissue_logging._warnings import Once
from tests.afissue_logging.capture_server import CaptureServer

ROOT = Path(__file__).resolve().parents[2]
_HTML = b"<!doctype html><html><body>Welcome to nginx!</body></html>"


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def _handler(url: str, spool_dir: str, **kwargs: Any) -> IssueHandler:
    kwargs.setdefault("flush_interval", 30)
    kwargs.setdefault("backoff_base", 0.01)
    kwargs.setdefault("backoff_max", 0.05)
    return IssueHandler(url=url, service="svc", spool_dir=spool_dir, capture_uncaught=False, **kwargs)


def _log(handler: IssueHandler, *messages: str) -> None:
    for message in messages:
        handler.handle(logging.makeLogRecord({"name": "app", "levelno": 40, "msg": message}))


def _warnings(capsys: pytest.CaptureFixture[str]) -> list[str]:
    err = capsys.readouterr().err
    return [line for line in err.splitlines() if line]


def _answer(status: int, body: bytes = b"{}") -> Any:
    return lambda events: (status, {"Content-Type": "application/json"}, body)


class TestMisconfiguration:
    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            (None, "ConnectionRefusedError"),
            ("http://afissue-no-such-host.invalid:6001", "afissue-no-such-host.invalid"),
        ],
        ids=["connection-refused", "unresolvable-host"],
    )
    def test_wrong_url_prints_one_line_and_flush_is_false(
        self, url: str | None, expected: str, spool_dir: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A URL nothing answers at: one line naming the URL and the error, however many
        batches fail and spill; every flush says False."""
        url = url or _closed_port_url()
        handler = _handler(url, spool_dir)
        for round_ in range(3):
            _log(handler, f"first {round_}", f"second {round_}")
            assert not handler.flush(10)
        [line] = _warnings(capsys)
        assert line.startswith(f"afissue: cannot reach the ingest API at {url} (")
        assert expected in line and "AFISSUE_URL" in line and spool_dir in line
        assert handler.stats()["spooled"] == 6

    @pytest.mark.parametrize("status", [401, 403])
    def test_refused_token_prints_one_line(
        self, status: int, capture: CaptureServer, spool_dir: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A 401 or 403: one line naming the service and AFISSUE_TOKEN; flush says False."""
        capture.responder = _answer(status)
        handler = _handler(capture.url, spool_dir, token="wrong")
        for round_ in range(3):
            _log(handler, f"lost {round_}")
            assert not handler.flush(10)
        [line] = _warnings(capsys)
        assert line.startswith(f"afissue: the ingest API at {capture.url} refused the token")
        assert f"HTTP {status}" in line and "'svc'" in line and "AFISSUE_TOKEN" in line
        assert handler.stats()["dropped"]["auth"] == 3

    def test_wrong_path_prints_one_line(
        self, capture: CaptureServer, spool_dir: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A 404 (the URL reaches a server, not the API's endpoint) says to check the URL."""
        capture.responder = _answer(404)
        handler = _handler(capture.url, spool_dir)
        for round_ in range(2):
            _log(handler, f"lost {round_}")
            assert not handler.flush(10)
        [line] = _warnings(capsys)
        assert "HTTP 404" in line and "AFISSUE_URL" in line

    def test_a_server_that_is_not_the_api_prints_one_line(
        self, capture: CaptureServer, spool_dir: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A 200 that is not the ingest API's answer (some web server): one line, spooled."""
        capture.responder = lambda events: (200, {"Content-Type": "text/html"}, _HTML)
        handler = _handler(capture.url, spool_dir)
        for round_ in range(2):
            _log(handler, f"kept {round_}")
            assert not handler.flush(10)
        [line] = _warnings(capsys)
        assert "HTTP 200, but not as the afissue ingest API does" in line
        assert handler.stats()["spooled"] == 2

    def test_first_spill_after_deliveries_prints_one_line(
        self, capture: CaptureServer, spool_dir: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Once deliveries worked, failures are an outage: nothing is said until the first
        spill, which is said once; when the API is back flush is True again."""
        handler = _handler(capture.url, spool_dir, max_retries=0)
        _log(handler, "delivered")
        assert handler.flush(10)
        capture.responder = _answer(503)
        for round_ in range(3):
            _log(handler, f"spooled {round_}")
            assert not handler.flush(10)
        [line] = _warnings(capsys)
        assert line.startswith(f"afissue: the ingest API at {capture.url} is not taking events")
        assert "(HTTP 503)" in line and "spooled to" in line
        capture.responder = None
        time.sleep(0.2)  # past the backoff (backoff_max 0.05 s): the next window is sent
        _log(handler, "delivered again")
        assert handler.flush(10)
        assert _warnings(capsys) == []

    def test_unwritable_spool_prints_one_line(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A spool directory that cannot be created: one line, the occurrences dropped."""
        not_a_directory = tmp_path / "file"
        not_a_directory.write_text("")
        handler = _handler(_closed_port_url(), str(not_a_directory))
        for round_ in range(2):
            _log(handler, f"lost {round_}")
            assert not handler.flush(10)
        lines = _warnings(capsys)
        assert len(lines) == 2, lines  # the unreachable URL, then the spool
        assert lines[1].startswith(f"afissue: cannot write the spool in {not_a_directory}")
        assert handler.stats()["dropped"]["spool_error"] == 2

    def test_whole_process_prints_one_line(self, spool_dir: str) -> None:
        """A real process with a wrong AFISSUE_URL, its exit drain included, writes exactly
        one line to stderr, and its flush() returns False."""
        script = (
            "import logging\n"
            "from afissue_logging import IssueHandler\n"
            "log = logging.getLogger('app')\n"
            "log.addHandler(IssueHandler(service='svc'))\n"
            "for i in range(5):\n"
            "    log.error('lost %s', i)\n"
            "print(log.handlers[0].flush(10))\n"
            "log.error('after the flush')\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("AFISSUE_")}
        env.update(PYTHONPATH=str(ROOT), AFISSUE_URL=_closed_port_url(), AFISSUE_SPOOL_DIR=spool_dir)
        result = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True,
            timeout=60, check=True,
        )
        assert result.stdout.strip() == "False"
        [line] = result.stderr.splitlines()
        assert line.startswith("afissue: cannot reach the ingest API at ")


class TestProcessorAfterFormatExcInfo:
    def test_formatted_exception_warns_once(
        self, capture: CaptureServer, spool_dir: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """IssueProcessor after format_exc_info sees text, not the exception: it says so
        once, and still reports the events."""
        processor = IssueProcessor(url=capture.url, service="svc", spool_dir=spool_dir)
        log = structlog.wrap_logger(
            structlog.ReturnLogger(),
            processors=[structlog.processors.format_exc_info, processor],
        )
        for i in range(3):
            try:
                raise ValueError(f"boom {i}")
            except ValueError:
                log.exception("failed")
        assert processor.flush(10)
        [line] = _warnings(capsys)
        assert "format_exc_info" in line and "before" in line
        assert capture.occurrences() == 3

    def test_processor_in_front_is_silent(
        self, capture: CaptureServer, spool_dir: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """In front of format_exc_info the processor gets exc_info, keeps the traceback,
        and prints nothing."""
        processor = IssueProcessor(url=capture.url, service="svc", spool_dir=spool_dir)
        log = structlog.wrap_logger(
            structlog.ReturnLogger(),
            processors=[processor, structlog.processors.format_exc_info],
        )
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
        assert processor.flush(10)
        assert _warnings(capsys) == []
        assert capture.events[0]["exception"]["type"] == "ValueError"


class TestOnce:
    def test_concurrent_callers_print_one_line(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Many threads racing on one key print it once; other keys print their own."""
        once = Once()
        start = threading.Barrier(8)

        def race() -> None:
            start.wait()
            for _ in range(100):
                once("key", "said once")

        threads = [threading.Thread(target=race) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        once("other", "another\nproblem")
        assert _warnings(capsys) == ["afissue: said once", "afissue: another problem"]
