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

from dedup._arrow import gather_spans, offsets_of
from dedup.fingerprint import ShingleSets


def _rows_by_part(rows: np.ndarray, bounds: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """Increasing row numbers split over parts laid end to end (part ``k`` holds rows ``bounds[k]`` to
    ``bounds[k + 1] - 1``): every part that holds some, with those rows counted from the part's start."""
    edges = np.searchsorted(rows, bounds)
    for part in range(bounds.size - 1):
        if edges[part + 1] > edges[part]:
            yield part, rows[edges[part] : edges[part + 1]] - bounds[part]


class SetStore:
    """Shingle hashes on disk, a file per batch, addressed by slot number.

    A worker writes its batch's file (any order, any thread); slots are numbered in read order when
    the batches are folded in (``slots``), and only the slots verification needs are read back.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder / "shingles"
        self._folder.mkdir()
        self._sizes: dict[int, np.ndarray] = {}  # hashes per block, by batch number
        self._numbered: list[int] = []  # batch numbers in slot order

    def write(self, number: int, sets: ShingleSets) -> None:
        """Store the shingle hashes of batch ``number``'s blocks."""
        sets.values.astype(np.uint32, copy=False).tofile(self._path(number))
        self._sizes[number] = sets.sizes

    def slots(self, number: int) -> np.ndarray:
        """Number the blocks of batch ``number`` on from the batches numbered before it."""
        first = sum(self._sizes[numbered].size for numbered in self._numbered)
        self._numbered.append(number)
        return np.arange(first, first + self._sizes[number].size, dtype=np.int64)

    def take(self, slots: np.ndarray) -> ShingleSets:
        """The distinct shingle sets at increasing slot numbers, read (memory-mapped) from the files that hold them."""
        bounds = offsets_of([self._sizes[number].size for number in self._numbered])
        values, sizes = [], []
        for part, wanted in _rows_by_part(slots, bounds):
            number = self._numbered[part]
            offsets = offsets_of(self._sizes[number])
            # np.memmap refuses an empty file: a batch whose blocks had no shingles has nothing to map.
            stored = np.memmap(self._path(number), dtype=np.uint32, mode="r") if offsets[-1] else np.zeros(0, np.uint32)
            values.append(gather_spans(stored, offsets[wanted], offsets[wanted + 1])[0])
            sizes.append(self._sizes[number][wanted])
        hashes = np.concatenate(values) if values else np.zeros(0, dtype=np.uint32)
        all_sizes = np.concatenate(sizes) if sizes else np.zeros(0, dtype=np.int64)
        return ShingleSets(hashes, offsets_of(all_sizes), distinct=False).distinct_sets()

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

    def _bounds(self) -> np.ndarray:
        """Where each part's rows start, in number order, and the total."""
        return offsets_of([self._heights[number] for number in self._numbers])

    def take(self, column: str, rows: np.ndarray) -> pl.Series:
        """A column's values at increasing row numbers, reading only those rows of the parts that hold them."""
        paths = self.paths()
        pieces = []
        for part, wanted in _rows_by_part(rows, self._bounds()):
            # Memory-mapped (the parts are uncompressed IPC): only the rows taken are read.
            mapped = pa.ipc.open_file(pa.memory_map(str(paths[part]))).read_all().column(column)
            values = pl.Series(column, mapped).gather(wanted)
            # Copied out: taken strings are views into the mapped part.
            pieces.append(pl.Series(column, values.to_list(), dtype=values.dtype))
        if not pieces:
            return pl.Series(column, [], dtype=pl.read_ipc_schema(paths[0])[column])
        return pl.concat(pieces)

    def parts(self) -> Iterator[tuple[int, int, pl.LazyFrame]]:
        """Every part in number order: its first row number (counting on over the parts before), rows, scan."""
        for number, path, first in zip(self._numbers, self.paths(), self._bounds()[:-1].tolist(), strict=True):
            yield first, self._heights[number], pl.scan_ipc(path)


class ScratchFolder:
    """A private temporary folder, removed by ``close()`` or when garbage-collected."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="dedup-"))
        self._remove = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)

    def close(self) -> None:
        self._remove()
