"""Cleaned copies of CSV and TSV files (row by row) and Parquet files (batch by batch).

A CSV row whose text changed keeps every other field as it was written: only the text field's characters
are replaced in the row. Rows that were not documents (skipped when reading) are not written.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dedup.errors import OutputError
from dedup.formats.records import Input, Skip, read_whole
from dedup.formats.tables import PARQUET_BATCH_ROWS, DelimitedLines, RowTooLarge, delimited_lines
from dedup.options import ReadOptions
from dedup.writers.base import CleanedDocument, changed, field_value, output, source_input


def write_csv(source: Path, target: Path, documents: Iterable[CleanedDocument], options: ReadOptions) -> int:
    """The header and the rows of the documents, in their order, each with only its text field changed.

    Raises:
        InputError: a row no longer matches what was scanned.
    """
    return _write_delimited(source, target, documents, options, ",")


def write_tsv(source: Path, target: Path, documents: Iterable[CleanedDocument], options: ReadOptions) -> int:
    """As ``write_csv``, for tab-separated files."""
    return _write_delimited(source, target, documents, options, "\t")


class _Taken:
    """The lines ``csv.reader`` takes, kept until the row they make is written."""

    def __init__(self, lines: DelimitedLines) -> None:
        self.lines = lines
        self.taken: list[str] = []

    def __iter__(self) -> _Taken:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.taken.append(line)
        return line

    def row_text(self) -> str:
        text = "".join(self.taken)
        self.taken.clear()
        return text


def _write_delimited(
    source: Path, target: Path, documents: Iterable[CleanedDocument], options: ReadOptions, delimiter: str
) -> int:
    """Rows read again as the reader reads them (line numbers, blank lines, bad rows alike)."""
    read = source_input(source)
    wanted: Iterator[CleanedDocument] = iter(documents)
    pending = next(wanted, None)
    written = 0
    with delimited_lines(read, options) as lines, output(target, read.compression) as out:
        if isinstance(lines, Skip):
            lines = DelimitedLines.of_text("", "utf-8", 0)
        # The output is UTF-8 (or the encoding forced), with a byte order mark when the input had one.
        encoding = options.encoding or ("utf-8-sig" if lines.encoding == "utf-8-sig" else "utf-8")
        encoder = codecs.getincrementalencoder(encoding)()
        taken = _Taken(lines)
        rows = csv.reader(taken, delimiter=delimiter, strict=True)
        try:
            header = next(rows, None)
        except (csv.Error, RowTooLarge):
            header = None
        if header is not None:
            out.write(encoder.encode(taken.row_text()))
        line = 2
        while header is not None and pending is not None:
            lines.row_bytes = 0
            try:
                row = next(rows)
            except StopIteration:
                break
            except csv.Error:
                taken.row_text()
                line = rows.line_num + 1
                continue
            except RowTooLarge:
                break
            number, line = line, rows.line_num + 1
            text = taken.row_text()
            if number != pending.document.source_line:
                continue
            if pending.text is not None:
                if len(row) != len(header):
                    raise changed(source, f":{number}")
                new_text = _row_with_text(read, number, text, header, row, pending, options, delimiter)
                out.write(encoder.encode(new_text))
                written += 1
            pending = next(wanted, None)
        out.write(encoder.encode("", final=True))
    if pending is not None:
        raise changed(source, f":{pending.document.source_line}")
    return written


def _row_with_text(
    read: Input,
    number: int,
    text: str,
    header: list[str],
    row: list[str],
    cleaned: CleanedDocument,
    options: ReadOptions,
    delimiter: str,
) -> str:
    """The row's text with the text field's value replaced by its cleaned value, the rest as it was."""
    record = dict(zip(header, row, strict=True))
    value = field_value(read, number, "line", record, cleaned, options)
    column = len(header) - 1 - header[::-1].index(options.text_field)  # the last of a repeated name, as dict() takes
    if value == row[column]:
        return text
    start, end = _field_spans(text, delimiter)[column]
    quoted = text.startswith('"', start)
    replaced = text[:start] + _field_text(value, delimiter, quoted) + text[end:]
    expected = [*row[:column], value, *row[column + 1 :]]
    if _parsed_row(replaced, delimiter) == expected:
        return replaced
    # A row the field scan misread: written again whole, every value as it was read.
    serialized = io.StringIO()
    ending = text[len(text.rstrip("\r\n")) :] or "\n"
    csv.writer(serialized, delimiter=delimiter, lineterminator=ending).writerow(expected)
    return serialized.getvalue()


def _field_spans(text: str, delimiter: str) -> list[tuple[int, int]]:
    """Where each field of a row stands in its text (a well-formed row, as ``csv.reader(strict=True)`` takes)."""
    spans: list[tuple[int, int]] = []
    row_end = len(text.rstrip("\r\n"))
    position = 0
    while True:
        start = position
        if text.startswith('"', position):
            position += 1
            while True:
                quote = text.find('"', position)
                if quote < 0:
                    return spans  # not well-formed: the check after the splice sees it
                if text.startswith('"', quote + 1):
                    position = quote + 2
                    continue
                position = quote + 1
                break
        else:
            found = text.find(delimiter, position, row_end)
            position = row_end if found < 0 else found
        spans.append((start, position))
        if position >= row_end:
            return spans
        position += 1  # the delimiter


def _field_text(value: str, delimiter: str, quoted: bool) -> str:
    """A field as written: quoted when it was, or when its characters need it."""
    if quoted or not value or any(ch in value for ch in (delimiter, '"', "\r", "\n")):
        return '"' + value.replace('"', '""') + '"'
    return value


def _parsed_row(text: str, delimiter: str) -> list[str] | None:
    try:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True), None)
    except csv.Error:
        return None


def write_parquet(source: Path, target: Path, documents: Iterable[CleanedDocument], options: ReadOptions) -> int:
    """The rows of the documents, in their order, with the text column replaced.

    Row ``r`` of the file (1-based, over all row groups) is the document whose
    ``source_line`` is ``r``. The schema, its metadata and every other column
    are kept; rows that were not documents are not written. A compressed file
    (``.parquet.gz``) is read into memory as its reader reads it, and compressed again.

    Raises:
        OutputError: the text field is nested (``a.b``), which this writer does not handle.
        InputError: a row no longer matches what was scanned.
    """
    if "." in options.text_field:
        raise OutputError(f"{source}: cannot write a nested text field ({options.text_field}) to Parquet")
    read = source_input(source)
    if read.compression is None:
        parquet = pq.ParquetFile(source)
    else:
        raw = read_whole(read, options, "compressed Parquet file")
        if isinstance(raw, Skip):
            raise changed(source, "")
        parquet = pq.ParquetFile(pa.BufferReader(raw))
    schema = parquet.schema_arrow
    column = schema.get_field_index(options.text_field)
    if column < 0:
        raise changed(source, "")
    with output(target, read.compression) as out, pq.ParquetWriter(pa.PythonFile(out, mode="w"), schema) as writer:
        return _write_rows(read, parquet, writer, column, iter(documents), options)


def _write_rows(
    read: Input,
    parquet: pq.ParquetFile,
    writer: pq.ParquetWriter,
    column: int,
    wanted: Iterator[CleanedDocument],
    options: ReadOptions,
) -> int:
    schema = parquet.schema_arrow
    pending = next(wanted, None)
    first_row = written = 0
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):  # as many rows as the reader holds
        rows: list[int] = []
        texts: list[str] = []
        originals = batch.column(column).to_pylist()
        while pending is not None and pending.document.source_line <= first_row + batch.num_rows:
            row = pending.document.source_line - 1 - first_row
            if row < 0 or not isinstance(originals[row], str):
                raise changed(read.name, f", row {pending.document.source_line}")
            if pending.text is not None:
                record = {options.text_field: originals[row]}
                rows.append(row)
                texts.append(field_value(read, pending.document.source_line, "row", record, pending, options))
            pending = next(wanted, None)
        first_row += batch.num_rows
        if rows:
            kept = pa.Table.from_batches([batch.take(pa.array(rows, type=pa.int64()))])
            kept = kept.set_column(column, schema.field(column), pa.array(texts, type=schema.field(column).type))
            writer.write_table(kept)
            written += len(rows)
    if pending is not None:
        raise changed(read.name, f", row {pending.document.source_line}")
    return written
