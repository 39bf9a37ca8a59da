"""What every writer shares: the cleaned documents it gets, the input it reads again, the output it writes.

A writer reads its input file again, record by record, in step with the documents that were read from it,
and checks each record against its document the way the reader made the document from it: a record that
no longer gives the scanned text is never written with offsets that do not fit it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dedup.errors import InputError
from dedup.formats.detect import compress, compression_of, input_opener
from dedup.formats.fields import looks_like_html_page, lookup, record_document
from dedup.formats.records import Document, Input
from dedup.options import ReadOptions
from dedup.writers.pages import cleaned_page


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

    @property
    def changed(self) -> bool:
        return self.text != self.document.text


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


def changed(source: str | Path, where: str) -> InputError:
    """The error of a record that is not what was scanned (``where``: ``:12``, ``, row 3``, ``, record 4``)."""
    return InputError(f"{source}{where}: changed since it was scanned; run clean again")


def source_input(source: Path) -> Input:
    """The input file to read again, with the compression its first bytes show (as ``sources.resolve`` finds it)."""
    with source.open("rb") as handle:
        head = handle.read(16)
    compression = compression_of(head)
    return Input(str(source), source.as_posix(), input_opener(source, compression), compression)


@contextmanager
def output(target: Path, compression: str | None) -> Iterator[BinaryIO]:
    """The cleaned copy to write, compressed as its input was."""
    with target.open("wb") as raw:
        if compression is None:
            yield raw
            return
        with compress(raw, compression) as packed:
            yield packed


def output_encoding(options: ReadOptions) -> str:
    """Outputs keep the encoding the user forced, else UTF-8 (what a detected legacy encoding is best turned into)."""
    return options.encoding or "utf-8"


def field_value(
    source: Input, number: int, unit: str, record: Mapping[str, object], cleaned: CleanedDocument, options: ReadOptions
) -> str:
    """The cleaned value of a record's text field: the cleaned text, or for a field that holds a page, the page
    without its cut blocks.

    The record is checked first: the reader's own ``record_document`` must make of it the document that
    was scanned (for a page, its extracted text is compared, not the markup).

    Raises:
        InputError: the record does not give the scanned document.
        OutputError: a cut block cannot be found in its page.
    """
    where = _where(number, unit)
    read = [r for r in record_document(record, number, source, options, unit) if isinstance(r, Document)]
    if not read or read[0].text != cleaned.document.text:
        raise changed(source.name, where)
    value = lookup(record, options.text_field)
    assert isinstance(value, str)  # record_document made a document of it
    if not cleaned.changed:
        return value
    if looks_like_html_page(value):
        return cleaned_page(value, cleaned, options, f"{source.name}{where}")
    return cleaned.text or ""


def _where(number: int, unit: str) -> str:
    return f":{number}" if unit == "line" else f", {unit} {number}"
