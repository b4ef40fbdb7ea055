"""The generic webhook channel against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from notifier.channels import DeliveryError
from notifier.channels.webhook import WebhookSender
from notifier.message import alert_message
from notifier.signing import verify
from tests.notifier.conftest import SECRET, outbox_document
from tests.notifier.receivers import HttpReceiver


def _message(title: str = "KeyError: 'EURUSD'") -> object:
    return alert_message(outbox_document(issue="i1", title=title), "ops", "http://ui.example")


class TestWebhookSender:
    def test_posts_signed_json_with_the_idempotency_id(self, receiver: HttpReceiver) -> None:
        """The POST carries webhook-id = <alert_id>/<channel> and a signature that verifies."""
        message = alert_message(outbox_document(issue="i1"), "ops", "http://ui.example")
        WebhookSender(receiver.url, SECRET).send(message)
        [request] = receiver.received()
        assert request.headers["webhook-id"] == "i1:new:0/ops"
        assert request.headers["content-type"] == "application/json"
        verify(SECRET, request.headers, request.body, now=int(time.time()))
        body = request.json()
        assert body["type"] == "afissue.alert.new"
        assert body["data"]["url"] == "http://ui.example/issues/i1"
        assert body["data"]["issue"]["title"] == "ZeroDivisionError: division by zero"

    def test_reference_library_verifies_the_request(self, receiver: HttpReceiver) -> None:
        """What a receiver gets verifies with the standardwebhooks reference library."""
        standardwebhooks = pytest.importorskip("standardwebhooks")
        message = alert_message(outbox_document(title="naïve \u2028 <b>"), "ops", "http://x")
        WebhookSender(receiver.url, SECRET).send(message)
        [request] = receiver.received()
        data = standardwebhooks.Webhook(SECRET).verify(request.body, request.headers)
        assert data["data"]["issue"]["title"] == "naïve \u2028 <b>"

    def test_same_id_on_every_retry(self, receiver: HttpReceiver) -> None:
        """Sending one alert twice (a retry) repeats its webhook-id."""
        message = alert_message(outbox_document(issue="i1"), "ops", "http://x")
        sender = WebhookSender(receiver.url, SECRET)
        sender.send(message)
        sender.send(message)
        assert receiver.ids() == ["i1:new:0/ops", "i1:new:0/ops"]

    def test_an_error_status_is_a_delivery_error_with_retry_after(
        self, receiver: HttpReceiver
    ) -> None:
        """A 503 with Retry-After raises DeliveryError carrying the wait."""
        receiver.status, receiver.retry_after = 503, "42"
        message = alert_message(outbox_document(), "ops", "http://x")
        with pytest.raises(DeliveryError, match="HTTP 503") as caught:
            WebhookSender(receiver.url, SECRET).send(message)
        assert caught.value.retry_after == 42

    def test_a_receiver_that_is_down_is_a_delivery_error(self, receiver: HttpReceiver) -> None:
        """Connection refused raises DeliveryError naming the URL, nothing else."""
        receiver.stop()
        message = alert_message(outbox_document(), "ops", "http://x")
        with pytest.raises(DeliveryError, match=str(receiver.port)):
            WebhookSender(receiver.url, SECRET, timeout=2).send(message)
