"""The deployment, runbook and integrations pages name only settings, commands, metrics
and pages that exist, so they cannot drift from the code unnoticed."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.deploy.compose import ingest_settings_classes, known_env_names

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ("deployment.md", "runbook.md", "integrations.md")
_ENV_NAME = re.compile(r"\b(AFISSUE_[A-Z0-9_]+|FIRESTORE_EMULATOR_HOST|GOOGLE_APPLICATION_CREDENTIALS)\b")
_METRIC = re.compile(r"\bafissue_(?:ingest|consumer|notifier)_[a-z_]+")
_INLINE = re.compile(r"`(afissue [^`]+)`")
_SHELL_BLOCK = re.compile(r"^```(?:sh|bash)\n(.*?)^```", re.MULTILINE | re.DOTALL)
#: Backticked text that starts with "afissue " but is not a command.
NOT_COMMANDS: frozenset[str] = frozenset()
_LINK = re.compile(r"\]\((?!https?://)([^)#\s]*)(?:#([^)\s]+))?\)")


def _text(page: str) -> str:
    return (DOCS / page).read_text(encoding="utf-8")


def _settings_names() -> set[str]:
    from afissue.dev import DevSettings
    from afissue_logging.settings import ClientSettings
    from consumer.settings import ConsumerSettings
    from notifier.settings import NotifierSettings

    return known_env_names(
        ClientSettings, ConsumerSettings, DevSettings, NotifierSettings,
        *ingest_settings_classes(),
    )


def _commands(page: str) -> list[str]:
    text = _text(page)
    found = [m.group(1) for m in _INLINE.finditer(text) if m.group(1) not in NOT_COMMANDS]
    for block in _SHELL_BLOCK.findall(text):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if command.startswith("afissue "):
                found.append(command)
    return found


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {
        _slug(line.lstrip("#"))
        for line in page.read_text(encoding="utf-8").splitlines()
        if line.startswith("#") and not line.startswith("#!")
    }


def _metric_names() -> set[str]:
    from consumer.metrics import Metrics
    from ingest_service.metrics import IngestMetrics
    from notifier.metrics import Metrics as NotifierMetrics

    names: set[str] = set()
    for registry in (IngestMetrics().registry, Metrics().registry, NotifierMetrics().registry):
        for family in registry.collect():
            names.add(family.name)
            names.update(sample.name for sample in family.samples)
            if family.type == "counter":
                names.add(f"{family.name}_total")
    return names


class TestOperationsDocs:
    @pytest.mark.parametrize("page", PAGES)
    def test_every_environment_variable_exists(self, page: str) -> None:
        """Each AFISSUE_* name on the page is a setting of a settings object."""
        named = set(_ENV_NAME.findall(_text(page)))
        assert named - _settings_names() == set()

    @pytest.mark.parametrize("page", PAGES)
    def test_every_afissue_command_parses(self, page: str) -> None:
        """Each `afissue ...` command on the page is accepted by the CLI's parser."""
        from afissue.cli import _parser

        bad = []
        for command in _commands(page):
            try:
                _parser().parse_args(shlex.split(command)[1:])
            except SystemExit:
                bad.append(command)
        assert bad == []

    @pytest.mark.parametrize("page", ("deployment.md", "runbook.md"))
    def test_every_metric_exists(self, page: str) -> None:
        """Each afissue_* metric the page names is exported by ingest or the consumer."""
        named = set(_METRIC.findall(_text(page)))
        assert named, "the page names no metric"
        assert named - _metric_names() == set()

    @pytest.mark.parametrize("page", PAGES)
    def test_every_relative_link_resolves(self, page: str) -> None:
        """Relative links point at files that exist, and anchors at headings that exist."""
        broken = []
        for target, anchor in _LINK.findall(_text(page)):
            path = (DOCS / target).resolve() if target else DOCS / page
            if not path.exists():
                broken.append(target)
            elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
                broken.append(f"{target}#{anchor}")
        assert broken == []
