"""Zero-copy views between polars string columns and UTF-8 byte buffers.

The compiled kernels work on one UTF-8 buffer per batch plus offsets; these two
functions are the only bridge between that layout and polars.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa


def utf8_buffer(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of all texts in one buffer, and the offsets of each text."""
    array = texts.rechunk().to_arrow(compat_level=pl.CompatLevel.oldest())
    _validity, offsets_buf, data_buf = array.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, dtype=np.uint8)
    return data, offsets


def strings_from_buffer(data: np.ndarray, offsets: np.ndarray, name: str) -> pl.Series:
    """A polars string Series over a UTF-8 buffer and its offsets."""
    array = pa.LargeStringArray.from_buffers(
        offsets.size - 1, pa.py_buffer(offsets.astype(np.int64)), pa.py_buffer(data)
    )
    return pl.Series(name, pl.from_arrow(array))
