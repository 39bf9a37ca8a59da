"""What every writer shares: the cleaned documents it gets, the input it reads again, the output it writes.

A writer reads its input file again, record by record, in step with the documents that were read from it,
and checks each record against its document the way the reader made the document from it: a record that
no longer gives the scanned text is never written with offsets that do not fit it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dedup.errors import InputError, OutputError
from dedup.formats.detect import compress, compression_of
from dedup.formats.fields import looks_like_html_page, lookup, record_document
from dedup.formats.records import Document, Input
from dedup.options import ReadOptions


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
    """The error of a record that is not what was scanned (``where``: ``:12``, `` row 3``, ``, record 4``)."""
    return InputError(f"{source}{where}: changed since it was scanned; run clean again")


def source_input(source: Path) -> Input:
    """The input file to read again, with the compression its first bytes show (as ``sources.resolve`` finds it)."""
    with source.open("rb") as handle:
        head = handle.read(16)
    return Input(str(source), source.as_posix(), lambda: source.open("rb"), compression_of(head))


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
        return cleaned_page(value, cleaned, f"{source.name}{where}")
    return cleaned.text or ""


def _where(number: int, unit: str) -> str:
    return f":{number}" if unit == "line" else f", {unit} {number}"


# --- pages -------------------------------------------------------------------------------------------------------
# A page (an HTML field, a WARC body) is cleaned by removing its cut blocks from the markup, so that it stays
# a page. Everything here goes through ``remove_blocks`` with source offsets of the cut blocks in the page.


def cleaned_page(page: str, cleaned: CleanedDocument, where: str) -> str:
    """The page without the cut blocks of its document.

    Raises:
        OutputError: a cut block cannot be found in the page.
    """
    text = cleaned.document.text
    return remove_blocks(page, block_sources(page, [text[start:end] for start, end in cleaned.removed], where))


def remove_blocks(page: str, cut: list[tuple[int, int]]) -> str:
    """The page without the given spans of its source (for now: their text; ``html.remove_blocks`` will take
    the cut blocks' elements out)."""
    parts: list[str] = []
    position = 0
    for start, end in sorted(cut):
        parts.append(page[position:start])
        position = end
    parts.append(page[position:])
    return "".join(parts)


# Between two words of a block, the page may hold white space, tags and non-breaking spaces.
_GAP = r"(?:\s|&nbsp;|&#160;|&#xa0;|<[^>]*>)+"
_REFERENCES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "\xa0": "&nbsp;"}
_BODY = re.compile(r"<body[\s>]", re.IGNORECASE)


def block_sources(page: str, blocks: list[str], where: str) -> list[tuple[int, int]]:
    """Where each block's text stands in the page source, searched in order from the start of the body.

    The extracted text collapses white space and drops markup: a block is found as it is, or escaped, else
    as its words with any white space or tags between them (a character also as its character reference).

    Raises:
        OutputError: a block's words do not stand in the page in that order.
    """
    spans: list[tuple[int, int]] = []
    body = _BODY.search(page)
    position = body.end() if body is not None else 0
    for number, block in enumerate(blocks, start=1):
        span = _block_source(page, block, position)
        if span is None:
            raise OutputError(f"{where}: the text of cut block {number} is not found in the page; cannot clean it")
        spans.append(span)
        position = span[1]
    return spans


def _block_source(page: str, block: str, position: int) -> tuple[int, int] | None:
    """The first place from ``position`` on where the block stands as a whole paragraph (between tags or lines)."""
    for form in dict.fromkeys((block, html.escape(block, quote=False), html.escape(block))):
        at = page.find(form, position)
        while at >= 0:
            if _whole(page, at, at + len(form)):
                return at, at + len(form)
            at = page.find(form, at + 1)
    pattern = re.compile(_GAP.join(_word_pattern(word) for word in block.split()))
    return next((m.span() for m in pattern.finditer(page, position) if _whole(page, *m.span())), None)


def _whole(page: str, start: int, end: int) -> bool:
    """Whether the span is a whole paragraph of the page: a tag or a line break on either side (spaces aside)."""
    before = page[max(start - 200, 0) : start].rstrip(" \t")
    after = page[end : end + 200].lstrip(" \t")
    return before[-1:] in ("", ">", "\n") and after[:1] in ("", "<", "\n", "\r")


def _word_pattern(word: str) -> str:
    return "".join(_char_pattern(ch) for ch in word)


def _char_pattern(ch: str) -> str:
    """A character as the page may write it: itself, or (when markup or not ASCII) a character reference."""
    if ch.isascii() and ch not in _REFERENCES:
        return re.escape(ch)
    forms = [re.escape(ch), f"&#0*{ord(ch)};", f"&#[xX]0*{ord(ch):x};"]
    if ch in _REFERENCES:
        forms.append(re.escape(_REFERENCES[ch]))
    return "(?:" + "|".join(forms) + ")"
