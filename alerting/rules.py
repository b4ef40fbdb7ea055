"""The alert rules: channels (where to send) and rules (what to send there).

Read once at start from the file ``AFISSUE_ALERTS_FILE`` names (TOML, or YAML with
PyYAML) plus the shortcut ``AFISSUE_ALERT_WEBHOOK_URL`` / ``AFISSUE_ALERT_WEBHOOK_SECRET``
(channel ``webhook``, rule ``default``: every new issue and regression). Anything invalid
is a :class:`RulesError` whose message names the file, the channel or rule, the field and
what was expected, so that a consumer or notifier refuses to start with one clear line.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
import tomllib
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from afissue_logging import wire
from alerting._fields import Fields as _Fields
from alerting._fields import RulesError
from alerting._fields import kind as _kind

__all__ = [
    "CHANNEL_TYPES",
    "SHORTCUT_CHANNEL",
    "SHORTCUT_RULE",
    "TRIGGERS",
    "AlertConfig",
    "Channel",
    "RateLimit",
    "Rule",
    "RulesError",
    "Velocity",
    "load_rules",
]

#: What can fire an alert, in the order a flush decides them.
TRIGGERS = ("new", "regression", "count", "velocity")
CHANNEL_TYPES = ("webhook", "slack", "email")
#: The names the webhook shortcut adds.
SHORTCUT_CHANNEL = "webhook"
SHORTCUT_RULE = "default"
_NAME = re.compile(r"[a-z0-9_-]{1,64}")
_SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
_MAX_RULE_NAME = 200


@dataclasses.dataclass(frozen=True)
class RateLimit:
    """At most *count* messages per *per_seconds* on one channel; the rest go in a digest."""

    count: int = 30
    per_seconds: int = 60


@dataclasses.dataclass(frozen=True)
class Velocity:
    """Fire when more than *events* occurrences arrive within *minutes*."""

    events: int
    minutes: int


@dataclasses.dataclass(frozen=True)
class Channel:
    """Where messages go. Fields not used by the channel's *type* are left empty.

    Secrets named by ``secret_env`` / ``password_env`` are resolved when the file is read.
    """

    name: str
    type: str
    url: str = ""
    secret: str | None = None
    rate_limit: RateLimit = RateLimit()
    host: str = ""
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = ""
    to: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Rule:
    """Which issues' which triggers go to which channels."""

    name: str
    triggers: frozenset[str]
    channels: tuple[str, ...]
    services: frozenset[str] | None = None
    environments: frozenset[str] | None = None
    min_level: str = "debug"
    velocity: Velocity | None = None

    @property
    def slug(self) -> str:
        """The rule's name as it appears in a velocity alert's id (``[a-z0-9-]``)."""
        return _slug(self.name)

    def matches(self, service: str, environment: str | None, level: str) -> bool:
        """Whether an issue of *service* seen in *environment* at *level* falls under the rule."""
        if self.services is not None and service not in self.services:
            return False
        if self.environments is not None and environment not in self.environments:
            return False
        return _rank(level) >= _rank(self.min_level)


@dataclasses.dataclass(frozen=True)
class AlertConfig:
    """Every channel by name and every rule, in file order; empty when alerting is off."""

    channels: dict[str, Channel]
    rules: list[Rule]

    @property
    def enabled(self) -> bool:
        """Whether any rule exists (no rules: the consumer writes no outbox documents)."""
        return bool(self.rules)


def _rank(level: str) -> int:
    """*level*'s place in ``wire.LEVELS``; an unknown level ranks as the most severe, so
    that it alerts rather than stays silent."""
    name = wire.level_name(level)
    return wire.LEVELS.index(name) if name in wire.LEVELS else len(wire.LEVELS)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "rule"


def load_rules(
    path: Path | None,
    webhook_url: str | None,
    webhook_secret: str | None,
    environ: Mapping[str, str] | None = None,
) -> AlertConfig:
    """The configuration from the file at *path* (if any) plus the webhook shortcut.

    *environ* resolves ``secret_env`` / ``password_env`` (default: ``os.environ``).
    """
    env = os.environ if environ is None else environ
    config = AlertConfig({}, [])
    if path is not None:
        config = _parse(_read(path), f"alerts file {path}", env)
    if webhook_url:
        config = _with_shortcut(config, webhook_url, webhook_secret)
    elif webhook_secret:
        raise RulesError("AFISSUE_ALERT_WEBHOOK_SECRET is set but AFISSUE_ALERT_WEBHOOK_URL is not")
    return config


def _read(path: Path) -> Any:
    where = f"alerts file {path}"
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise RulesError(f"{where}: expected a .toml, .yaml or .yml file, got {suffix or 'no suffix'!r}")
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise RulesError(f"{where}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise RulesError(f"{where}: not UTF-8 text (byte {exc.start})") from None
    if suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RulesError(f"{where}: invalid TOML: {exc}") from None
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is in the server extra
        raise RulesError(f"{where}: reading YAML needs PyYAML (pip install pyyaml)") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        one_line = " ".join(str(exc).split())
        raise RulesError(f"{where}: invalid YAML: {one_line}") from None
    except RecursionError:
        raise RulesError(f"{where}: invalid YAML: nested too deeply") from None


def _parse(document: Any, where: str, env: Mapping[str, str]) -> AlertConfig:
    top = _Fields({} if document is None else document, where, ("channels", "rules"))
    raw_channels = top.table.get("channels", {})
    if not isinstance(raw_channels, dict):
        raise top.fail("channels", "a table of channels")
    channels: dict[str, Channel] = {}
    for name, table in raw_channels.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise RulesError(f"{where}: channel name {name!r}: expected 1 to 64 of a-z 0-9 _ -")
        channels[name] = _channel(name, table, f"{where}: channel {name!r}", env)
    raw_rules = top.table.get("rules", [])
    if not isinstance(raw_rules, list):
        raise top.fail("rules", "a list of rules ([[rules]])")
    rules: list[Rule] = []
    for index, table in enumerate(raw_rules, 1):
        rule = _rule(table, f"{where}: rule #{index}", channels)
        clash = next((r for r in rules if r.name == rule.name or r.slug == rule.slug), None)
        if clash is not None:
            raise RulesError(f"{where}: rule #{index} {rule.name!r}: name clashes with rule {clash.name!r}")
        rules.append(rule)
    return AlertConfig(channels, rules)


_CHANNEL_FIELDS = {
    "webhook": ("type", "url", "secret", "secret_env", "rate_limit"),
    "slack": ("type", "url", "rate_limit"),
    "email": ("type", "host", "port", "starttls", "username", "password_env", "sender", "to", "rate_limit"),
}


def _channel(name: str, table: Any, where: str, env: Mapping[str, str]) -> Channel:
    kind = table.get("type") if isinstance(table, dict) else None
    if kind not in CHANNEL_TYPES:
        _Fields(table, where, tuple(dict.fromkeys(f for fs in _CHANNEL_FIELDS.values() for f in fs)))
        raise RulesError(f"{where}: field 'type': expected one of {', '.join(CHANNEL_TYPES)}, got {_kind(kind)}")
    fields = _Fields(table, where, _CHANNEL_FIELDS[kind])
    limit = _rate_limit(fields.table.get("rate_limit"), f"{where}: field 'rate_limit'")
    if kind == "email":
        password_env = fields.optional_text("password_env")
        starttls = fields.table.get("starttls", False)
        if not isinstance(starttls, bool):
            raise fields.fail("starttls", "true or false")
        to = fields.strings("to")
        for address in (fields.text("sender"), *to):
            if "@" not in address:
                raise RulesError(f"{where}: expected an email address, got {address!r}")
        return Channel(
            name, kind, rate_limit=limit, host=fields.text("host"),
            port=fields.integer("port", 25, 1, 65535), starttls=starttls,
            username=fields.optional_text("username"),
            password=_from_env(password_env, env, where, "password_env"),
            sender=fields.text("sender"), to=to,
        )
    url = _url(fields.text("url"), where)
    secret = None
    if kind == "webhook":
        if "secret" in fields.table and "secret_env" in fields.table:
            raise RulesError(f"{where}: give 'secret' or 'secret_env', not both")
        secret = fields.optional_text("secret")
        if secret is None:
            secret = _from_env(fields.optional_text("secret_env"), env, where, "secret_env")
        if secret is not None:
            _check_secret(secret, f"{where}: field 'secret'")
    return Channel(name, kind, url=url, secret=secret, rate_limit=limit)


def _rate_limit(value: Any, where: str) -> RateLimit:
    if value is None:
        return RateLimit()
    fields = _Fields(value, where, ("count", "per_seconds"))
    return RateLimit(fields.integer("count", 30, 1, 100_000), fields.integer("per_seconds", 60, 1, 86_400))


def _from_env(name: str | None, env: Mapping[str, str], where: str, field: str) -> str | None:
    if name is None:
        return None
    value = env.get(name)
    if not value:
        raise RulesError(f"{where}: field {field!r}: environment variable {name} is not set")
    return value


def _url(url: str, where: str) -> str:
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise RulesError(f"{where}: field 'url': expected an http:// or https:// URL, got {url!r}")
    return url.strip()


def _check_secret(secret: str, where: str) -> None:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of at least 16 bytes."""
    try:
        key = base64.b64decode(secret.removeprefix(_SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not secret.startswith(_SECRET_PREFIX) or not 16 <= len(key) <= 64:
        raise RulesError(f"{where}: expected 'whsec_' followed by the base64 of 16 to 64 bytes")


_RULE_FIELDS = ("name", "triggers", "services", "environments", "min_level", "channels", "velocity")


def _rule(table: Any, where: str, channels: Mapping[str, Channel]) -> Rule:
    fields = _Fields(table, where, _RULE_FIELDS)
    name = fields.text("name")
    if len(name) > _MAX_RULE_NAME:
        raise fields.fail("name", f"at most {_MAX_RULE_NAME} characters")
    where = f"{where} {name!r}"
    fields.where = where
    triggers = fields.strings("triggers")
    unknown = [t for t in triggers if t not in TRIGGERS]
    if unknown:
        raise RulesError(f"{where}: field 'triggers': {unknown[0]!r} is not one of {', '.join(TRIGGERS)}")
    targets = fields.strings("channels")
    missing = [c for c in targets if c not in channels]
    if missing:
        raise RulesError(f"{where}: field 'channels': no channel named {missing[0]!r} is defined")
    level = wire.level_name(fields.text("min_level", "debug"))
    if level not in wire.LEVELS:
        raise fields.fail("min_level", f"one of {', '.join(wire.LEVELS)}")
    velocity = None
    if "velocity" in triggers:
        if "velocity" not in fields.table:
            raise RulesError(f"{where}: trigger 'velocity' needs field 'velocity' = {{events = N, minutes = M}}")
        speed = _Fields(fields.table["velocity"], f"{where}: field 'velocity'", ("events", "minutes"))
        velocity = Velocity(speed.integer("events", 0, 1, 10**9), speed.integer("minutes", 0, 1, 1440))
    elif "velocity" in fields.table:
        raise RulesError(f"{where}: field 'velocity' is set but 'velocity' is not in triggers")
    return Rule(
        name, frozenset(triggers), tuple(dict.fromkeys(targets)), fields.optional_set("services"),
        fields.optional_set("environments"), level, velocity,
    )


def _with_shortcut(config: AlertConfig, url: str, secret: str | None) -> AlertConfig:
    where = "AFISSUE_ALERT_WEBHOOK_URL"
    if SHORTCUT_CHANNEL in config.channels:
        raise RulesError(f"{where}: the alerts file already defines a channel named {SHORTCUT_CHANNEL!r}")
    if any(SHORTCUT_RULE in (r.name, r.slug) for r in config.rules):
        raise RulesError(f"{where}: the alerts file already defines a rule named {SHORTCUT_RULE!r}")
    if secret:
        _check_secret(secret, "AFISSUE_ALERT_WEBHOOK_SECRET")
    channel = Channel(SHORTCUT_CHANNEL, "webhook", url=_url(url, where), secret=secret or None)
    rule = Rule(SHORTCUT_RULE, frozenset({"new", "regression"}), (SHORTCUT_CHANNEL,))
    return AlertConfig({**config.channels, SHORTCUT_CHANNEL: channel}, [*config.rules, rule])
