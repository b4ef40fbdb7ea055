"""Reading docker-compose.yml the way ``docker compose`` does, as far as the tests need:
YAML with merge keys, ``${VAR:-default}`` interpolation, and the environment of a service."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from afissue_logging.config import describe

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"

#: Standard variables read by Google's libraries, not by afissue's settings objects.
STANDARD_ENV = frozenset({"FIRESTORE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS"})

_VARIABLE = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
)


class MissingVariable(LookupError):
    """A ``${VAR:?message}`` variable is not set on the host, so compose would refuse to run."""


def load_compose() -> dict[str, Any]:
    """The parsed compose file."""
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def services() -> dict[str, dict[str, Any]]:
    """The ``services`` mapping of the compose file."""
    found = load_compose()["services"]
    assert isinstance(found, dict)
    return found


def interpolate(value: str, environ: Mapping[str, str]) -> str:
    """*value* with ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}`` resolved as
    compose resolves them from *environ*."""

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match.group("name", "op", "arg")
        if environ.get(name):
            return environ[name]
        if op and op.endswith("?"):
            raise MissingVariable(f"{name}: {arg}")
        return arg if op else ""

    return _VARIABLE.sub(replace, value)


#: What the host must set for ``docker compose up`` to run at all (``${VAR:?...}``).
REQUIRED_HOST_ENV = {"AFISSUE_SECRET_KEY": "host-chosen-secret"}


def raw_environment(name: str) -> dict[str, str]:
    """The ``environment`` of service *name* as written, before interpolation."""
    raw = services()[name].get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    assert isinstance(raw, dict)
    return {str(key): str(value) for key, value in raw.items()}


def service_environment(
    name: str, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment compose gives service *name*, interpolated from a host that sets
    only :data:`REQUIRED_HOST_ENV` and *environ*, so every ``${VAR:-default}`` not in
    *environ* takes its default."""
    host = {**REQUIRED_HOST_ENV, **(environ or {})}
    return {key: interpolate(value, host) for key, value in raw_environment(name).items()}


def bind_mounts(name: str) -> dict[str, Path]:
    """Container path -> host path of the bind mounts (``./...``) of service *name*."""
    mounts = {}
    for volume in services()[name].get("volumes") or []:
        source, _, rest = str(volume).partition(":")
        if source.startswith("."):
            mounts[rest.split(":")[0]] = (ROOT / source).resolve()
    return mounts


def volume_source(name: str, target: str) -> Path:
    """The host path of the bind mount of service *name* whose container path is *target*."""
    found = bind_mounts(name).get(target)
    assert found is not None, f"service {name!r} mounts nothing at {target!r}"
    return found


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs of the Dockerfile, continuation lines joined."""
    joined: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        joined.append(pending + stripped)
        pending = ""
    pairs = []
    for line in joined:
        instruction, _, arguments = line.partition(" ")
        pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def ingest_settings_classes() -> list[type[Any]]:
    """The settings objects of an ingest process: the API's, the web UI's and the issue
    reader's the UI holds."""
    from ingest_service.settings import IngestSettings
    from ingest_service.ui.settings import UISettings
    from issue_store.settings import ReaderSettings

    return [IngestSettings, UISettings, ReaderSettings]


def known_env_names(*settings_classes: type[Any]) -> set[str]:
    """Every variable *settings_classes* read, plus the standard Google ones."""
    return {row.env for cls in settings_classes for row in describe(cls)} | STANDARD_ENV
