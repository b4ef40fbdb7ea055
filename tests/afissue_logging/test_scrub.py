"""Scrubber: sensitive keys and secret-looking text are filtered."""

from __future__ import annotations

from afissue_logging.scrub import FILTERED, Scrubber


class TestScrubber:
    def test_sensitive_keys_filtered_at_any_depth(self) -> None:
        """password/token/cookie/... values are replaced, nested ones too."""
        data = {
            "password": "p",
            "user": {"api_key": "k", "name": "ann", "Session_ID": "s"},
            "headers": [{"Authorization": "Basic x"}],
            "count": 3,
        }
        assert Scrubber().mapping(data) == {
            "password": FILTERED,
            "user": {"api_key": FILTERED, "name": "ann", "Session_ID": FILTERED},
            "headers": [{"Authorization": FILTERED}],
            "count": 3,
        }

    def test_secret_values_in_text(self) -> None:
        """Bearer tokens, JWTs, key=value passwords, URL credentials, cloud keys are filtered."""
        scrub = Scrubber().text
        assert "abcdef123456" not in scrub("Authorization: Bearer abcdef123456.x")
        jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJl"
        assert jwt not in scrub(f"token {jwt} rejected")
        assert scrub("login failed password=hunter2 user=bob") == (
            f"login failed password={FILTERED} user=bob"
        )
        assert "s3cr3t" not in scrub("postgres://app:s3cr3t@db:5432/x")
        assert "AKIAIOSFODNN7EXAMPLE" not in scrub("key AKIAIOSFODNN7EXAMPLE used")

    def test_card_numbers_only_when_luhn_valid(self) -> None:
        """A Luhn-valid card number is filtered; an order number of similar length is not."""
        scrub = Scrubber().text
        assert scrub("card 4111 1111 1111 1111 declined") == f"card {FILTERED} declined"
        assert scrub("order 1234567890123 failed") == "order 1234567890123 failed"

    def test_disabled_scrubber_changes_nothing(self) -> None:
        """With scrubbing off, keys and text pass through."""
        scrubber = Scrubber(enabled=False)
        assert scrubber.mapping({"password": "p"}) == {"password": "p"}
        assert scrubber.text("password=p") == "password=p"

    def test_extra_keys_configurable(self) -> None:
        """Additional sensitive key words can be configured."""
        assert Scrubber(extra_keys=["iban"]).mapping({"customer_iban": "DE00"}) == {
            "customer_iban": FILTERED
        }
