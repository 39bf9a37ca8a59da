"""The UTF-8 batch layout of the compiled kernels, and its bridge to polars.

The kernels work on one UTF-8 buffer per batch plus offsets (text ``i`` is
``data[offsets[i]:offsets[i + 1]]``). ``Utf8Texts`` carries that layout between
stages, so a batch is converted from and to polars once, not once per stage.
The array helpers the stages share live here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
from numba import njit


@njit(cache=True, nogil=True)
def gather_spans(data, starts, ends):
    """Copy spans of an array into one array; return it with its offsets (any element type)."""
    lengths = ends - starts
    offsets = np.zeros(starts.shape[0] + 1, np.int64)
    offsets[1:] = np.cumsum(lengths)
    out = np.empty(offsets[-1], data.dtype)
    for i in range(starts.shape[0]):
        out[offsets[i] : offsets[i + 1]] = data[starts[i] : ends[i]]
    return out, offsets


def offsets_of(sizes: np.ndarray | Sequence[int]) -> np.ndarray:
    """The offsets of items of these sizes laid end to end: from 0, one more than the sizes (int64)."""
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return offsets


# Not np.unique: from numpy 2.3 it finds the distinct integers with a hash table and then sorts them, which is
# 15 to 50 times slower than one sort (1.3 s against 36 ms for a million 64-bit integers on the benchmark machine;
# 2.3 of the 2.9 s of verification on a crawl of 400 MB). ruff bans np.unique and np.isin in dedup/ (TID251).
def distinct_sorted(values: np.ndarray) -> np.ndarray:
    """The distinct values of a one-dimensional array, in increasing order."""
    ordered = np.sort(values)
    return ordered[_run_starts(ordered)]


def first_of_each(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a one-dimensional array, in increasing order, and where each first occurs."""
    order = np.argsort(values, kind="stable")
    starts = _run_starts(values[order])
    return values[order[starts]], order[starts]


def in_sorted(values: np.ndarray, ordered: np.ndarray) -> np.ndarray:
    """Whether each value is in ``ordered``, an array sorted in increasing order: ``np.isin`` without the
    np.unique of both arrays that it makes first."""
    if ordered.size == 0:
        return np.zeros(values.shape, dtype=np.bool_)
    where = np.minimum(np.searchsorted(ordered, values), ordered.size - 1)
    return np.asarray(ordered[where] == values)


def _run_starts(ordered: np.ndarray) -> np.ndarray:
    """Where each run of equal values of a sorted array begins (a mask)."""
    starts = np.empty(ordered.size, dtype=np.bool_)
    starts[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    return starts


@dataclass(frozen=True, slots=True)
class Utf8Texts:
    """Many texts as one UTF-8 buffer and offsets."""

    data: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return self.offsets.size - 1

    @classmethod
    def from_series(cls, texts: pl.Series) -> Utf8Texts:
        array = texts.rechunk().to_arrow(compat_level=pl.CompatLevel.oldest())
        _validity, offsets_buf, data_buf = array.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=np.int64)[array.offset : array.offset + len(array) + 1]
        data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, dtype=np.uint8)
        return cls(data, offsets)

    @classmethod
    def from_spans(cls, data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> Utf8Texts:
        """The texts at these byte spans of a buffer, copied into a buffer of their own."""
        return cls(*gather_spans(data, starts, ends))

    def take(self, mask: np.ndarray) -> Utf8Texts:
        """The texts where ``mask`` is true."""
        return Utf8Texts.from_spans(self.data, self.offsets[:-1][mask], self.offsets[1:][mask])

    def to_series(self, name: str) -> pl.Series:
        array = pa.LargeStringArray.from_buffers(
            len(self), pa.py_buffer(self.offsets.astype(np.int64)), pa.py_buffer(self.data)
        )
        return pl.Series(name, pl.from_arrow(array))


def as_utf8(texts: pl.Series | Utf8Texts) -> Utf8Texts:
    """The UTF-8 layout of texts given either way."""
    return texts if isinstance(texts, Utf8Texts) else Utf8Texts.from_series(texts)


def list_series(name: str, values: np.ndarray, offsets: np.ndarray, rows: np.ndarray, dtype: pl.DataType) -> pl.Series:
    """A list column of ``rows.size`` rows: row ``i`` holds ``values[offsets[k]:offsets[k + 1]]`` for the
    ``k``-th true entry of ``rows``, null elsewhere. The values are not copied.

    Args:
        values: the values of the rows that hold a list, laid end to end.
        offsets: where each of those lists starts in ``values``, one more than there are such rows (int64).
        rows: which rows hold a list, a boolean mask.
        dtype: the list's polars type, e.g. ``pl.List(pl.UInt32)``.
    """
    starts = np.zeros(rows.size + 1, dtype=np.int64)
    # A null row is an empty span: it repeats the offset of the list before it.
    np.cumsum(rows, out=starts[1:])
    full_offsets = offsets[starts]
    validity = pa.py_buffer(np.packbits(rows, bitorder="little")) if not rows.all() else None
    array = pa.LargeListArray.from_buffers(
        pa.large_list(pa.from_numpy_dtype(values.dtype)),
        rows.size,
        [validity, pa.py_buffer(np.ascontiguousarray(full_offsets))],
        children=[numpy_array(values)],
        null_count=int(rows.size - np.count_nonzero(rows)),
    )
    return pl.Series(name, pl.from_arrow(array), dtype=dtype)


def numpy_array(values: np.ndarray) -> pa.Array:
    """A flat numpy array as an Arrow array over the same memory.

    ``pa.array`` (and ``pa.Array.to_numpy``) first ask whether their argument is a pandas object, and the
    question imports pandas when it is installed (the ``[spark]`` extra brings it): 1.7-2.2 s of CPU on the
    development machine, in the middle of a scan and under the GIL. The scan's path avoids both.
    """
    contiguous = np.ascontiguousarray(values)
    return pa.Array.from_buffers(
        pa.from_numpy_dtype(contiguous.dtype), contiguous.size, [None, pa.py_buffer(contiguous)]
    )


def numpy_values(array: pa.Array) -> np.ndarray:
    """A primitive Arrow array without nulls as a numpy array over the same memory (``to_numpy`` imports pandas)."""
    dtype = np.dtype(array.type.to_pandas_dtype())
    return np.frombuffer(array.buffers()[1], dtype=dtype)[array.offset : array.offset + len(array)]


def list_values(series: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The values and offsets of a list column's non-null rows, as numpy arrays (the inverse of ``list_series``).

    Returns:
        ``(values, offsets)``: list ``k`` of the non-null rows is ``values[offsets[k]:offsets[k + 1]]``.
        Without a copy when the lists lie end to end, as ``list_series`` lays them.
    """
    array = series.rechunk().to_arrow()
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    valid = series.is_not_null().to_numpy()
    starts, ends = offsets[:-1][valid], offsets[1:][valid]
    values = numpy_values(array.values)
    if starts.size == 0:
        return values[:0], np.zeros(1, dtype=np.int64)
    if np.array_equal(starts[1:], ends[:-1]):
        return values[starts[0] : ends[-1]], np.append(starts, ends[-1]) - starts[0]
    return gather_spans(values, starts, ends)
