"""An independent reference for tests: shingles as Python strings, the way a
datasketch user would build them from a normalized text."""

from __future__ import annotations


def reference_shingles(near: str, n: int = 3, by_char: bool = False, letters_only: bool = True) -> set[str]:
    """The content shingles of a text in the near form: n words (or characters), leaving out the
    shingles without a letter (an ASCII letter or any character beyond ASCII) unless ``letters_only``
    is false (code and tables, where every shingle counts)."""
    units: list[str] = list(near) if by_char else near.split(" ")
    if not near:
        return set()
    joiner = "" if by_char else " "
    shingles = {near} if len(units) < n else {joiner.join(units[k : k + n]) for k in range(len(units) - n + 1)}
    if not letters_only:
        return shingles
    return {shingle for shingle in shingles if any((c.isascii() and c.isalpha()) or not c.isascii() for c in shingle)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def containment(a: set[str], b: set[str]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0
