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
