"""One version, from the installed metadata or the source tree's pyproject.toml, under the name dedup-pages."""

from __future__ import annotations

import tomllib
from pathlib import Path

from typer.testing import CliRunner

import dedup
from dedup._version import DISTRIBUTION, UNKNOWN, _source_tree_version
from dedup.cli import app

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_the_version_is_the_one_pyproject_names() -> None:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    assert project["name"] == DISTRIBUTION
    assert dedup.__version__ == project["version"]
    assert _source_tree_version(PYPROJECT) == project["version"]


def test_dedup_version_prints_it() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"dedup {dedup.__version__}\n"


def test_a_pyproject_of_another_project_or_none_gives_unknown(tmp_path: Path) -> None:
    other = tmp_path / "pyproject.toml"
    other.write_text('[project]\nname = "dedup"\nversion = "9.9"\n', encoding="utf-8")
    assert _source_tree_version(other) == UNKNOWN
    other.write_text("[project\n", encoding="utf-8")
    assert _source_tree_version(other) == UNKNOWN
    assert _source_tree_version(tmp_path / "missing.toml") == UNKNOWN
