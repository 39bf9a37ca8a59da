"""Builders of input files for the reader tests: every compression, good records, damaged copies.

One place for them, so that the format tests, the hostile-input table and the fuzz harness build
their files the same way.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import zstandard

T = TypeVar("T")

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


def gzip_bomb(path: Path, size: int, line: bytes = b"", tail: bytes = b"") -> None:
    """Write a gzip file of ``size`` bytes of ``bomb bomb ...`` between ``line`` and ``tail``, compressed as it goes.

    Nothing of ``size`` is ever in memory: a bomb of gigabytes is written from a megabyte buffer, and
    its text compresses about 1,000 to 1 as zeros do (without looking binary).
    """
    chunk = (b"bomb " * (1 << 18))[: 1 << 20]
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(line)
        for _ in range(size // len(chunk)):
            out.write(chunk)
        out.write(chunk[: size % len(chunk)])
        out.write(tail)


def peak_python_bytes(work: Callable[[], T]) -> tuple[T, int]:
    """What ``work`` returns, and the peak of memory Python allocated while it ran (tracemalloc)."""
    tracemalloc.start()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
