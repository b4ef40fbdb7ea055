"""integrations.django: a real Django site's errors carry their request; a handled 5xx
response is not a second issue beside the application's own error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Any

import django
import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client
from django.urls import path
from django.utils.functional import SimpleLazyObject

from afissue_logging.scrub import FILTERED
from tests.afissue_logging.integrations.conftest import Reported

log = logging.getLogger("tests.django_app")
user_loads: list[int] = []


class _User:
    is_authenticated = True
    pk = 31


class LazyUserMiddleware:
    """Sets ``request.user`` lazily, as ``AuthenticationMiddleware`` does."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        def load() -> _User:
            user_loads.append(1)
            return _User()

        request.user = SimpleLazyObject(load)
        return self.get_response(request)


def basket(request: HttpRequest, basket_id: int) -> HttpResponse:
    raise LookupError(f"basket b-{basket_id} has no owner")


def pay(request: HttpRequest) -> HttpResponse:
    log.error("payment gateway unavailable")
    return HttpResponse("try later", status=503)


def profile(request: HttpRequest) -> HttpResponse:
    if request.GET.get("touch"):
        assert request.user.is_authenticated
    log.error("profile incomplete")
    return HttpResponse("ok")


async def stock(request: HttpRequest) -> HttpResponse:
    log.error("stock feed lagging")
    return HttpResponse("ok")


urlpatterns = [
    path("baskets/<int:basket_id>/", basket),
    path("pay/", pay),
    path("profile/", profile),
    path("stock/", stock),
]


@pytest.fixture(scope="module", autouse=True)
def _site() -> None:
    """This module as a one-file Django site with the middleware first."""
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="tests-only",
            ALLOWED_HOSTS=["testserver"],
            ROOT_URLCONF=__name__,
            LOGGING_CONFIG=None,
            MIDDLEWARE=[
                "afissue_logging.integrations.django.RequestContextMiddleware",
                f"{__name__}.LazyUserMiddleware",
            ],
        )
        django.setup()


class _ListHandler(logging.Handler):
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
    def test_unhandled_exception_carries_its_request(self, reported: Reported) -> None:
        """django.request's report has method, path, route, scrubbed query, id and 500."""
        response = Client(raise_request_exception=False).get(
            "/baskets/5/?sort=asc&session=abc123", headers={"X-Request-ID": "req-77"}
        )
        assert response.status_code == 500
        (event,) = reported.events()
        assert event["title"] == "LookupError: basket b-5 has no owner"
        assert event["request"] == {
            "method": "GET",
            "path": "/baskets/5/",
            "route": "baskets/<int:basket_id>/",
            "query_string": f"sort=asc&session={FILTERED}",
            "status": 500,
            "request_id": "req-77",
        }

    def test_handled_5xx_is_not_a_second_issue(
        self, reported: Reported, console: _ListHandler
    ) -> None:
        """The view's own error is the one issue; Django's "Service Unavailable" line still
        reaches the console."""
        assert Client().get("/pay/").status_code == 503
        events = reported.events()
        assert [e["message"] for e in events] == ["payment gateway unavailable"]
        assert events[0]["request"]["route"] == "pay/"
        assert any(
            r.name == "django.request" and r.getMessage() == "Service Unavailable: /pay/"
            for r in console.records
        )

    def test_user_is_read_only_when_the_request_loaded_it(self, reported: Reported) -> None:
        """A loaded user's key is reported; an unloaded one is never loaded for afissue."""
        user_loads.clear()
        Client().get("/profile/")
        (first,) = reported.events()  # built (on the sender thread) before the check
        assert user_loads == []
        assert "user_id" not in first["request"]
        Client().get("/profile/?touch=1")
        second = reported.events()[1]
        assert user_loads == [1]
        assert second["request"]["user_id"] == "31"

    def test_async_view_under_the_async_handler(self, reported: Reported) -> None:
        """Under ASGI (an async middleware chain) an async view's error has its request."""
        response = asyncio.run(AsyncClient().get("/stock/", headers={"X-Request-ID": "a-1"}))
        assert response.status_code == 200
        (event,) = reported.events()
        assert event["request"] == {
            "method": "GET", "path": "/stock/", "route": "stock/", "request_id": "a-1",
        }
