"""The UTF-8 batch layout of the compiled kernels, and its bridge to polars.

The kernels work on one UTF-8 buffer per batch plus offsets (text ``i`` is
``data[offsets[i]:offsets[i + 1]]``). ``Utf8Texts`` carries that layout between
stages, so a batch is converted from and to polars once, not once per stage.
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
