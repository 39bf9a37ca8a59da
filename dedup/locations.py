"""Where a block stands in the original file: the place a person opens.

A block's offsets point into the text dedup extracted, which for a page or a record is not what the user
has on disk. Every block therefore also carries ``source_line`` and ``source_column`` (``dedup.schema``):

- a file that is the document (text, Markdown, HTML): its line and column in the file, in characters,
  1-based. The reader leaves *anchors* with the document, ``(text offset, text line, source line, source
  column)`` of points of the text (the start of the file for a text file, the first visible character of
  each paragraph for a page); a block is placed from the last anchor at or before it: on the anchor's line
  of the text by the distance from it, on a later line by the line count and the block's own column.
- a record of a file: where the record is, by the unit of its format (the JSONL or CSV line, the JSON item,
  the Parquet row, the WARC record, named with its ``WARC-Target-URI``), and no column.

``place`` writes a location as the messages of every command show it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl

from dedup import schema as S
from dedup._arrow import list_values
from dedup.formats.memory import MEMORY_NAME
from dedup.formats.records import STDIN_NAME
from dedup.terminal import printable

ANCHOR_WIDTH = 4  # text offset, text line, source line, source column
_DOC_SHIFT = 40  # documents and offsets in one sortable key: offsets stay below 2**40 (a terabyte of text)
_COMPRESSION_SUFFIXES = frozenset({".gz", ".zst", ".zstd", ".bz2", ".xz"})
# What a record's number counts, by format; every other file is placed by line (and column).
RECORD_UNITS = {".json": "item", ".parquet": "row", ".warc": "record", ".arc": "record"}


def block_places(documents: pl.DataFrame, blocks: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """The ``source_line`` and ``source_column`` of every block of a batch.

    Args:
        documents: ``doc_key``, and ``source_line`` and ``anchors`` when the reader gave them (without
            them a document is a record at line 1 of its file).
        blocks: ``doc_key``, ``start``, ``line`` and ``column`` of each block (``dedup.segment``).

    Returns:
        Two series as long as ``blocks``: the line (Int64) and the column (Int32, null for records).
    """
    n_docs = documents.height
    doc_keys = documents[S.DOC_KEY].to_numpy()
    order = np.argsort(doc_keys, kind="stable")
    rows = order[np.searchsorted(doc_keys[order], blocks[S.DOC_KEY].to_numpy())] if n_docs else np.zeros(0, np.int64)
    record_lines = (
        documents[S.SOURCE_LINE].fill_null(1).to_numpy() if S.SOURCE_LINE in documents.columns else np.ones(n_docs)
    )
    lines = record_lines[rows].astype(np.int64)
    columns = np.zeros(rows.size, dtype=np.int32)
    placed = np.zeros(rows.size, dtype=bool)
    if S.ANCHORS in documents.columns and documents[S.ANCHORS].null_count() < n_docs:
        anchored = documents[S.ANCHORS].is_not_null().to_numpy()
        values, offsets = list_values(documents[S.ANCHORS])
        quads = values.reshape(-1, ANCHOR_WIDTH).astype(np.int64)
        counts = np.diff(offsets) // ANCHOR_WIDTH
        first = np.full(n_docs, -1, dtype=np.int64)
        first[anchored] = np.cumsum(counts) - counts
        anchor_rows = np.repeat(np.flatnonzero(anchored), counts)
        keys = (anchor_rows << _DOC_SHIFT) + quads[:, 0]
        placed = first[rows] >= 0
        starts = blocks[S.START].to_numpy()[placed]
        found = np.searchsorted(keys, (rows[placed] << _DOC_SHIFT) + starts, side="right") - 1
        found = np.maximum(found, first[rows[placed]])  # a block before the first anchor: the first
        anchor = quads[found]
        block_lines = blocks[S.LINE].to_numpy()[placed].astype(np.int64)
        same_line = block_lines == anchor[:, 1]
        lines[placed] = anchor[:, 2] + block_lines - anchor[:, 1]
        columns[placed] = np.where(
            same_line, np.maximum(anchor[:, 3] + starts - anchor[:, 0], 1), blocks[S.COLUMN].to_numpy()[placed]
        )
    return (
        pl.Series(S.SOURCE_LINE, lines, dtype=pl.Int64),
        pl.Series(S.SOURCE_COLUMN, columns, dtype=pl.Int32).scatter(np.flatnonzero(~placed), None),
    )


def record_unit(source: str) -> str:
    """What the number of a record of this file counts: ``line``, ``item``, ``row`` or ``record``.

    In-memory inputs (``dedup.formats.memory``) are named in angle brackets: ``<memory>`` counts items, a
    table (``<DataFrame 2>``) rows. Standard input counts lines, as the JSON Lines and CSV piped to it do.
    """
    if source == STDIN_NAME:
        return "line"
    if source.startswith("<") and source.endswith(">"):
        return "item" if source == MEMORY_NAME else "row"
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix in _COMPRESSION_SUFFIXES:
        suffix = Path(path.stem).suffix.lower()
    return RECORD_UNITS.get(suffix, "line")


def place(source: str, line: int, column: int | None, doc_id: str | None = None) -> str:
    """A location as every message shows it, safe to print.

    ``file:line:column`` in a file that is the document; ``file:line`` for a line-based record (JSONL,
    CSV); ``file, row 7`` (Parquet), ``file, item 3`` (JSON) and ``file, record 12 (URI)`` (WARC) for the
    others. ``doc_id`` is the WARC record's URI.
    """
    if column is not None:
        return printable(f"{source}:{line}:{column}")
    unit = record_unit(source)
    if unit == "line":
        return printable(f"{source}:{line}")
    named = f" ({doc_id})" if unit == "record" and doc_id else ""
    return printable(f"{source}, {unit} {line}{named}")


def shown_path(source: str) -> str:
    """A source path as messages show it, with forward slashes: relative to the working folder when it lies
    in it (as editors and CI systems open it), else absolute (``../../data/x.html`` says less than
    ``/data/x.html``)."""
    absolute = os.path.abspath(source)
    try:
        relative = os.path.relpath(absolute)
    except ValueError:  # another drive on Windows
        return Path(absolute).as_posix()
    outside = relative == os.pardir or relative.startswith(os.pardir + os.sep)
    return Path(absolute if outside else relative).as_posix()


def places(blocks: pl.DataFrame, documents: pl.LazyFrame | pl.DataFrame) -> list[str]:
    """The place of each block, in order, named as ``place`` does with its file as ``shown_path`` shows it.

    Args:
        blocks: ``doc_id``, ``source_line`` and ``source_column`` of each block.
        documents: ``doc_id`` and ``source`` of (at least) their documents.
    """
    sources = documents.lazy().select(S.DOC_ID, S.SOURCE).join(blocks.lazy().select(S.DOC_ID).unique(), on=S.DOC_ID)
    source_of = dict(sources.collect().iter_rows())
    shown = {source: shown_path(source) for source in set(source_of.values())}
    return [
        place(shown[source_of[doc_id]], line, column, doc_id)
        for doc_id, line, column in blocks.select(S.DOC_ID, S.SOURCE_LINE, S.SOURCE_COLUMN).iter_rows()
    ]
