"""Every ```python snippet of docs/integrations.md runs, and the error it logs reaches a
stand-in for the ingest API with the snippet's service name and the configured token."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from afissue.services import free_port
from afissue.services._process import stop_process_group, wait_until
from tests.docs.capture import CaptureServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"
TOKEN = "afi_docs-test-token"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
_MARKER = re.compile(r"^# test: (?P<name>[a-z0-9-]+)\s*$")


@dataclass(frozen=True)
class Expected:
    """What one snippet must deliver, and how it is run."""

    service: str
    texts: tuple[str, ...]
    exception: str
    needs: tuple[str, ...]
    run: str = "script"  # "script" | "gunicorn" | "server"
    request_path: str = "/"
    request: dict[str, Any] | None = None  # the first text's event's request, when bound


EXPECTED = {
    "dictconfig": Expected("billing", ("INV-1042",), "ZeroDivisionError", ()),
    "structlog": Expected("pricing", ("quote failed",), "KeyError", ("structlog",)),
    "structlog-stdlib": Expected(
        "ledger", ("posting rejected", "plain stdlib error"), "ValueError", ("structlog",)
    ),
    "request-context": Expected(
        "stock-wsgi", ("no stock level for /stock/sku-1",), "LookupError", (),
        request={"method": "GET", "path": "/stock/sku-1", "query_string": "warehouse=3",
                 "status": 500},
    ),
    "flask": Expected(
        "checkout", ("payment provider refused order o-77",), "RuntimeError", ("flask",),
        request={"method": "GET", "path": "/pay/o-77", "route": "/pay/<order_id>",
                 "query_string": "coupon=SPRING", "status": 500},
    ),
    "django": Expected(
        "shop-web", ("basket b-5 has no owner",), "LookupError", ("django",),
        request={"method": "GET", "path": "/baskets/5", "route": "baskets/<int:basket_id>",
                 "status": 500},
    ),
    "gunicorn": Expected(
        "catalog", ("catalog index missing",), "RuntimeError", ("gunicorn",), run="gunicorn"
    ),
    "celery": Expected(
        "reports-worker", ("report 42 has no rows", "exited with 'signal 9 (SIGKILL)'"),
        "ValueError", ("celery",),
    ),
    "fastapi": Expected(
        "orders-api",
        ("order 7 not in cache",),
        "KeyError",
        ("fastapi", "uvicorn"),
        run="server",
        request_path="/orders/7?expand=lines",
        request={"method": "GET", "path": "/orders/7", "route": "/orders/{order_id}",
                 "query_string": "expand=lines", "status": 500},
    ),
}

#: The WSGI app gunicorn serves in the gunicorn snippet's test.
GUNICORN_APP = '''
def app(environ, start_response):
    raise RuntimeError("catalog index missing")
'''


def snippets() -> dict[str, str]:
    """The marked ```python blocks of docs/integrations.md, by name."""
    found: dict[str, str] = {}
    for block in _BLOCK.findall(DOC.read_text(encoding="utf-8")):
        marker = _MARKER.match(block.splitlines()[0])
        assert marker, f"a python block has no '# test: NAME' first line:\n{block[:200]}"
        assert marker["name"] not in found, f"two snippets are named {marker['name']!r}"
        found[marker["name"]] = block
    return found


@pytest.fixture
def capture() -> Iterator[CaptureServer]:
    """The stand-in ingest API."""
    server = CaptureServer()
    yield server
    server.close()


def _environment(capture: CaptureServer, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFISSUE_")}
    env.update(
        {
            "AFISSUE_URL": capture.url,
            "AFISSUE_TOKEN": TOKEN,
            "AFISSUE_SPOOL_DIR": str(tmp / "spool"),
            "AFISSUE_FLUSH_INTERVAL": "0.2",
            "HOME": str(tmp),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def _listening(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def _request(url: str) -> None:
    try:
        with urllib.request.urlopen(url, timeout=10):
            pass
    except urllib.error.HTTPError:
        pass


def _matching(capture: CaptureServer, expected: Expected, text: str) -> list[dict[str, Any]]:
    return [
        event
        for headers, event in capture.events()
        if event.get("service") == expected.service
        and text in json.dumps(event)
        and headers.get("Authorization") == f"Bearer {TOKEN}"
    ]


def _delivered(capture: CaptureServer, expected: Expected) -> Callable[[], bool]:
    return lambda: all(_matching(capture, expected, text) for text in expected.texts)


def _run_and_wait(
    command: list[str], env: dict[str, str], tmp: Path, capture: CaptureServer,
    expected: Expected, port: int | None,
) -> str:
    """Run *command*; for servers, request the failing path; wait for the events."""
    log = tmp / "snippet.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        if port is None:
            code = proc.wait(120)
            assert code == 0, log.read_text(errors="replace")
        else:
            wait_until(lambda: _listening(port), 60, "snippet server")
            _request(f"http://127.0.0.1:{port}{expected.request_path}")
        try:
            wait_until(_delivered(capture, expected), 30, "the logged error at the capture server")
        except Exception as exc:
            got = [(h.get("Authorization"), e.get("service"), e.get("title"))
                   for h, e in capture.events()]
            raise AssertionError(f"{exc}; received {got}\n{log.read_text(errors='replace')}") from None
    finally:
        stop_process_group(proc, timeout=20)
    return log.read_text(errors="replace")


class TestSnippetExtraction:
    def test_every_python_block_is_marked_and_expected(self) -> None:
        """Each python block of the page carries a `# test:` name this suite knows, and vice versa."""
        assert set(snippets()) == set(EXPECTED)


class TestIntegrationSnippets:
    @pytest.mark.parametrize("name", sorted(EXPECTED))
    def test_snippet_delivers_its_error(
        self, name: str, capture: CaptureServer, tmp_path: Path
    ) -> None:
        """The snippet runs as written and its error arrives with its service and the token."""
        expected = EXPECTED[name]
        missing = [m for m in expected.needs if importlib.util.find_spec(m) is None]
        if missing:
            pytest.skip(f"not installed: {', '.join(missing)} (add to the dev extra)")
        code = snippets()[name]
        env = _environment(capture, tmp_path)
        port: int | None = None
        if expected.run == "gunicorn":
            (tmp_path / "gunicorn.conf.py").write_text(code, encoding="utf-8")
            (tmp_path / "app.py").write_text(GUNICORN_APP, encoding="utf-8")
            port = free_port()
            command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                       "--bind", f"127.0.0.1:{port}", "app:app"]
        else:
            (tmp_path / "snippet.py").write_text(code, encoding="utf-8")
            command = [sys.executable, "snippet.py"]
            if expected.run == "server":
                port = free_port()
                env["PORT"] = str(port)
        _run_and_wait(command, env, tmp_path, capture, expected, port)
        found = {text: _matching(capture, expected, text) for text in expected.texts}
        occurrences = {t: sum(int(e.get("count", 1)) for e in found[t]) for t in found}
        assert occurrences == dict.fromkeys(expected.texts, 1), "reported more than once"
        first = found[expected.texts[0]][0]
        assert expected.exception in json.dumps(first.get("exception", {}))
        if expected.request is not None:
            assert first.get("request") == expected.request
