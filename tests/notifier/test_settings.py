"""The notifier's settings: defaults, links and refusals."""

from __future__ import annotations

import pytest

from notifier.settings import NotifierSettings


class TestNotifierSettings:
    def test_links_default_to_the_local_ingest_api(self) -> None:
        """Without AFISSUE_UI_BASE_URL, links point at the ingest API's port on 127.0.0.1."""
        assert NotifierSettings.from_env({"AFISSUE_INGEST_PORT": "7001"}).base_url == (
            "http://127.0.0.1:7001"
        )
        configured = NotifierSettings.from_env({"AFISSUE_UI_BASE_URL": "https://ui.example"})
        assert configured.base_url == "https://ui.example"

    def test_replica_names_differ_by_process(self) -> None:
        """The default lease owner names host and pid; AFISSUE_NOTIFIER_REPLICA_ID wins."""
        import os

        assert NotifierSettings().owner.endswith(f":{os.getpid()}")
        named = NotifierSettings.from_env({"AFISSUE_NOTIFIER_REPLICA_ID": "notifier-0"})
        assert named.owner == "notifier-0"

    def test_a_lease_shorter_than_two_sends_is_refused(self) -> None:
        """A lease that a slow send could outlive is refused, naming both settings."""
        with pytest.raises(ValueError, match="AFISSUE_NOTIFIER_LEASE_SECONDS"):
            NotifierSettings.from_env(
                {"AFISSUE_NOTIFIER_LEASE_SECONDS": "15", "AFISSUE_NOTIFIER_SEND_TIMEOUT": "10"}
            )

    def test_shares_the_consumers_alert_settings(self) -> None:
        """The rules file and webhook shortcut are the variables the consumer reads."""
        settings = NotifierSettings.from_env({
            "AFISSUE_ALERTS_FILE": "/etc/afissue/alerts.toml",
            "AFISSUE_ALERT_WEBHOOK_URL": "https://hooks.example/x",
            "AFISSUE_ALERTS_COLLECTION": "alerts_test",
        })
        assert str(settings.rules_path) == "/etc/afissue/alerts.toml"
        assert settings.webhook_url == "https://hooks.example/x"
        assert settings.alerts_collection == "alerts_test"
