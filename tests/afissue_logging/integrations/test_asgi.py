"""integrations.asgi: FastAPI / Starlette errors carry their request, and an unhandled
exception is one issue titled by the exception even when uvicorn logs it too."""

from __future__ import annotations

import asyncio
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from afissue.services import free_port
from afissue_logging.integrations.asgi import RequestContextMiddleware
from afissue_logging.scrub import FILTERED
from tests.afissue_logging.integrations.conftest import Reported

log = logging.getLogger("tests.asgi_app")


def fastapi_app() -> FastAPI:
    """A FastAPI app with the middleware: a failing async route, a sync route that logs."""
    app = FastAPI()
    app.add_middleware(RequestContextMiddleware)

    @app.get("/orders/{order_id}")
    async def get_order(order_id: int) -> dict[str, int]:
        raise KeyError(f"order {order_id} not in cache")

    @app.post("/orders/{order_id}/cancel")
    def cancel(order_id: int) -> dict[str, str]:  # sync: runs in the thread pool
        log.error("cancel of %s deferred", order_id)
        return {"status": "deferred"}

    return app


class _ListHandler(logging.Handler):
    """Keeps the records it sees (a stand-in for the console)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def console() -> Iterator[_ListHandler]:
    """A second handler on the root logger."""
    handler = _ListHandler()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


class TestRequestContextMiddleware:
    def test_unhandled_exception_is_reported_with_its_route(self, reported: Reported) -> None:
        """The exception is the title; the message and request name the route; status 500."""
        client = TestClient(fastapi_app(), raise_server_exceptions=False)
        response = client.get("/orders/7?verbose=1&api_key=k-123", headers={"X-Request-ID": "r-9"})
        assert response.status_code == 500
        (event,) = reported.events()
        assert event["title"] == "KeyError: 'order 7 not in cache'"
        assert event["message"] == "Exception in ASGI application: GET /orders/{order_id}"
        assert event["logger"] == "afissue.asgi"
        assert event["request"] == {
            "method": "GET",
            "path": "/orders/7",
            "route": "/orders/{order_id}",
            "query_string": f"verbose=1&api_key={FILTERED}",
            "status": 500,
            "request_id": "r-9",
        }

    def test_error_logged_in_a_sync_route_carries_the_route(self, reported: Reported) -> None:
        """A route run in the thread pool sees the request, route included, no status yet."""
        client = TestClient(fastapi_app())
        assert client.post("/orders/3/cancel").status_code == 200
        (event,) = reported.events()
        assert event["request"] == {
            "method": "POST", "path": "/orders/3/cancel", "route": "/orders/{order_id}/cancel",
        }

    def test_exception_after_the_response_started_keeps_its_status(
        self, reported: Reported
    ) -> None:
        """A stream that fails midway was a 200: the request says so, not 500."""

        async def rows() -> Any:
            yield b"id\n"
            raise OSError("replica went away")

        async def export(request: Request) -> StreamingResponse:
            return StreamingResponse(rows())

        app = RequestContextMiddleware(Starlette(routes=[Route("/export", export)]))
        with pytest.raises(OSError):
            TestClient(app).get("/export")
        (event,) = reported.events()
        assert event["request"]["status"] == 200
        assert event["request"]["route"] == "/export"

    def test_starlette_endpoint_without_a_template_is_named(self, reported: Reported) -> None:
        """Wrapping a plain Starlette app works the same; a handled 4xx reports nothing."""

        async def ping(request: Request) -> PlainTextResponse:
            log.error("ping degraded")
            return PlainTextResponse("pong", status_code=200)

        app = RequestContextMiddleware(Starlette(routes=[Route("/ping", ping)]))
        client = TestClient(app)
        assert client.get("/ping").status_code == 200
        assert client.get("/missing").status_code == 404
        (event,) = reported.events()
        assert event["request"]["route"] == "/ping"

    def test_uvicorn_repeat_is_not_a_second_issue(
        self, reported: Reported, console: _ListHandler
    ) -> None:
        """Under a real uvicorn, "Exception in ASGI application" reaches the console but
        not afissue: the exception is one issue, with its route."""
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(fastapi_app(), host="127.0.0.1", port=port, log_config=None)
        )
        thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
        thread.start()
        try:
            for _ in range(200):
                if server.started:
                    break
                threading.Event().wait(0.05)
            with pytest.raises(urllib.error.HTTPError) as answer:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/orders/5", timeout=10)
            assert answer.value.code == 500
        finally:
            server.should_exit = True
            thread.join(10)
        events = reported.events()
        assert [e["title"] for e in events] == ["KeyError: 'order 5 not in cache'"]
        assert events[0]["request"]["route"] == "/orders/{order_id}"
        uvicorn_lines = [r for r in console.records if r.name == "uvicorn.error" and r.exc_info]
        assert [r.getMessage().strip() for r in uvicorn_lines] == ["Exception in ASGI application"]


class TestBreadcrumbs:
    def test_concurrent_requests_never_mix_their_breadcrumbs(self, reported: Reported) -> None:
        """Two interleaved requests on one event loop each carry their own records only,
        and none logged before them."""
        import httpx

        async def work(request: Request) -> PlainTextResponse:
            name = request.path_params["name"]
            for number in range(3):
                log.info("%s step %d", name, number)
                await asyncio.sleep(0.01)
            log.error(f"{name} failed")  # distinct templates: two issues, not one storm
            return PlainTextResponse("ok")

        app = Starlette(routes=[Route("/work/{name}", work)])
        wrapped = RequestContextMiddleware(app)

        async def both() -> None:
            transport = httpx.ASGITransport(app=wrapped)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                await asyncio.gather(client.get("/work/alpha"), client.get("/work/beta"))

        log.setLevel(logging.INFO)
        try:
            log.info("before any request")
            asyncio.run(both())
        finally:
            log.setLevel(logging.NOTSET)
        events = {e["message"].split()[0]: e for e in reported.events()}
        for name in ("alpha", "beta"):
            assert [c["message"] for c in events[name]["breadcrumbs"]] == [
                f"{name} step {n}" for n in range(3)
            ]
