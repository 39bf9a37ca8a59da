"""Write cleaned documents back in the format of the file they came from.

A writer gets one input file, the path of its cleaned copy, and the documents
that were read from that file in read order, each with its cleaned text (or
``None`` when the document is dropped). It writes the copy with everything
else of every record unchanged, compressed as the input was (``.jsonl.zst`` in,
``.jsonl.zst`` out), reading and writing a record at a time, and never touches
the input. Formats plug in through ``WRITERS``, keyed by suffix like ``sources.READERS``.

Before a record is written, it is read again and must give the document that was
scanned, the way the reader made it (for a field or body that holds a page, the
page's extracted text): offsets that no longer fit are never applied.

Modules: ``base`` (what writers share), ``pages`` (pages held in records), ``text``, ``jsonl`` (JSON Lines, JSON),
``tables`` (CSV, TSV, Parquet), ``warc`` (WARC).
"""

from __future__ import annotations

from pathlib import Path

from dedup.formats.detect import COMPRESSION_SUFFIXES
from dedup.sources import READERS, Reader, read_text, reader_for
from dedup.writers.base import CleanedDocument, WriteFile, Writer
from dedup.writers.html import write_html
from dedup.writers.jsonl import write_json, write_jsonl
from dedup.writers.tables import write_csv, write_parquet, write_tsv
from dedup.writers.text import write_text
from dedup.writers.warc import write_warc

__all__ = [
    "WRITERS",
    "CleanedDocument",
    "WriteFile",
    "Writer",
    "write_csv",
    "write_html",
    "write_json",
    "write_jsonl",
    "write_parquet",
    "write_text",
    "write_tsv",
    "write_warc",
    "writer_for",
]

TEXT_WRITER = Writer(write_text)

WRITERS: dict[str, Writer] = {
    ".txt": TEXT_WRITER,
    ".text": TEXT_WRITER,
    ".md": TEXT_WRITER,
    ".markdown": TEXT_WRITER,
    ".rst": TEXT_WRITER,
    ".jsonl": Writer(write_jsonl),
    ".ndjson": Writer(write_jsonl),
    ".json": Writer(write_json),
    ".csv": Writer(write_csv),
    ".tsv": Writer(write_tsv),
    ".tab": Writer(write_tsv),
    ".parquet": Writer(write_parquet),
    ".pq": Writer(write_parquet),
    ".html": Writer(write_html),
    ".htm": Writer(write_html),
    ".warc": Writer(write_warc),
}


def writer_for(path: Path, reader: Reader | None = None) -> Writer:
    """The writer for an input file, by its suffix under any compression suffix (case-insensitive), else by
    the reader its content chose (a JSON Lines file named ``dump``).

    A file read as plain text keeps its name; a file of any other format
    without a writer of its own becomes a text file (``.txt``).
    """
    suffix = path.suffix.lower()
    if suffix in COMPRESSION_SUFFIXES:
        suffix = Path(path.stem).suffix.lower()
    writer = WRITERS.get(suffix)
    if writer is None and reader is not None:
        writer = WRITERS.get(next((s for s, r in READERS.items() if r is reader), ""))
    if writer is not None:
        return writer
    reader = reader or reader_for(path)
    return TEXT_WRITER if reader is None or reader is read_text else Writer(write_text, suffix=".txt")
