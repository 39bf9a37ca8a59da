"""An independent reference for tests: shingles as Python strings, the way a
datasketch user would build them from a normalized text."""

from __future__ import annotations


def reference_shingles(normalized: str, n: int = 3, by_char: bool = False) -> set[str]:
    units: list[str] = list(normalized) if by_char else normalized.split(" ")
    if not normalized:
        return set()
    if len(units) < n:
        return {normalized}
    joiner = "" if by_char else " "
    return {joiner.join(units[k : k + n]) for k in range(len(units) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def containment(a: set[str], b: set[str]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0
