"""Settings objects built from the environment: env / CLI -> one settings object -> constructors.

Every setting is a dataclass field declared with :func:`setting`, which records the
environment variable that feeds it and a one-line description. :func:`from_env` builds
the object, :func:`describe` lists the table that ``docs/configuration.md`` is generated
from, so the documentation cannot drift from the code. No other module reads
``os.environ`` on its own.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

__all__ = ["SettingDoc", "SettingsError", "SharedSetting", "describe", "from_env", "setting"]

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A setting's environment value could not be parsed."""


def setting(default: Any, env: str, doc: str) -> Any:
    """Declare a dataclass field fed by environment variable *env*, documented by *doc*."""
    return dataclasses.field(default=default, metadata={"env": env, "doc": doc})


_SAME: Any = object()


@dataclasses.dataclass(frozen=True)
class SharedSetting:
    """An environment variable that several settings classes read, declared once.

    Each reader declares its field with :meth:`field`; the configuration reference
    lists the variable once, with each reader's *note* (what it uses it for) and any
    default of its own.
    """

    env: str
    default: Any
    doc: str

    def field(self, note: str, default: Any = _SAME) -> Any:
        """The dataclass field of one reader; *default* only where that reader's differs."""
        value = self.default if default is _SAME else default
        return dataclasses.field(
            default=value, metadata={"env": self.env, "doc": note, "shared": self}
        )


@dataclasses.dataclass(frozen=True)
class SettingDoc:
    """One row of the configuration reference."""

    env: str
    default: str
    type: str
    doc: str
    #: The declaration when the variable is read by several settings classes.
    shared: SharedSetting | None = None


def _base_type(annotation: Any) -> tuple[type[Any], bool]:
    """Return (concrete type, optional?) for ``X`` or ``X | None`` annotations."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    if isinstance(annotation, type):
        return annotation, False
    raise TypeError(f"unsupported setting type {annotation!r}")


def _parse(env: str, raw: str, annotation: Any) -> Any:
    kind, optional = _base_type(annotation)
    if optional and raw == "":
        return None
    try:
        if kind is bool:
            low = raw.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError(raw)
        if kind in (int, float):
            return kind(raw.strip())
        if kind is str:
            return raw
    except ValueError:
        raise SettingsError(
            f"{env}={raw!r} is not a valid {kind.__name__}"
        ) from None
    raise TypeError(f"unsupported setting type {annotation!r} for {env}")


def from_env(cls: type[T], environ: Mapping[str, str], **overrides: Any) -> T:
    """Build settings *cls* from *environ*; explicit *overrides* (not None) win."""
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        env = field.metadata.get("env")
        if field.name in overrides and overrides[field.name] is not None:
            values[field.name] = overrides[field.name]
        elif env and env in environ:
            values[field.name] = _parse(env, environ[env], hints[field.name])
    return cls(**values)


def describe(cls: type[Any]) -> list[SettingDoc]:
    """The configuration reference rows of settings class *cls*."""
    hints = typing.get_type_hints(cls)
    rows = []
    for field in dataclasses.fields(cls):
        if "env" not in field.metadata:
            continue
        kind, optional = _base_type(hints[field.name])
        default = "" if field.default is None else str(field.default)
        type_name = kind.__name__ + (" (optional)" if optional else "")
        rows.append(
            SettingDoc(
                field.metadata["env"],
                default,
                type_name,
                field.metadata["doc"],
                field.metadata.get("shared"),
            )
        )
    return rows
