"""The alert rules file and the webhook shortcut: valid files load, invalid ones say why."""

from __future__ import annotations

import contextlib
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerting.rules import (
    AlertConfig,
    Channel,
    RateLimit,
    Rule,
    RulesError,
    Velocity,
    load_rules,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EXAMPLE = f"""
[channels.ops]
type = "webhook"
url = "https://example.com/hook"
secret = "{SECRET}"
rate_limit = {{ count = 5, per_seconds = 10 }}

[channels.team]
type = "slack"
url = "https://hooks.slack.com/services/T000/B000/XXXX"

[channels.mail]
type = "email"
host = "smtp.example.com"
port = 587
starttls = true
username = "alerts"
password_env = "SMTP_PASSWORD"
sender = "afissue@example.com"
to = ["oncall@example.com"]

[[rules]]
name = "production errors"
triggers = ["new", "regression", "count", "velocity"]
services = ["pricing"]
environments = ["production"]
min_level = "error"
channels = ["ops", "team"]
velocity = {{ events = 100, minutes = 5 }}

[[rules]]
name = "everything to mail"
triggers = ["new"]
channels = ["mail"]
"""
ENV = {"SMTP_PASSWORD": "hunter2"}


def _write(tmp_path: Path, text: str, name: str = "alerts.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str, name: str = "alerts.toml") -> str:
    with pytest.raises(RulesError) as caught:
        load_rules(_write(tmp_path, text, name), None, None, ENV)
    return str(caught.value)


class TestLoadRules:
    """load_rules()"""

    def test_example_file_loads(self, tmp_path: Path) -> None:
        """The documented example becomes typed channels and rules, secrets resolved."""
        config = load_rules(_write(tmp_path, EXAMPLE), None, None, ENV)
        assert config.channels["ops"] == Channel(
            "ops", "webhook", url="https://example.com/hook", secret=SECRET,
            rate_limit=RateLimit(5, 10),
        )
        assert config.channels["team"].rate_limit == RateLimit(30, 60)
        mail = config.channels["mail"]
        assert (mail.host, mail.port, mail.starttls, mail.password, mail.to) == (
            "smtp.example.com", 587, True, "hunter2", ("oncall@example.com",)
        )
        first, second = config.rules
        assert first.velocity == Velocity(100, 5)
        assert first.services == frozenset({"pricing"}) and first.min_level == "error"
        assert first.slug == "production-errors"
        assert second.services is None and second.min_level == "debug"
        assert config.enabled

    def test_yaml_is_the_same_structure(self, tmp_path: Path) -> None:
        """A YAML file with the TOML example's structure loads to the same configuration."""
        document = tomllib.loads(EXAMPLE)
        from_yaml = load_rules(_write(tmp_path, yaml.safe_dump(document), "a.yaml"), None, None, ENV)
        assert from_yaml == load_rules(_write(tmp_path, EXAMPLE), None, None, ENV)

    def test_nothing_configured_is_disabled(self) -> None:
        """No file and no shortcut: no channels, no rules, alerting off."""
        config = load_rules(None, None, None)
        assert config == AlertConfig({}, []) and not config.enabled

    def test_shortcut_adds_webhook_and_default_rule(self, tmp_path: Path) -> None:
        """The webhook shortcut adds channel 'webhook' and rule 'default' next to the file's."""
        config = load_rules(_write(tmp_path, EXAMPLE), "http://127.0.0.1:9/h", SECRET, ENV)
        assert config.channels["webhook"].secret == SECRET
        assert config.rules[-1] == Rule("default", frozenset({"new", "regression"}), ("webhook",))
        assert len(config.rules) == 3

    def test_secret_env_is_resolved(self, tmp_path: Path) -> None:
        """A webhook's secret may come from the environment variable secret_env names."""
        text = '[channels.a]\ntype = "webhook"\nurl = "http://h/x"\nsecret_env = "S"\n'
        config = load_rules(_write(tmp_path, text), None, None, {"S": SECRET})
        assert config.channels["a"].secret == SECRET

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ('[channels.a]\ntype = "pager"\nurl = "http://h"', "channel 'a': field 'type': expected one of"),
            ('[channels.a]\ntype = "webhook"\nurl = "ftp://h"', "channel 'a': field 'url': expected an http"),
            ('[channels.a]\ntype = "webhook"\nurl = "http://h"\nsecret = "abc"', "field 'secret': expected 'whsec_'"),
            ('[channels.a]\ntype = "slack"\nurl = "http://h"\nsecret = "x"', "unknown field 'secret'"),
            ('[channels.A]\ntype = "slack"\nurl = "http://h"', "channel name 'A'"),
            ('[channels.a]\ntype = "email"\nhost = "h"\nsender = "a@b"\nto = ["x"]', "expected an email address"),
            ('[channels.a]\ntype = "email"\nhost = "h"\nsender = "a@b"\nto = ["x@y"]\npassword_env = "NOPE"',
             "environment variable NOPE is not set"),
            ('[channels.a]\ntype = "email"\nhost = "h"\nport = 0\nsender = "a@b"\nto = ["x@y"]',
             "field 'port': expected an integer from 1 to 65535"),
            ('[[rules]]\nname = "r"\ntriggers = ["new"]\nchannels = ["nope"]',
             "rule #1 'r': field 'channels': no channel"),
            ('[[rules]]\nname = "r"\ntriggers = ["boom"]\nchannels = []', "'boom' is not one of new, regression"),
            ('[[rules]]\nname = "r"\ntriggers = []\nchannels = []', "field 'triggers': expected a non-empty list"),
            ('[[rules]]\nname = "r"\ntrigers = ["new"]', "unknown field 'trigers'"),
            ('[[rules]]\ntriggers = ["new"]', "rule #1: field 'name': expected a non-empty string"),
            ('rules = 3', "field 'rules': expected a list of rules"),
            ('[rules]\nname = 1', "field 'rules': expected a list of rules"),
            ('title = "x"', "unknown field 'title'"),
            ("[[rules]\n", "invalid TOML"),
        ],
    )
    def test_invalid_files_say_where_and_what(self, tmp_path: Path, text: str, expected: str) -> None:
        """Each mistake is a RulesError naming the file, the place, the field and what was expected."""
        message = _error(tmp_path, text)
        assert expected in message
        assert str(tmp_path / "alerts.toml") in message
        assert "\n" not in message

    def test_velocity_needs_its_parameters(self, tmp_path: Path) -> None:
        """The velocity trigger without velocity = {events, minutes} is refused, and the reverse."""
        base = '[channels.a]\ntype = "slack"\nurl = "http://h"\n[[rules]]\nname = "r"\nchannels = ["a"]\n'
        assert "needs field 'velocity'" in _error(tmp_path, base + 'triggers = ["velocity"]')
        assert "'velocity' is not in triggers" in _error(
            tmp_path, base + 'triggers = ["new"]\nvelocity = { events = 1, minutes = 1 }'
        )
        assert "field 'minutes': expected an integer" in _error(
            tmp_path, base + 'triggers = ["velocity"]\nvelocity = { events = 1, minutes = 0 }'
        )

    def test_rule_names_are_unique_as_slugs(self, tmp_path: Path) -> None:
        """Two rules whose names give the same velocity id slug are refused."""
        rule = '[[rules]]\nname = "{}"\ntriggers = ["new"]\nchannels = ["a"]\n'
        text = '[channels.a]\ntype = "slack"\nurl = "http://h"\n' + rule.format("A b") + rule.format("a-b")
        assert "clashes with rule 'A b'" in _error(tmp_path, text)

    def test_unreadable_and_unknown_files(self, tmp_path: Path) -> None:
        """A missing file, a wrong suffix and non-UTF-8 bytes are RulesErrors, not crashes."""
        with pytest.raises(RulesError, match="cannot be read"):
            load_rules(tmp_path / "missing.toml", None, None)
        assert "expected a .toml, .yaml or .yml file" in _error(tmp_path, "", "alerts.json")
        path = tmp_path / "bad.yaml"
        path.write_bytes(b"\xff\xfe")
        with pytest.raises(RulesError, match="not UTF-8"):
            load_rules(path, None, None)

    def test_shortcut_problems(self, tmp_path: Path) -> None:
        """A bad shortcut URL or secret, a secret alone, or a name clash is refused."""
        with pytest.raises(RulesError, match="AFISSUE_ALERT_WEBHOOK_URL: field 'url'"):
            load_rules(None, "not a url", None)
        with pytest.raises(RulesError, match="AFISSUE_ALERT_WEBHOOK_SECRET: expected 'whsec_'"):
            load_rules(None, "http://h/x", "plain")
        with pytest.raises(RulesError, match="URL is not"):
            load_rules(None, None, SECRET)
        clash = _write(tmp_path, '[channels.webhook]\ntype = "slack"\nurl = "http://h"\n')
        with pytest.raises(RulesError, match="already defines a channel named 'webhook'"):
            load_rules(clash, "http://h/x", None)


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=12),
    st.sampled_from(["webhook", "slack", "email", "new", "velocity", "ops", "http://h/x", SECRET]),
)
_keys = st.one_of(
    st.sampled_from([
        "channels", "rules", "type", "url", "secret", "secret_env", "rate_limit", "count",
        "per_seconds", "host", "port", "starttls", "username", "password_env", "sender", "to",
        "name", "triggers", "services", "environments", "min_level", "velocity", "events",
        "minutes", "ops",
    ]),
    st.text(min_size=1, max_size=8),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=5)),
    max_leaves=25,
)


class TestInvalidInputNeverCrashes:
    """load_rules() on generated documents."""

    @settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(document=st.dictionaries(_keys, _values, max_size=4))
    def test_any_structure_loads_or_raises_rules_error(self, tmp_path: Path, document: dict[str, Any]) -> None:
        """Any YAML structure either loads or raises RulesError, never another exception."""
        path = tmp_path / "gen.yaml"
        path.write_text(json.dumps(document), encoding="utf-8")  # JSON is YAML
        try:
            config = load_rules(path, None, None, {})
        except RulesError as exc:
            assert str(path) in str(exc)
        else:
            assert all(set(r.channels) <= set(config.channels) for r in config.rules)

    @settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(data=st.binary(max_size=200), suffix=st.sampled_from([".toml", ".yaml"]))
    def test_any_bytes_load_or_raise_rules_error(self, tmp_path: Path, data: bytes, suffix: str) -> None:
        """Arbitrary bytes in a .toml or .yaml file never raise anything but RulesError."""
        path = tmp_path / f"gen{suffix}"
        path.write_bytes(data)
        with contextlib.suppress(RulesError):
            load_rules(path, None, None, {})


class TestRuleMatches:
    """Rule.matches()"""

    RULE = Rule("r", frozenset({"new"}), ("a",), frozenset({"pricing"}), frozenset({"production"}), "error")

    def test_filters_by_service_environment_and_level(self) -> None:
        """Service, environment and a minimum level must all fit."""
        assert self.RULE.matches("pricing", "production", "error")
        assert self.RULE.matches("pricing", "production", "critical")
        assert not self.RULE.matches("pricing", "production", "warning")
        assert not self.RULE.matches("billing", "production", "error")
        assert not self.RULE.matches("pricing", "staging", "error")
        assert not self.RULE.matches("pricing", None, "error")

    def test_unfiltered_rule_matches_everything(self) -> None:
        """A rule without filters matches any service, environment (even none) and level."""
        rule = Rule("r", frozenset({"new"}), ("a",))
        assert rule.matches("x", None, "debug")

    def test_unknown_level_alerts(self) -> None:
        """A level outside the vocabulary ranks highest: better an alert than silence."""
        assert self.RULE.matches("pricing", "production", "emergency")
        assert self.RULE.matches("pricing", "production", "FATAL")
