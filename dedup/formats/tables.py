"""Tables: CSV and TSV files (Python's csv module) and Parquet files (pyarrow).

Each row is a record; the id and text columns are ``ReadOptions.id_field`` and
``text_field``, and a dotted path reaches into Parquet structs (``meta.url``).
A file without the text column is one skip that names the columns it has; a
bad row is a skip naming its line (CSV) or row (Parquet).
"""

from __future__ import annotations

import codecs
import csv
import io
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from dedup.formats.encoding import decode, stream_encoding
from dedup.formats.fields import has_column, missing_column, record_document
from dedup.formats.records import (
    TOO_LARGE,
    Input,
    LongLine,
    PageReading,
    ReadWarning,
    Record,
    Skip,
    bounded_lines,
    error_text,
    read_whole,
    too_large,
)
from dedup.options import ReadOptions

PARQUET_BATCH_ROWS = 1024
ENCODING_SAMPLE_BYTES = 4 << 20  # as much as decode() looks at to guess a legacy encoding, and more


def read_csv(source: Input, options: ReadOptions) -> Iterator[Record | PageReading]:
    """A CSV file with a header row; one document per row."""
    yield from _read_delimited(source, options, ",")


def read_tsv(source: Input, options: ReadOptions) -> Iterator[Record | PageReading]:
    """A tab-separated file with a header row; one document per row."""
    yield from _read_delimited(source, options, "\t")


def _read_delimited(source: Input, options: ReadOptions, delimiter: str) -> Iterator[Record | PageReading]:
    """Rows from a stream of lines (see ``delimited_lines``); only one row is held at a time."""
    with delimited_lines(source, options) as lines:
        if isinstance(lines, Skip):
            yield lines
            return
        yield from _rows(lines, source, options, delimiter)
    if lines.replaced:
        message = f"{lines.replaced} undecodable byte sequence(s) replaced by U+FFFD (read as {lines.encoding})"
        yield ReadWarning(source.name, None, "undecodable bytes", message)


@contextmanager
def delimited_lines(source: Input, options: ReadOptions) -> Iterator[DelimitedLines | Skip]:
    """The decoded lines of a CSV or TSV file for ``csv.reader``, as its reader reads them (``clean`` reads
    them again so); the skip of a UTF-16/32 file too large to decode whole.

    Lines are decoded one by one in the encoding of the file's first megabytes, so a file of any size can
    be read; a row over ``max_document_bytes`` raises ``RowTooLarge`` (a row that long could be a quote
    never closed: what follows cannot be trusted to be rows). csv's field size limit is lifted meanwhile.
    """
    encoding = stream_encoding(source.head(ENCODING_SAMPLE_BYTES), forced=options.encoding)
    with _cells_of_any_size():
        if encoding.startswith(("utf-16", "utf-32")):  # lines cannot be split as bytes: decode the file whole
            raw = read_whole(source, options)
            if isinstance(raw, Skip):
                yield raw
                return
            decoded = decode(raw, forced=encoding)
            yield DelimitedLines.of_text(decoded.text, decoded.encoding, decoded.replaced)
            return
        with source.open() as handle:
            yield DelimitedLines(
                bounded_lines(handle, options.max_document_bytes), encoding, options.max_document_bytes
            )


# csv's field size limit is one for the whole process. Readers in several threads (a clean reads a file while its
# writer reads it again) raise it while any of them reads and put back the host program's limit after the last.
_cell_limit_lock = threading.Lock()
_cell_readers = 0
_cell_limit_before = 0


@contextmanager
def _cells_of_any_size() -> Iterator[None]:
    """csv's field size limit lifted while this reader reads: a scraped page in one cell is far over the
    default 128 KiB."""
    global _cell_readers, _cell_limit_before
    with _cell_limit_lock:
        if _cell_readers == 0:
            _cell_limit_before = csv.field_size_limit(sys.maxsize)
        _cell_readers += 1
    try:
        yield
    finally:
        with _cell_limit_lock:
            _cell_readers -= 1
            if _cell_readers == 0:
                csv.field_size_limit(_cell_limit_before)


class RowTooLarge(Exception):
    """A row grew past ``max_document_bytes`` while its lines were read."""


class DelimitedLines:
    """The decoded lines of a CSV stream for ``csv.reader``, with the bytes of the row being read counted."""

    def __init__(self, raw_lines: Iterable[bytes | LongLine], encoding: str, limit: int) -> None:
        self.encoding = encoding
        self._raw = iter(raw_lines)
        self._encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        self._bom = codecs.BOM_UTF8 if encoding == "utf-8-sig" else b""
        self._limit = limit
        self._pending: Iterator[str] = iter(())
        self.row_bytes = 0
        self.replaced = 0

    @classmethod
    def of_text(cls, text: str, encoding: str, replaced: int) -> DelimitedLines:
        """The lines of a text decoded whole (from ``encoding``, ``replaced`` byte sequences replaced)."""
        lines = cls((), encoding, sys.maxsize)
        lines._pending = io.StringIO(text, newline="")
        lines.replaced = replaced
        return lines

    def __iter__(self) -> DelimitedLines:
        return self

    def __next__(self) -> str:
        for line in self._pending:
            return line
        raw = next(self._raw)
        if isinstance(raw, LongLine) or self.row_bytes + len(raw) > self._limit:
            raise RowTooLarge
        self.row_bytes += len(raw)
        if self._bom:
            raw, self._bom = raw.removeprefix(self._bom), b""
        decoded = decode(raw, forced=self._encoding)
        self.replaced += decoded.replaced
        # Split again as csv's own reading of a file would (newline=""): a lone CR ends a line too.
        self._pending = io.StringIO(decoded.text, newline="")
        return next(self._pending)


def _rows(lines: DelimitedLines, source: Input, options: ReadOptions, delimiter: str) -> Iterator[Record | PageReading]:
    rows = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(rows, None)
    except csv.Error as exc:
        yield Skip(source.name, 1, "malformed CSV", f"malformed CSV header row ({exc}): the file is not read")
        return
    except RowTooLarge:
        yield too_large(source.name, 1, "line", options.max_document_bytes, "header row")
        return
    if header is None:
        return
    if not has_column(options.text_field, header):
        yield missing_column(header, _first_row(rows, header), source.name, options, "line")
        return
    line = 2  # where the next row starts: rows may span lines (quoted newlines)
    while True:
        lines.row_bytes = 0
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Skip(source.name, line, "malformed CSV", f"malformed CSV row ({exc})")
            line = rows.line_num + 1
            continue
        except RowTooLarge:
            skip = too_large(source.name, line, "line", options.max_document_bytes, "row")
            yield replace(skip, message=f"{skip.message}, nor the rest of the file")
            return
        number, line = line, rows.line_num + 1
        if not row:
            continue  # a blank line holds no record
        if len(row) != len(header):
            message = f"{len(row)} value(s) where the header has {len(header)} columns"
            yield Skip(source.name, number, "malformed CSV", message)
            continue
        yield from record_document(dict(zip(header, row, strict=True)), number, source, options)


def _first_row(rows: Iterator[list[str]], header: list[str]) -> dict[str, str] | None:
    """The first row of a CSV file as a record, for the suggestion of a text column; None when it has none."""
    try:
        row = next(rows, None)
    except (csv.Error, RowTooLarge):
        return None
    return dict(zip(header, row, strict=True)) if row is not None and len(row) == len(header) else None


def read_parquet(source: Input, options: ReadOptions) -> Iterator[Record | PageReading]:
    """A Parquet file; one document per row, read in batches of rows, row group by row group."""
    if source.compression is None:
        stream: BinaryIO = source.opener()
    else:  # Parquet needs to seek: the file is decompressed into memory, within max_document_bytes
        raw = read_whole(source, options, "compressed Parquet file")
        if isinstance(raw, Skip):
            yield raw
            return
        stream = io.BytesIO(raw)
    with stream:
        try:
            table = pq.ParquetFile(stream)
            columns = table.schema_arrow.names
        except _PARQUET_ERRORS as exc:
            yield Skip(source.name, None, "malformed Parquet", f"not a readable Parquet file ({error_text(exc)})")
            return
        if not has_column(options.text_field, columns):
            first_row = _first_parquet_row(table, options.max_document_bytes)
            yield missing_column(columns, first_row, source.name, options, "row")
            return
        wanted = [c for c in columns if c in (options.text_field, options.id_field) or c in _heads(options)]
        number = 0
        for group in range(table.num_row_groups):
            rows = table.metadata.row_group(group).num_rows
            oversized = _oversized_rows(table, group, wanted, options.max_document_bytes, number + 1)
            if oversized is not None:
                yield Skip(source.name, number + 1, TOO_LARGE, oversized, "row")
                number += rows
                continue
            try:
                for batch in table.iter_batches(PARQUET_BATCH_ROWS, row_groups=[group], columns=wanted):
                    for row in batch.to_pylist():
                        number += 1
                        yield from record_document(row, number, source, options, "row")
            except _PARQUET_ERRORS as exc:
                message = f"cannot read rows {number + 1} to {table.metadata.num_rows} ({error_text(exc)})"
                yield Skip(source.name, number + 1, "malformed Parquet", message, "row")
                return


def _first_parquet_row(table: pq.ParquetFile, limit: int) -> dict[str, object] | None:
    """The first row of a Parquet file, for the suggestion of a text column; None when it has none or is damaged.

    Only a row group within the size limit is read, as for the rows themselves (``_oversized_rows``).
    """
    if table.num_row_groups == 0 or table.metadata.row_group(0).num_rows == 0:
        return None
    if _oversized_rows(table, 0, table.schema_arrow.names, limit, 1) is not None:
        return None
    try:
        batch = next(table.iter_batches(1, row_groups=[0]), None)
        return batch.slice(0, 1).to_pylist()[0] if batch is not None and batch.num_rows else None
    except _PARQUET_ERRORS:
        return None


# pyarrow's errors on a damaged file; ValueError: a column name or value that is not UTF-8.
_PARQUET_ERRORS = (pa.ArrowException, OSError, ValueError)


def _oversized_rows(table: pq.ParquetFile, group: int, columns: list[str], limit: int, first: int) -> str | None:
    """Why a row group is not read: its rows hold more than ``limit`` bytes each on average, uncompressed.

    pyarrow decompresses a page at a time, and a page as large as the one value in it: a row of gigabytes
    packed into a few kilobytes (a decompression bomb) would be in memory before its size could be seen.
    The metadata tells a row group's size before it is read; rows that large on average hold at least
    one document over the limit. None when the row group can be read.
    """
    metadata = table.metadata.row_group(group)
    wanted = set(columns)
    size = sum(
        metadata.column(index).total_uncompressed_size
        for index in range(metadata.num_columns)
        if metadata.column(index).path_in_schema.split(".")[0] in wanted
    )
    if metadata.num_rows == 0 or size <= limit * metadata.num_rows:
        return None
    return (
        f"rows {first:,} to {first + metadata.num_rows - 1:,}: a row group holding {size:,} bytes uncompressed,"
        f" more than the limit of {limit:,} (--max-document-bytes) for each row: not read"
    )


def _heads(options: ReadOptions) -> tuple[str, ...]:
    """The top-level columns of the dotted paths read (text, id, and the keep field when asked for)."""
    fields = (options.text_field, options.id_field, *([options.keep_field] if options.keep_field else []))
    return tuple(name.split(".")[0] for name in fields)
