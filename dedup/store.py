"""Spill storage that keeps memory bounded by the number of blocks, not the text.

Shingle hashes and block rows are appended batch by batch to files in a
temporary folder and read back only where needed (hashes of the blocks in
candidate pairs, rows of the output tables).
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path

import numpy as np
import polars as pl

from dedup.fingerprint import ShingleSets


class SetStore:
    """Append-only store of shingle hashes on disk, addressed by slot number."""

    def __init__(self, folder: Path) -> None:
        self._path = folder / "shingles.u32"
        self._sizes: list[np.ndarray] = []
        self._distinct = True

    def append(self, sets: ShingleSets) -> np.ndarray:
        """Store the shingle hashes of a batch's blocks; return their slot numbers."""
        first = sum(s.size for s in self._sizes)
        with self._path.open("ab") as handle:  # one open per batch: nothing left open on errors
            sets.values.astype(np.uint32, copy=False).tofile(handle)
        self._sizes.append(sets.sizes)
        self._distinct &= sets.distinct
        return np.arange(first, first + len(sets), dtype=np.int64)

    def finish(self) -> ShingleSets:
        """All stored hashes, memory-mapped from disk (as stored: ``distinct`` only if every batch was)."""
        sizes = np.concatenate(self._sizes) if self._sizes else np.zeros(0, dtype=np.int64)
        offsets = np.zeros(sizes.size + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        if offsets[-1] == 0:
            return ShingleSets(np.zeros(0, dtype=np.uint32), offsets)
        return ShingleSets(np.memmap(self._path, dtype=np.uint32, mode="r"), offsets, distinct=self._distinct)


class PartStore:
    """Block rows written as numbered Arrow IPC parts (one per batch), scanned back in number order.

    Parts may be written in any order and from any thread; a part's rows are numbered on reading,
    continuing from the parts before it.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder / "parts"
        self._folder.mkdir()
        self._heights: dict[int, int] = {}  # rows of every part written, by part number

    def write(self, number: int, frame: pl.DataFrame) -> None:
        # Arrow IPC, uncompressed: spill files are read back soon, by this process; writing them
        # is little more than a copy, where Parquet's encoding and compression cost seconds per 100 MB.
        frame.write_ipc(self._folder / f"{number:08d}.arrow", compression="uncompressed")
        self._heights[number] = frame.height

    @property
    def _numbers(self) -> list[int]:
        return sorted(self._heights)

    def paths(self) -> list[Path]:
        return [self._folder / f"{number:08d}.arrow" for number in self._numbers]

    def take(self, column: str, rows: np.ndarray) -> pl.Series:
        """A column's values at increasing row numbers, reading only that column of the parts that hold them."""
        bounds = np.cumsum([0, *(self._heights[number] for number in self._numbers)])
        pieces = []
        for part, path in enumerate(self.paths()):
            low, high = np.searchsorted(rows, bounds[part : part + 2])
            if high > low:
                values = pl.read_ipc(path, columns=[column])[column].gather(rows[low:high] - bounds[part])
                # Copied out: gathered strings are views that would keep the part's whole buffer alive.
                pieces.append(pl.Series(column, values.to_list(), dtype=values.dtype))
        if not pieces:
            return pl.Series(column, [], dtype=pl.read_ipc_schema(self.paths()[0])[column])
        return pl.concat(pieces)

    def scan(self, row_number: str) -> pl.LazyFrame:
        """All parts in number order (one per batch: never none), rows numbered from 0 in ``row_number``."""
        return pl.scan_ipc(self.paths()).with_row_index(row_number).with_columns(pl.col(row_number).cast(pl.Int64))


class ScratchFolder:
    """A private temporary folder, removed by ``close()`` or when garbage-collected."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="dedup-"))
        self._remove = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)

    def close(self) -> None:
        self._remove()
