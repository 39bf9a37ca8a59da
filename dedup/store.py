"""Spill storage that keeps memory bounded by the number of blocks, not the text.

Shingle hashes and block rows are appended batch by batch to files in a
temporary folder and read back only where needed (hashes of the blocks in
candidate pairs, rows of the output tables).
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from dedup._arrow import gather_spans
from dedup.fingerprint import ShingleSets


class SetStore:
    """Shingle hashes on disk, a file per batch, addressed by slot number.

    A worker writes its batch's file (any order, any thread); slots are numbered in read order when
    the batches are folded in (``slots``), and only the slots verification needs are read back.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder / "shingles"
        self._folder.mkdir()
        self._sizes: dict[int, np.ndarray] = {}  # hashes per block, by batch number
        self._first_slot: dict[int, int] = {}  # by batch number, once numbered
        self._next_slot = 0

    def write(self, number: int, sets: ShingleSets) -> None:
        """Store the shingle hashes of batch ``number``'s blocks."""
        sets.values.astype(np.uint32, copy=False).tofile(self._path(number))
        self._sizes[number] = sets.sizes

    def slots(self, number: int) -> np.ndarray:
        """Number the blocks of batch ``number`` on from the batches numbered before it."""
        self._first_slot[number] = self._next_slot
        self._next_slot += self._sizes[number].size
        return np.arange(self._first_slot[number], self._next_slot, dtype=np.int64)

    def take(self, slots: np.ndarray) -> ShingleSets:
        """The distinct shingle sets at increasing slot numbers, read (memory-mapped) from the files that hold them."""
        values, sizes = [], []
        for number, first in sorted(self._first_slot.items(), key=lambda item: item[1]):
            batch_sizes = self._sizes[number]
            low, high = np.searchsorted(slots, [first, first + batch_sizes.size])
            if high == low:
                continue
            offsets = np.zeros(batch_sizes.size + 1, dtype=np.int64)
            np.cumsum(batch_sizes, out=offsets[1:])
            wanted = slots[low:high] - first
            stored = np.memmap(self._path(number), dtype=np.uint32, mode="r") if offsets[-1] else offsets[:0]
            gathered, _ = gather_spans(stored, offsets[wanted], offsets[wanted + 1])
            values.append(gathered.astype(np.uint32, copy=False))
            sizes.append(batch_sizes[wanted])
        all_sizes = np.concatenate(sizes) if sizes else np.zeros(0, dtype=np.int64)
        offsets = np.zeros(all_sizes.size + 1, dtype=np.int64)
        np.cumsum(all_sizes, out=offsets[1:])
        hashes = np.concatenate(values) if values else np.zeros(0, dtype=np.uint32)
        return ShingleSets(hashes, offsets, distinct=False).distinct_sets()

    def _path(self, number: int) -> Path:
        return self._folder / f"{number:08d}.u32"


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
        """A column's values at increasing row numbers, reading only those rows of the parts that hold them."""
        bounds = np.cumsum([0, *(self._heights[number] for number in self._numbers)])
        pieces = []
        for part, path in enumerate(self.paths()):
            low, high = np.searchsorted(rows, bounds[part : part + 2])
            if high > low:
                # Memory-mapped (the parts are uncompressed IPC): only the rows taken are read.
                mapped = pa.ipc.open_file(pa.memory_map(str(path))).read_all().column(column)
                values = pl.Series(column, mapped).gather(rows[low:high] - bounds[part])
                # Copied out: taken strings are views into the mapped part.
                pieces.append(pl.Series(column, values.to_list(), dtype=values.dtype))
        if not pieces:
            return pl.Series(column, [], dtype=pl.read_ipc_schema(self.paths()[0])[column])
        return pl.concat(pieces)

    def parts(self) -> Iterator[tuple[int, int, pl.LazyFrame]]:
        """Every part in number order: its first row number (counting on over the parts before), rows, scan."""
        first = 0
        for number, path in zip(self._numbers, self.paths(), strict=True):
            yield first, self._heights[number], pl.scan_ipc(path)
            first += self._heights[number]


class ScratchFolder:
    """A private temporary folder, removed by ``close()`` or when garbage-collected."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="dedup-"))
        self._remove = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)

    def close(self) -> None:
        self._remove()
