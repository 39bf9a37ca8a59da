"""Write cleaned documents back in the format of the file they came from.

A writer gets one input file, the path of its cleaned copy, and the documents
that were read from that file in read order, each with its cleaned text (or
``None`` when the document is dropped). It writes the copy with everything
else of every record unchanged, and never touches the input. Formats plug in
through ``WRITERS``, keyed by file suffix like ``sources.READERS``.

Before a record is written, its text as read again from the file must equal
the text that was scanned: offsets that no longer fit are never applied.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dedup.errors import InputError, OutputError
from dedup.formats.encoding import clean_controls, decode, replace_lone_surrogates
from dedup.formats.fields import lookup
from dedup.formats.html import block_sources, meta_charset, read_page, remove_blocks
from dedup.options import ReadOptions
from dedup.sources import Document, read_text, reader_for


@dataclass(frozen=True, slots=True)
class CleanedDocument:
    """A document as read, and its text after cleaning (``None``: not written).

    Attributes:
        document: the document as read.
        text: its cleaned text, or ``None`` when it is not written.
        removed: the ``(start, end)`` offsets in ``document.text`` of each removed block, in order
            (what a page is cleaned by: its cut blocks' elements go).
    """

    document: Document
    text: str | None
    removed: tuple[tuple[int, int], ...] = ()


WriteFile = Callable[[Path, Path, Iterable[CleanedDocument], ReadOptions], int]


@dataclass(frozen=True, slots=True)
class Writer:
    """How to write the cleaned copy of one kind of file.

    Attributes:
        write: ``write(source, target, documents, options)`` writes ``target``
            and returns how many documents it wrote.
        suffix: the suffix of the cleaned copy; ``None`` keeps the input's.
    """

    write: WriteFile
    suffix: str | None = None


def _changed(source: Path, where: str) -> InputError:
    return InputError(f"{source}{where}: changed since it was scanned; run clean again")


def write_text(source: Path, target: Path, documents: Iterable[CleanedDocument], options: ReadOptions) -> int:
    """A file that is one document: its cleaned text, in the input's encoding.

    Raises:
        OutputError: the file held several documents (a record format that has
            no writer yet), or the text cannot be encoded.
    """
    cleaned = list(documents)
    if len(cleaned) != 1:
        raise OutputError(f"{source}: holds {len(cleaned)} documents and there is no writer for {source.suffix} files")
    text = cleaned[0].text
    if text is None:
        return 0
    try:
        target.write_bytes(text.encode(_output_encoding(options)))
    except UnicodeEncodeError as exc:
        message = f"{target}: cannot encode the text as {_output_encoding(options)} ({exc.reason})"
        raise OutputError(message) from exc
    return 1


def write_html(source: Path, target: Path, documents: Iterable[CleanedDocument], options: ReadOptions) -> int:
    """A page: itself without the elements of its cut blocks, every other byte as it was, so a mirror stays
    browsable (``formats.html.remove_blocks``). Characters its encoding cannot hold become character references.

    Raises:
        InputError: the page no longer gives the text that was scanned.
        OutputError: the file held several documents.
    """
    cleaned = list(documents)
    if len(cleaned) != 1:
        raise OutputError(f"{source}: holds {len(cleaned)} documents; a page is one")
    document, text = cleaned[0].document, cleaned[0].text
    if text is None:
        return 0
    raw = source.read_bytes()
    decoded = decode(raw, declared=meta_charset(raw), forced=options.encoding)
    page = read_page(decoded.text, options.html_drop_nav)
    if clean_controls(replace_lone_surrogates(page.text)[0])[0] != document.text:
        raise _changed(source, "")
    if not cleaned[0].removed:
        target.write_bytes(raw)
        return 1
    kept = remove_blocks(decoded.text, block_sources(page, list(cleaned[0].removed)))
    target.write_bytes(kept.encode(decoded.encoding, errors="xmlcharrefreplace"))
    return 1


def _output_encoding(options: ReadOptions) -> str:
    """Outputs keep the encoding the user forced, else UTF-8 (what a detected legacy encoding is best turned into)."""
    return options.encoding or "utf-8"


def _set_field(record: dict, dotted: str, value: str) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        record = record[part]
    record[last] = value


def _json_line(record: dict, encoding: str, ending: bytes) -> bytes:
    """The record as one JSON line; ASCII escapes only where the encoding needs them."""
    try:
        return json.dumps(record, ensure_ascii=False).encode(encoding) + ending
    except UnicodeEncodeError:
        return json.dumps(record, ensure_ascii=True).encode(encoding) + ending


def _ending(raw: bytes) -> bytes:
    if raw.endswith(b"\r\n"):
        return b"\r\n"
    return b"\n" if raw.endswith(b"\n") else b""


def write_jsonl(source: Path, target: Path, documents: Iterable[CleanedDocument], options: ReadOptions) -> int:
    """The records of the documents, in their order, each with only its text changed.

    A record whose text is unchanged is copied byte for byte; a changed record
    keeps its fields, their order and their values (it is serialized again).
    Lines that were not documents (skipped when reading) are not written.

    Raises:
        InputError: a record no longer matches what was scanned.
    """
    wanted: Iterator[CleanedDocument] = iter(documents)
    pending = next(wanted, None)
    written = 0
    with source.open("rb") as handle, target.open("wb") as out:
        for number, raw in enumerate(handle, start=1):
            if pending is None:
                break
            if number != pending.document.source_line:
                continue
            if pending.text is not None:
                out.write(_jsonl_record(source, number, raw, pending, options))
                written += 1
            pending = next(wanted, None)
    if pending is not None:
        raise _changed(source, f":{pending.document.source_line}")
    return written


def _jsonl_record(source: Path, number: int, raw: bytes, cleaned: CleanedDocument, options: ReadOptions) -> bytes:
    line = decode(raw.removeprefix(codecs.BOM_UTF8), forced=_output_encoding(options)).text
    try:
        record = json.loads(line, strict=False)  # as the reader parses it
    except json.JSONDecodeError:
        raise _changed(source, f":{number}") from None
    text = lookup(record, options.text_field)
    if not isinstance(text, str) or clean_controls(text)[0] != cleaned.document.text:
        raise _changed(source, f":{number}")
    if cleaned.text == cleaned.document.text:
        return raw if raw.endswith(b"\n") else raw + b"\n"
    _set_field(record, options.text_field, cleaned.text or "")
    return _json_line(record, _output_encoding(options), _ending(raw) or b"\n")


def write_parquet(source: Path, target: Path, documents: Iterable[CleanedDocument], options: ReadOptions) -> int:
    """The rows of the documents, in their order, with the text column replaced.

    Row ``r`` of the file (1-based, over all row groups) is the document whose
    ``source_line`` is ``r``. The schema, its metadata and every other column
    are kept; rows that were not documents are not written.

    Raises:
        OutputError: the text field is nested (``a.b``), which this writer does not handle.
        InputError: a row no longer matches what was scanned.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if "." in options.text_field:
        raise OutputError(f"{source}: cannot write a nested text field ({options.text_field}) to Parquet")
    parquet = pq.ParquetFile(source)
    schema = parquet.schema_arrow
    column = schema.get_field_index(options.text_field)
    if column < 0:
        raise _changed(source, "")
    wanted: Iterator[CleanedDocument] = iter(documents)
    pending = next(wanted, None)
    first_row = written = 0
    with pq.ParquetWriter(target, schema) as out:
        for batch in parquet.iter_batches():
            rows: list[int] = []
            texts: list[str] = []
            originals = batch.column(column).to_pylist()
            while pending is not None and pending.document.source_line <= first_row + batch.num_rows:
                row = pending.document.source_line - 1 - first_row
                if row < 0 or originals[row] != pending.document.text:
                    raise _changed(source, f" row {pending.document.source_line}")
                if pending.text is not None:
                    rows.append(row)
                    texts.append(pending.text)
                pending = next(wanted, None)
            first_row += batch.num_rows
            if rows:
                kept = pa.Table.from_batches([batch.take(pa.array(rows, type=pa.int64()))])
                kept = kept.set_column(column, schema.field(column), pa.array(texts, type=schema.field(column).type))
                out.write_table(kept)
                written += len(rows)
    if pending is not None:
        raise _changed(source, f" row {pending.document.source_line}")
    return written


TEXT_WRITER = Writer(write_text)

WRITERS: dict[str, Writer] = {
    ".txt": TEXT_WRITER,
    ".text": TEXT_WRITER,
    ".md": TEXT_WRITER,
    ".markdown": TEXT_WRITER,
    ".rst": TEXT_WRITER,
    ".jsonl": Writer(write_jsonl),
    ".ndjson": Writer(write_jsonl),
    ".parquet": Writer(write_parquet),
    ".html": Writer(write_html),
    ".htm": Writer(write_html),
}


def writer_for(path: Path) -> Writer:
    """The writer for an input file, by its suffix (case-insensitive).

    A file read as plain text keeps its name; a file of any other format
    without a writer of its own (HTML, say) becomes a text file (``.txt``).
    """
    writer = WRITERS.get(path.suffix.lower())
    if writer is not None:
        return writer
    reader = reader_for(path)
    return TEXT_WRITER if reader is None or reader is read_text else Writer(write_text, suffix=".txt")
