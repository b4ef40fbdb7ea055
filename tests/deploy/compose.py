"""Reading docker-compose.yml the way ``docker compose`` does, as far as the tests need:
YAML with merge keys, ``${VAR:-default}`` interpolation, and the environment of a service."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"

#: Standard variables read by Google's libraries, not by afissue's settings objects.
STANDARD_ENV = frozenset({"FIRESTORE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS"})

_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}")


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
    """*value* with ``${VAR}`` / ``${VAR:-default}`` replaced as compose would from *environ*."""

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if environ.get(name):
            return environ[name]
        return match.group("default") or ""

    return _VARIABLE.sub(replace, value)


def service_environment(
    name: str, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment compose gives service *name*, interpolated from *environ* (default:
    an empty host environment, so every ``${VAR:-default}`` takes its default)."""
    raw = services()[name].get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    assert isinstance(raw, dict)
    return {str(key): interpolate(str(value), environ or {}) for key, value in raw.items()}


def volume_source(name: str, target: str) -> Path:
    """The host path of the bind mount of service *name* whose container path is *target*."""
    for volume in services()[name].get("volumes") or []:
        source, _, rest = str(volume).partition(":")
        if rest.split(":")[0] == target and source.startswith("."):
            return (ROOT / source).resolve()
    raise AssertionError(f"service {name!r} mounts nothing at {target!r}")


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
