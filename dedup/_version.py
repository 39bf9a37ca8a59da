"""The version of dedup, from the installed package's metadata or, in a source tree, from ``pyproject.toml``.

Kept apart from everything else so that ``dedup --version`` and ``import dedup`` read it without
loading polars or the kernels.
"""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# The name on the package index (``dedup`` there is another project's); the import and the command stay ``dedup``.
DISTRIBUTION = "dedup-pages"
UNKNOWN = "0+unknown"
_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def dedup_version() -> str:
    """The installed version; in a source tree that is not installed, the one ``pyproject.toml`` names."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return _source_tree_version(_PYPROJECT)


def _source_tree_version(pyproject: Path) -> str:
    """The version in a ``pyproject.toml`` of this distribution, else ``0+unknown``."""
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return UNKNOWN
    if project.get("name") != DISTRIBUTION or not isinstance(project.get("version"), str):
        return UNKNOWN
    return str(project["version"])
