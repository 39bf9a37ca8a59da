"""The local runner's spill folder: what a scan writes to disk so that memory does not grow with the corpus.

Workers write a batch's block rows, shingle hashes and band keys as files numbered by batch; the
corpus-wide steps read back only what they need, a batch, a band or a partition of pairs at a time.
Everything here lives in one private temporary folder that the scan removes when it ends.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from dedup._arrow import gather_spans, offsets_of
from dedup.candidates import distinct_pairs
from dedup.fingerprint import ShingleSets

SCRATCH_PREFIX = "dedup-spill-"


def rows_by_part(rows: np.ndarray, bounds: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """Increasing row numbers split over parts laid end to end (part ``k`` holds rows ``bounds[k]`` to
    ``bounds[k + 1] - 1``): every part that holds some, with those rows counted from the part's start."""
    edges = np.searchsorted(rows, bounds)
    for part in range(bounds.size - 1):
        if edges[part + 1] > edges[part]:
            yield part, rows[edges[part] : edges[part + 1]] - bounds[part]


class _Numbered:
    """Row counts of files numbered by batch, written in any order, counted in number order."""

    def __init__(self) -> None:
        self._sizes: dict[int, int] = {}
        self._lock = threading.Lock()

    def record(self, number: int, size: int) -> None:
        with self._lock:
            self._sizes[number] = size

    @property
    def numbers(self) -> list[int]:
        return sorted(self._sizes)

    def size(self, number: int) -> int:
        return self._sizes[number]

    def bounds(self) -> np.ndarray:
        """Where each file's rows start, counting on in number order, and the total."""
        return offsets_of([self._sizes[number] for number in self.numbers])


class SetStore:
    """Shingle hashes on disk, a file per batch, addressed by slot: rows counted on in batch order.

    Only the sets verification needs are read back, memory-mapped.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder / "shingles"
        self._folder.mkdir()
        self._sizes: dict[int, np.ndarray] = {}  # hashes per row, by batch number
        self._rows = _Numbered()

    def write(self, number: int, values: np.ndarray, offsets: np.ndarray) -> None:
        """Store the shingle hashes of batch ``number``'s rows (row ``i``: ``values[offsets[i]:offsets[i + 1]]``)."""
        values.astype(np.uint32, copy=False).tofile(self._path(number))
        self._sizes[number] = np.diff(offsets)
        self._rows.record(number, offsets.size - 1)

    def first_slot(self, number: int) -> int:
        """The slot of batch ``number``'s first row (every batch before it written)."""
        return int(sum(self._rows.size(n) for n in self._rows.numbers if n < number))

    def take(self, slots: np.ndarray) -> ShingleSets:
        """The distinct shingle sets at increasing slots, read from the files that hold them."""
        numbers = self._rows.numbers
        values, sizes = [], []
        for part, wanted in rows_by_part(slots, self._rows.bounds()):
            number = numbers[part]
            offsets = offsets_of(self._sizes[number])
            # np.memmap refuses an empty file: a batch whose rows had no shingles has nothing to map.
            stored = np.memmap(self._path(number), dtype=np.uint32, mode="r") if offsets[-1] else np.zeros(0, np.uint32)
            values.append(gather_spans(stored, offsets[wanted], offsets[wanted + 1])[0])
            sizes.append(self._sizes[number][wanted])
        hashes = np.concatenate(values) if values else np.zeros(0, dtype=np.uint32)
        all_sizes = np.concatenate(sizes) if sizes else np.zeros(0, dtype=np.int64)
        return ShingleSets(hashes, offsets_of(all_sizes), distinct=False).distinct_sets()

    def _path(self, number: int) -> Path:
        return self._folder / f"{number:08d}.u32"


class BandStore:
    """LSH band keys on disk, a file per batch laid out band by band, so that one band of every row is
    read at once (candidates are found a band at a time). Rows are addressed by slot, as in ``SetStore``."""

    def __init__(self, folder: Path, bands: int) -> None:
        self._folder = folder / "bands"
        self._folder.mkdir()
        self.bands = bands
        self._rows = _Numbered()

    def write(self, number: int, keys: np.ndarray) -> None:
        """Store the band keys of batch ``number``: one row per block, one column per band."""
        np.ascontiguousarray(keys.T, dtype=np.uint64).tofile(self._path(number))
        self._rows.record(number, keys.shape[0])

    def band(self, band: int, slots: np.ndarray) -> np.ndarray:
        """The keys of one band at increasing slots."""
        numbers = self._rows.numbers
        pieces = [np.zeros(0, dtype=np.uint64)]
        for part, wanted in rows_by_part(slots, self._rows.bounds()):
            number = numbers[part]
            rows = self._rows.size(number)
            column = np.memmap(self._path(number), dtype=np.uint64, mode="r", offset=band * rows * 8, shape=(rows,))
            pieces.append(np.asarray(column[wanted]))
        return np.concatenate(pieces)

    def _path(self, number: int) -> Path:
        return self._folder / f"{number:08d}.u64"


class ArrayStore:
    """One numpy array per batch (``int64``), written once and read back whole."""

    def __init__(self, folder: Path, name: str) -> None:
        self._folder = folder / name
        self._folder.mkdir()

    def write(self, number: int, values: np.ndarray) -> None:
        values.astype(np.int64, copy=False).tofile(self._path(number))

    def read(self, number: int) -> np.ndarray:
        path = self._path(number)
        return np.fromfile(path, dtype=np.int64) if path.stat().st_size else np.zeros(0, dtype=np.int64)

    def _path(self, number: int) -> Path:
        return self._folder / f"{number:08d}.i64"


class AppendedArray:
    """One ``int64`` array appended to one file piece by piece, then read through a memory map: what is read
    back at random (each document's clusters, by document) costs one file, not one per batch."""

    def __init__(self, folder: Path, name: str) -> None:
        self._path = folder / f"{name}.i64"
        self._file = self._path.open("wb")
        self.size = 0

    def append(self, values: np.ndarray) -> None:
        values.astype(np.int64, copy=False).tofile(self._file)
        self.size += values.size

    def mapped(self) -> np.ndarray:
        """The whole array, read-only; appending ends here."""
        self._file.close()
        if self.size == 0:
            return np.zeros(0, dtype=np.int64)
        return np.asarray(np.memmap(self._path, dtype=np.int64, mode="r", shape=(self.size,)))


class PartStore:
    """Block rows written as numbered Arrow IPC parts (one per batch), read back in number order.

    Parts may be written in any order and from any thread.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder / "parts"
        self._folder.mkdir()
        self._rows = _Numbered()

    def write(self, number: int, frame: pl.DataFrame) -> None:
        # Arrow IPC, uncompressed: spill files are read back soon, by this process; writing them
        # is little more than a copy, where Parquet's encoding and compression cost seconds per 100 MB.
        frame.write_ipc(self._path(number), compression="uncompressed")
        self._rows.record(number, frame.height)

    @property
    def numbers(self) -> list[int]:
        return self._rows.numbers

    def bounds(self) -> np.ndarray:
        """Where each part's rows start, in number order, and the total."""
        return self._rows.bounds()

    def read(self, number: int, columns: list[str]) -> pl.DataFrame:
        """Some columns of one part, memory-mapped: nothing is copied until it is used."""
        table = pa.ipc.open_file(pa.memory_map(str(self._path(number)))).read_all().select(columns)
        return pl.DataFrame(pl.from_arrow(table))

    def take(self, column: str, rows: np.ndarray) -> pl.Series:
        """A column's values at increasing row numbers (counted over all parts), copied out of the parts."""
        numbers = self.numbers
        pieces = []
        for part, wanted in rows_by_part(rows, self.bounds()):
            values = self.read(numbers[part], [column])[column].gather(wanted)
            # Copied out: taken strings are views into the mapped part.
            pieces.append(pl.Series(column, values.to_list(), dtype=values.dtype))
        if not pieces:
            return pl.Series(column, [], dtype=pl.read_ipc_schema(self._path(numbers[0]))[column])
        return pl.concat(pieces)

    def _path(self, number: int) -> Path:
        return self._folder / f"{number:08d}.arrow"


class PairSpill:
    """Pairs of node numbers (left < right) spilled into partitions by ``left``, each read back sorted and
    without repeats: memory holds one partition, never all the pairs of every band.

    Partition ``k`` holds the pairs whose left node lies in ``[bounds[k], bounds[k + 1])``.
    """

    def __init__(self, folder: Path, nodes: int, partitions: int) -> None:
        self._folder = folder / "pairs"
        self._folder.mkdir(exist_ok=True)
        self.bounds = np.linspace(0, nodes, partitions + 1).astype(np.int64)
        self._lock = threading.Lock()
        self._written = np.zeros(partitions, dtype=np.int64)

    @property
    def partitions(self) -> int:
        return self.bounds.size - 1

    def add(self, left: np.ndarray, right: np.ndarray) -> None:
        """Append pairs (from any thread)."""
        order = np.argsort(left, kind="stable")
        left, right = left[order], right[order]
        edges = np.searchsorted(left, self.bounds)
        with self._lock:
            for part in range(self.partitions):
                lo, hi = edges[part], edges[part + 1]
                if hi > lo:
                    with open(self._path(part), "ab") as handle:
                        np.stack((left[lo:hi], right[lo:hi]), axis=1).astype(np.int64).tofile(handle)
                    self._written[part] += hi - lo

    def read(self, part: int) -> tuple[np.ndarray, np.ndarray]:
        """Partition ``part``'s distinct pairs, sorted by (left, right)."""
        if not self._written[part]:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        pairs = np.fromfile(self._path(part), dtype=np.int64).reshape(-1, 2)
        return distinct_pairs(pairs[:, 0], pairs[:, 1], int(self.bounds[part]), int(self.bounds[part + 1]))

    def _path(self, part: int) -> Path:
        return self._folder / f"{part:06d}.i64"


class ScratchFolder:
    """A private temporary folder, removed by ``close()``, when garbage-collected, or at exit."""

    def __init__(self, prefix: str = SCRATCH_PREFIX) -> None:
        # The process id in the name tells whose folder it is, so that leftovers of a killed run can be found.
        self.path = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))
        self._remove = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)

    def close(self) -> None:
        """Remove the folder now, or on a thread of its own inside ``removals_in_background``."""
        pending = _pending_removals.get()
        if pending is None or not self._remove.alive:
            self._remove()
            return
        removal = threading.Thread(target=self._remove, name="dedup-remove-folder")
        removal.start()
        pending.append(removal)


# The removals ``ScratchFolder.close`` started inside ``removals_in_background`` (None outside).
_pending_removals: ContextVar[list[threading.Thread] | None] = ContextVar("dedup_pending_removals", default=None)


@contextlib.contextmanager
def removals_in_background() -> Iterator[None]:
    """Inside the block, ``ScratchFolder.close`` removes its folder on a thread, and the block's end waits for
    them all: for a caller that goes on with other work meanwhile. The command line prints its report while
    a scan's spill files go (deleting light 400 MB's took half a second of waiting on the file system,
    about a quarter of it CPU)."""
    pending: list[threading.Thread] = []
    token = _pending_removals.set(pending)
    try:
        yield
    finally:
        _pending_removals.reset(token)
        for removal in pending:
            removal.join()
