"""The Dockerfile: a slim, non-root image whose entrypoint and commands exist in the code."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from fnmatch import fnmatch
from pathlib import Path

from afissue.cli import _parser
from tests.deploy.compose import ROOT, dockerfile_instructions, services


def _values(instruction: str) -> list[str]:
    return [args for name, args in dockerfile_instructions() if name == instruction]


def _exec_form(arguments: str) -> list[str]:
    parsed = json.loads(arguments)
    assert isinstance(parsed, list), f"expected the exec form, got {arguments!r}"
    return [str(part) for part in parsed]


def _final_stage() -> list[tuple[str, str]]:
    pairs = dockerfile_instructions()
    last_from = max(i for i, (name, _) in enumerate(pairs) if name == "FROM")
    return pairs[last_from:]


class TestBaseImage:
    def test_every_stage_is_python_311_slim(self) -> None:
        """The build and runtime stages derive from python:3.11-slim."""
        default = next(a for a in _values("ARG") if a.startswith("PYTHON_IMAGE="))
        assert default == "PYTHON_IMAGE=python:3.11-slim"
        assert all(stage.split()[0] == "${PYTHON_IMAGE}" for stage in _values("FROM"))

    def test_installs_the_server_extra(self) -> None:
        """The image installs afissue with its `server` extra, which pyproject.toml declares."""
        extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
            "optional-dependencies"
        ]
        assert "server" in extras
        assert any('".[server]"' in run for run in _values("RUN"))


class TestUser:
    def test_runtime_stage_runs_as_a_non_root_user(self) -> None:
        """The last USER of the final stage is neither root nor uid 0."""
        users = [args for name, args in _final_stage() if name == "USER"]
        assert users, "the final stage sets no USER"
        user = users[-1].split(":")[0]
        assert user not in {"root", "0"}


class TestEntrypoint:
    def test_entrypoint_is_the_afissue_console_script(self) -> None:
        """ENTRYPOINT runs `afissue`, the console script pyproject.toml declares."""
        scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
        (entrypoint,) = _values("ENTRYPOINT")
        assert _exec_form(entrypoint) == ["afissue"]
        assert scripts["afissue"] == "afissue.cli:main"

    def test_image_and_compose_commands_are_cli_subcommands(self) -> None:
        """The default CMD and each compose command parse with afissue's own argument parser."""
        (cmd,) = _values("CMD")
        commands = [_exec_form(cmd)]
        commands += [[str(p) for p in s["command"]] for s in services().values()
                     if s.get("build")]
        parser = _parser()
        parsed = [parser.parse_args(command).command for command in commands]
        assert set(parsed) == {"ingest", "consumer", "notifier"}

    def test_exposes_the_ingest_port(self) -> None:
        """The image exposes 6001, the port it sets AFISSUE_INGEST_PORT to."""
        assert "6001" in " ".join(_values("EXPOSE")).split()
        env = " ".join(_values("ENV"))
        assert "AFISSUE_INGEST_PORT=6001" in env.split()
        assert "AFISSUE_INGEST_HOST=0.0.0.0" in env.split()

    def test_healthcheck_calls_ingest_liveness(self) -> None:
        """The image's HEALTHCHECK requests /api/health/live on the configured port."""
        (check,) = _values("HEALTHCHECK")
        command = _exec_form(check.split("CMD", 1)[1].strip())
        assert command[:2] == ["python", "-c"]
        assert "/api/health/live" in command[2]
        assert "AFISSUE_INGEST_PORT" in command[2]


class TestBuildContext:
    def test_copied_paths_exist_and_are_not_ignored(self) -> None:
        """Every source a COPY names exists and is not excluded by .dockerignore."""
        ignored = [
            line.strip()
            for line in (ROOT / ".dockerignore").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
        sources = _copied_sources()
        assert sources
        for source in sources:
            assert (ROOT / source).exists(), source
            assert not any(fnmatch(source, pattern) for pattern in ignored), source

    def test_tests_and_git_stay_out_of_the_context(self) -> None:
        """.dockerignore keeps history, tests and the local .env (secrets) out of the build context."""
        ignored = (ROOT / ".dockerignore").read_text().split()
        assert {".git", "tests", ".env"} <= set(ignored)


def _copied_sources() -> list[str]:
    sources = []
    for arguments in _values("COPY"):
        if not arguments.startswith("--from="):
            sources += shlex.split(arguments)[:-1]
    return sources


class TestBuildStage:
    def test_copied_sources_build_a_complete_wheel(self, tmp_path: Path) -> None:
        """A wheel built from only what the Dockerfile copies has every package, template and the script."""
        context = tmp_path / "context"
        context.mkdir()
        for source in _copied_sources():
            path = ROOT / source
            if path.is_dir():
                shutil.copytree(path, context / source, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(path, context / source)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
             "-q", "-w", str(tmp_path / "dist"), str(context)],
            check=True, capture_output=True, timeout=300,
        )
        (wheel,) = (tmp_path / "dist").glob("afissue-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
            entry_points = next(n for n in names if n.endswith("entry_points.txt"))
            scripts = archive.read(entry_points).decode()
        for package in ("afissue_logging", "issue_store", "ingest_service", "consumer", "afissue"):
            assert f"{package}/__init__.py" in names, package
        templates = {
            str(p.relative_to(ROOT)) for p in (ROOT / "ingest_service").rglob("*.html")
        }
        assert templates and templates <= names
        assert "afissue = afissue.cli:main" in scripts
