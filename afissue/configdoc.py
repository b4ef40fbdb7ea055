"""Generates ``docs/configuration.md`` from the settings objects, so it cannot drift.

``python -m afissue.configdoc > docs/configuration.md`` rewrites it; a test compares
the committed file with :func:`render`.
"""

from __future__ import annotations

import importlib
import sys

from afissue_logging import server_env
from afissue_logging.config import SettingDoc, describe

__all__ = ["SETTINGS_CLASSES", "render"]

SETTINGS_CLASSES: tuple[tuple[str, str, str, str], ...] = (
    (
        "Client",
        "afissue_logging.settings",
        "ClientSettings",
        "Read by `IssueHandler`, `IssueProcessor` and `IssueTrackerClient` in the user's service; "
        "keyword arguments of the same names win.",
    ),
    (
        "Ingest API",
        "ingest_service.settings",
        "IngestSettings",
        "Read by `afissue ingest` (gunicorn) and `create_app()`.",
    ),
    ("Issue reader of the web UI and CLI", "issue_store.settings", "ReaderSettings",
     "Read by the web UI (served by the ingest API) and by `afissue issues`."),
    ("Web UI", "ingest_service.ui.settings", "UISettings",
     "Read by the web UI (served by the ingest API), beside the issue store's settings."),
    ("Consumer", "consumer.settings", "ConsumerSettings", "Read by `afissue consumer`."),
    ("Consumer process", "consumer.runtime", "ProcessSettings", "Read by `afissue consumer`."),
    ("Notifier", "notifier.settings", "NotifierSettings", "Read by `afissue notifier`."),
    (
        "Local stack",
        "afissue.dev",
        "DevSettings",
        "Read by `afissue dev`, which passes the addresses it starts on to its ingest and consumer.",
    ),
)

_HEADER = """# Configuration reference

Generated from the settings objects by `python -m afissue.configdoc > docs/configuration.md`;
a test fails when this file and the code disagree. Configuration flows one way:
environment (or command-line flags, or keyword arguments) → one settings object →
constructors. Booleans accept `1/true/yes/on` and `0/false/no/off`; an empty value
unsets an optional setting.
"""


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(value: str) -> str:
    return f"`{value}`" if value else "(unset)"


def _row(env: str, default: str, type_name: str, doc: str) -> str:
    return f"| `{env}` | {_escape(default)} | {type_name} | {_escape(doc)} |"


_TABLE_HEAD = "| environment variable | default | type | meaning |\n|---|---|---|---|"


def _shared_section(readers: dict[str, list[SettingDoc]]) -> list[str]:
    """One row per shared variable: its declaration, then what each reader uses it for."""
    parts = [
        "## Shared by the server processes\n\n"
        "Declared once (`afissue_logging.server_env`) and read by several settings classes; "
        "each reader's use, and a default of its own where it has one, follow the meaning.\n",
        _TABLE_HEAD,
    ]
    for shared in server_env.SHARED:
        rows = readers.get(shared.env, [])
        if not rows:
            continue
        default = "" if shared.default is None else str(shared.default)
        uses = []
        for row in rows:
            own = row.default != default and row.default
            uses.append(f"{row.doc} (default {_default(row.default)})" if own else row.doc)
        doc = " ".join([shared.doc, *uses])
        parts.append(_row(shared.env, _default(default), rows[0].type, doc))
    parts.append("")
    return parts


def render() -> str:
    """The whole of ``docs/configuration.md``."""
    sections: list[str] = []
    readers: dict[str, list[SettingDoc]] = {}
    for title, module_name, class_name, note in SETTINGS_CLASSES:
        cls = getattr(importlib.import_module(module_name), class_name)
        own = []
        for row in describe(cls):
            if row.shared is not None:
                readers.setdefault(row.env, []).append(row)
            else:
                own.append(_row(row.env, _default(row.default), row.type, row.doc))
        if own:
            sections.append(f"## {title} (`{module_name}.{class_name}`)\n\n{note}\n")
            sections.extend([_TABLE_HEAD, *own, ""])
    return "\n".join([_HEADER, *_shared_section(readers), *sections])


if __name__ == "__main__":
    sys.stdout.write(render())
