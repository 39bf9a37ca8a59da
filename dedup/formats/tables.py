"""Tables: CSV and TSV files (Python's csv module) and Parquet files (pyarrow).

Each row is a record; the id and text columns are ``ReadOptions.id_field`` and
``text_field``, and a dotted path reaches into Parquet structs (``meta.url``).
A file without the text column is one skip that names the columns it has; a
bad row is a skip naming its line (CSV) or row (Parquet).
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator, Sequence
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from dedup.formats.encoding import decode
from dedup.formats.fields import record_document
from dedup.formats.records import Input, Record, Skip, decoding_warnings
from dedup.options import ReadOptions

PARQUET_BATCH_ROWS = 1024


def read_csv(source: Input, options: ReadOptions) -> Iterator[Record]:
    """A CSV file with a header row; one document per row."""
    yield from _read_delimited(source, options, ",")


def read_tsv(source: Input, options: ReadOptions) -> Iterator[Record]:
    """A tab-separated file with a header row; one document per row."""
    yield from _read_delimited(source, options, "\t")


def _read_delimited(source: Input, options: ReadOptions, delimiter: str) -> Iterator[Record]:
    # The whole file is decoded at once, so that its encoding is detected from all of it.
    decoded = decode(source.read_bytes(), forced=options.encoding)
    yield from decoding_warnings(decoded, source.name, None)
    if not decoded.text.strip():
        return
    rows = csv.reader(io.StringIO(decoded.text, newline=""), delimiter=delimiter, strict=True)
    limit = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)  # a scraped page in one cell is far over the default 128 KiB
    try:
        yield from _rows(rows, source, options)
    finally:
        csv.field_size_limit(limit)


def _rows(rows: Iterator[list[str]], source: Input, options: ReadOptions) -> Iterator[Record]:
    header = next(rows, None)
    if header is None:
        return
    missing = _missing_column(options.text_field, header, source.name)
    if missing is not None:
        yield missing
        return
    line = 2  # where the next row starts: rows may span lines (quoted newlines)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Skip(source.name, line, "malformed CSV", f"malformed CSV row ({exc})")
            line = rows.line_num + 1  # type: ignore[attr-defined]
            continue
        number, line = line, rows.line_num + 1  # type: ignore[attr-defined]
        if not row:
            continue  # a blank line holds no record
        if len(row) != len(header):
            message = f"{len(row)} value(s) where the header has {len(header)} columns"
            yield Skip(source.name, number, "malformed CSV", message)
            continue
        yield from record_document(dict(zip(header, row, strict=True)), number, source, options)


def _missing_column(text_field: str, columns: Sequence[str], name: str, unit: str = "line") -> Skip | None:
    """A skip of the whole file when it has no column for the text field."""
    if text_field in columns or text_field.split(".")[0] in columns:
        return None
    shown = ", ".join(repr(c) for c in columns[:20]) + (", …" if len(columns) > 20 else "")
    message = f"no column {text_field!r} (columns: {shown}); choose the text column with --text-field"
    return Skip(name, None, "missing text", message, unit)


def read_parquet(source: Input, options: ReadOptions) -> Iterator[Record]:
    """A Parquet file; one document per row, read in batches of rows."""
    with source.open() as raw:
        stream: BinaryIO = raw if source.compression is None else io.BytesIO(raw.read())  # Parquet needs to seek
        try:
            table = pq.ParquetFile(stream)
        except (pa.ArrowException, OSError) as exc:
            yield Skip(source.name, None, "malformed Parquet", f"not a readable Parquet file ({exc})")
            return
        columns = table.schema_arrow.names
        missing = _missing_column(options.text_field, columns, source.name, "row")
        if missing is not None:
            yield missing
            return
        wanted = [c for c in columns if c in (options.text_field, options.id_field) or c in _heads(options)]
        number = 0
        try:
            for batch in table.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=wanted):
                for row in batch.to_pylist():
                    number += 1
                    yield from record_document(row, number, source, options, "row")
        except (pa.ArrowException, OSError) as exc:
            message = f"cannot read rows {number + 1} to {table.metadata.num_rows} ({exc})"
            yield Skip(source.name, number + 1, "malformed Parquet", message, "row")


def _heads(options: ReadOptions) -> tuple[str, str]:
    """The top-level columns of dotted paths."""
    return options.text_field.split(".")[0], options.id_field.split(".")[0]
