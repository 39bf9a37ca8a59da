"""Shared fixtures: the seed pages and one scan of them."""

from __future__ import annotations

from pathlib import Path

import pytest

import dedup

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
INTRO, DOUBLED, SECOND = "000_e4840d95eb31815a.txt", "001_09200cf2f9f01141.txt", "002_97e78c12a69bdb34.txt"


@pytest.fixture(scope="session")
def seeds() -> Path:
    return SEEDS


@pytest.fixture(scope="session")
def seed_texts() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}


@pytest.fixture(scope="session")
def seed_scan() -> dedup.ScanResult:
    return dedup.scan([SEEDS])


def listed(folder: Path) -> list[str]:
    """The names in a folder, sorted, but the lock file every writer of an output folder keeps there."""
    from dedup.commit import LOCK_NAME

    return sorted(path.name for path in folder.iterdir() if path.name != LOCK_NAME)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile the kernels once, before pytest-xdist starts its workers (it starts them after this hook): numba
    caches them beside the code, so the workers and Spark's Python workers load them instead of each compiling
    them all at once (a minute of CPU each on a fresh checkout, as CI's; 3 s here once they are cached)."""
    if not hasattr(session.config, "workerinput"):  # the controller, or a run in one process
        dedup.scan([SEEDS])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The Spark tests first: the longest file by far, begun at once on one worker while the others run the rest
    (with ``--dist loadfile``, a file left to the end would run alone)."""
    items.sort(key=lambda item: item.path.name != "test_spark.py")  # stable: the rest keep their order
