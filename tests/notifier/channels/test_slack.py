"""The Slack-compatible channel: text and blocks with a link to the issue page."""

from __future__ import annotations

from notifier.channels.slack import SlackSender, slack_body
from notifier.message import Digest, alert_message
from tests.notifier.conftest import outbox_document
from tests.notifier.receivers import HttpReceiver


class TestSlackSender:
    def test_posts_text_and_blocks_linking_the_issue(self, receiver: HttpReceiver) -> None:
        """The body has text (with the link) and blocks whose section links the issue page."""
        message = alert_message(outbox_document(issue="i9"), "team", "https://ui.example")
        SlackSender(receiver.url).send(message)
        [request] = receiver.received()
        body = request.json()
        assert "https://ui.example/issues/i9" in body["text"]
        assert body["blocks"][0] == {
            "type": "header", "text": {"type": "plain_text", "text": "New issue"}
        }
        assert "<https://ui.example/issues/i9|ZeroDivisionError" in body["blocks"][1]["text"]["text"]
        assert request.headers["idempotency-key"] == "i9:new:0/team"

    def test_titles_cannot_inject_links_or_mentions(self) -> None:
        """Slack's control characters in a title are escaped."""
        message = alert_message(
            outbox_document(title="<!channel> <http://evil|click> & co"), "team", "http://x"
        )
        section = slack_body(message)["blocks"][1]["text"]["text"]
        assert "<!channel>" not in section
        assert "&lt;!channel&gt; &lt;http://evil|click&gt; &amp; co" in section

    def test_digest_lists_the_alerts(self) -> None:
        """A digest names how many alerts it stands for and links each."""
        alerts = tuple(
            alert_message(outbox_document(issue=f"i{k}"), "team", "http://x") for k in range(25)
        )
        body = slack_body(Digest("team", alerts))
        assert body["text"] == "25 alerts held back by the rate limit of team"
        section = body["blocks"][1]["text"]["text"]
        assert section.count("http://x/issues/") == 20
        assert "and 5 more" in section
