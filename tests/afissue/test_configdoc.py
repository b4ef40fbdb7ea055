"""docs/configuration.md is generated from the settings objects and names every setting."""

from __future__ import annotations

from pathlib import Path

from afissue.configdoc import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"

FIXED_NAMES = (
    "AFISSUE_URL",
    "AFISSUE_TOKEN",
    "AFISSUE_SERVICE",
    "AFISSUE_ENVIRONMENT",
    "AFISSUE_RELEASE",
    "AFISSUE_SPOOL_DIR",
    "AFISSUE_KAFKA_BOOTSTRAP",
    "AFISSUE_KAFKA_TOPIC",
    "AFISSUE_REDIS_URL",
    "AFISSUE_FIRESTORE_PROJECT",
    "AFISSUE_FIRESTORE_COLLECTION",
    "FIRESTORE_EMULATOR_HOST",
    "AFISSUE_TOKENS_FILE",
)


class TestConfigurationReference:
    def test_committed_doc_matches_the_settings_objects(self) -> None:
        """The committed reference is exactly what the settings objects generate."""
        assert DOC.read_text() == render(), (
            "run: python -m afissue.configdoc > docs/configuration.md"
        )

    def test_every_fixed_environment_name_is_documented(self) -> None:
        """Each environment variable SPEC section 2 fixes has a row."""
        text = render()
        missing = [name for name in FIXED_NAMES if f"| `{name}` |" not in text]
        assert missing == []

    def test_topic_and_collection_defaults(self) -> None:
        """The fixed defaults of the topic and the collection are documented."""
        text = render()
        assert "| `AFISSUE_KAFKA_TOPIC` | `alphafusion.issues` |" in text
        assert "| `AFISSUE_FIRESTORE_COLLECTION` | `issues` |" in text


class TestDeclaredOnce:
    def test_a_variable_read_by_several_classes_has_one_declaration(self) -> None:
        """Two settings classes reading one variable share its declaration
        (``afissue_logging.server_env``), so its name, default and meaning cannot drift."""
        import importlib

        from afissue.configdoc import SETTINGS_CLASSES
        from afissue_logging.config import describe

        readers: dict[str, list[str]] = {}
        undeclared: list[str] = []
        for _, module_name, class_name, _ in SETTINGS_CLASSES:
            cls = getattr(importlib.import_module(module_name), class_name)
            for row in describe(cls):
                readers.setdefault(row.env, []).append(class_name)
                if row.shared is None:
                    undeclared.append(row.env)
        duplicated = sorted(
            env for env, classes in readers.items() if len(classes) > 1 and env in undeclared
        )
        assert duplicated == []

    def test_the_reference_lists_each_variable_once(self) -> None:
        """Each environment variable has exactly one row in docs/configuration.md."""
        import re

        names = re.findall(r"^\| `([A-Z_]+)` \|", render(), flags=re.M)
        assert sorted(n for n in set(names) if names.count(n) > 1) == []
