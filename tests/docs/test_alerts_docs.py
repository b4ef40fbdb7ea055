"""docs/alerts.md: its verification snippet verifies real signed alerts, and it
names only settings that exist."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from notifier.channels.webhook import WebhookSender
from notifier.message import alert_message
from tests.notifier.conftest import SECRET, outbox_document
from tests.notifier.receivers import HttpReceiver

PAGE = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"
SECTIONS = ("Notifier", "Channels", "Signatures", "Rate limits and digests", "`afissue alerts test`")


def _section(title: str) -> str:
    text = PAGE.read_text(encoding="utf-8")
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


@pytest.fixture
def snippet_verify() -> Callable[..., bool]:
    """The page's verification function, executed from the page itself."""
    [code] = re.findall(r"```python\n(.*?)```", _section("Signatures"), flags=re.DOTALL)
    namespace: dict[str, Any] = {}
    exec(compile(code, str(PAGE), "exec"), namespace)
    verify: Callable[..., bool] = namespace["verify_afissue_webhook"]
    return verify


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    server = HttpReceiver().start()
    yield server
    server.stop()


class TestAlertsDeliveryPage:
    def test_has_the_delivery_sections(self) -> None:
        """The page has each section the alerts page takes from it."""
        text = PAGE.read_text(encoding="utf-8")
        assert [s for s in SECTIONS if f"\n## {s}\n" not in text] == []

    def test_snippet_verifies_a_real_alert(
        self, snippet_verify: Callable[..., bool], receiver: HttpReceiver
    ) -> None:
        """The documented snippet accepts what the notifier sends and refuses a changed body."""
        message = alert_message(outbox_document(title="naïve <b>"), "ops", "http://ui")
        WebhookSender(receiver.url, SECRET).send(message)
        [request] = receiver.received()
        assert snippet_verify(SECRET, request.headers, request.body)
        assert not snippet_verify(SECRET, request.headers, request.body + b" ")
        assert not snippet_verify("whsec_" + "A" * 32, request.headers, request.body)

    def test_every_environment_variable_exists(self) -> None:
        """Each AFISSUE_* name on the page is a setting of the notifier or the consumer."""
        from consumer.settings import ConsumerSettings
        from notifier.settings import NotifierSettings
        from tests.deploy.compose import known_env_names

        named = set(re.findall(r"\bAFISSUE_[A-Z0-9_]+\b", PAGE.read_text(encoding="utf-8")))
        assert named - known_env_names(NotifierSettings, ConsumerSettings) == set()
