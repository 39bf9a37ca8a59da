"""Builders of input files for the reader tests: every compression, good records, damaged copies.

One place for them, so that the format tests, the hostile-input table and the fuzz harness build
their files the same way.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
from collections.abc import Callable

import zstandard

# Suffix -> compress function, for every compression dedup undoes.
COMPRESSIONS: dict[str, Callable[[bytes], bytes]] = {
    ".gz": gzip.compress,
    ".zst": lambda data: zstandard.ZstdCompressor().compress(data),
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
}


def jsonl_records(count: int, words: int = 40, prefix: str = "r") -> bytes:
    """``count`` JSON lines with ids ``<prefix>0``, ``<prefix>1``, ... and texts of ``words`` words, distinct."""
    lines = (
        json.dumps({"id": f"{prefix}{i}", "text": " ".join(f"record{i} word{j}" for j in range(words))}) + "\n"
        for i in range(count)
    )
    return "".join(lines).encode()


def csv_records(count: int, words: int = 40, prefix: str = "c") -> bytes:
    """A CSV file with a header row and ``count`` rows with ids ``<prefix>0``, ... (texts quoted, with commas)."""
    rows = (f'{prefix}{i},"row {i}, ' + " ".join(f"word{j}" for j in range(words)) + '"\n' for i in range(count))
    return ("id,text\n" + "".join(rows)).encode()
