"""Generates ``docs/configuration.md`` from the settings objects, so it cannot drift.

``python -m afissue.configdoc > docs/configuration.md`` rewrites it; a test compares
the committed file with :func:`render`.
"""

from __future__ import annotations

import importlib
import sys

from afissue_logging.config import describe

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
    ("Web UI and CLI", "ingest_service.ui.settings", "UISettings",
     "Read by the web UI (served by the ingest API) and by `afissue issues`."),
    ("Consumer", "consumer.settings", "ConsumerSettings", "Read by `afissue consumer`."),
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


def render() -> str:
    """The whole of ``docs/configuration.md``."""
    parts = [_HEADER]
    for title, module_name, class_name, note in SETTINGS_CLASSES:
        cls = getattr(importlib.import_module(module_name), class_name)
        parts.append(f"## {title} (`{module_name}.{class_name}`)\n\n{note}\n")
        parts.append("| environment variable | default | type | meaning |\n|---|---|---|---|")
        for row in describe(cls):
            default = f"`{row.default}`" if row.default else "(unset)"
            parts.append(f"| `{row.env}` | {_escape(default)} | {row.type} | {_escape(row.doc)} |")
        parts.append("")
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(render())
