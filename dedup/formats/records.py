"""What every format reader speaks: the input it reads and the records it yields.

A reader turns one ``Input`` into a stream of records: a ``Document`` for every
document it holds, a ``Skip`` for every record it could not use (with the file,
the line or record number and the reason), and a ``ReadWarning`` for something
it repaired on the way (the document is still scanned). One bad record never
stops a scan, and none is lost silently.
"""

from __future__ import annotations

import io
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import BinaryIO, Protocol

import polars as pl

from dedup import schema as S
from dedup.formats.detect import decompress, decompressed_head
from dedup.formats.encoding import Decoded, clean_controls, replace_lone_surrogates
from dedup.options import ReadOptions
from dedup.terminal import printable

TOO_LARGE = "document too large"
STDIN_NAME = "<stdin>"  # how messages name standard input (``-``)
FILE_IS_TEXT = (0, 1, 1, 1)  # the anchors of a file that is its text: text line and column are the file's
_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Document:
    """One document: its id, its text and where it came from.

    ``source_line`` is the line (text formats), row (CSV, Parquet) or record
    (WARC) of the document in its source, 1-based. ``anchors`` place the text in
    a file that is the document (a text file, a page): ``(text offset, text
    line, source line, source column)`` of points of the text, flattened, in
    order (see ``dedup.locations``); None for a record of a file. ``keep_value``
    is the value of ``ReadOptions.keep_field`` in its record, when that is asked
    for (else None).
    """

    doc_id: str
    text: str
    source: str
    source_line: int = 1
    anchors: tuple[int, ...] | None = None
    keep_value: object = None


@dataclass(frozen=True, slots=True)
class Skip:
    """A record, file or folder that was not scanned, and why.

    Attributes:
        source: the file (or folder) as named in messages.
        line: where in it: a line, row or record number (see ``unit``), or None for the whole file.
        reason: a short category, the key of the skip counts.
        message: what happened, for people.
        unit: what ``line`` counts: ``line``, ``row``, ``record`` or ``item``.
        expected: the record holds no document by its nature (a WARC request record, an image
            response), which is no fault of the input: counted like any skip, but ``--strict`` lets it pass.
    """

    source: str
    line: int | None
    reason: str
    message: str
    unit: str = "line"
    expected: bool = False

    def __str__(self) -> str:
        """The skip as people read it, made safe to print (see ``dedup.terminal``).

        This is where every skip and warning becomes text, so escaping here covers each place one is
        shown; the fields themselves keep the input's exact text (for ``--json`` and ``scan.json``).
        """
        if self.line is None:
            where = self.source
        elif self.unit == "line":
            where = f"{self.source}:{self.line}"
        else:
            where = f"{self.source}, {self.unit} {self.line}"
        return printable(f"{where}: {self.message}")


@dataclass(frozen=True, slots=True)
class ReadWarning(Skip):
    """Something repaired while reading (the record is still scanned)."""


# The columns of documents as a table, in this order: what a run of ``Document`` becomes for the stages.
DOCUMENT_COLUMNS: dict[str, pl.DataType | type[pl.DataType]] = {
    S.DOC_ID: pl.String,
    S.TEXT: pl.String,
    S.SOURCE: pl.String,
    S.SOURCE_LINE: pl.Int64,
    S.ANCHORS: pl.List(pl.Int64),
}


_NO_ANCHORS = pl.lit(None, dtype=pl.List(pl.Int64)).alias(S.ANCHORS)


@dataclass(frozen=True, slots=True)
class DocumentFrame:
    """A run of documents read at once (JSON lines parsed in bulk), in order, as a table.

    Every row is exactly the ``Document`` that reading the record on its own would give;
    a reader yields one only when that holds for every row (see ``dedup.formats.jsonl``).

    Attributes:
        frame: one row per document, with the columns of ``DOCUMENT_COLUMNS``.
        chars: the characters of all its texts together (batches are cut by characters).
    """

    frame: pl.DataFrame
    chars: int

    def documents(self) -> Iterator[Document]:
        """The documents one by one, for callers that take them so."""
        # A frame without anchors holds records (placed by their line), as every bulk reader's does.
        frame = self.frame if S.ANCHORS in self.frame.columns else self.frame.with_columns(_NO_ANCHORS)
        for doc_id, text, source, source_line, anchors in frame.select(list(DOCUMENT_COLUMNS)).iter_rows():
            yield Document(doc_id, text, source, source_line, None if anchors is None else tuple(anchors))


Record = Document | DocumentFrame | Skip


class PageReading:
    """A page inside a record, being read in another process (``Input.pages``): what ``page_document`` makes of
    it, to be taken in its place among the reader's records (``pages_in_order``)."""

    def __init__(self, reading: Future[list[Record]], size: int, lost: Callable[[], list[Record]]) -> None:
        self.reading = reading
        self.size = size
        self._lost = lost

    def records(self) -> list[Record]:
        """Its records, once read; what ``lost`` says instead when the process reading it died."""
        try:
            return self.reading.result()
        except BrokenProcessPool:
            return self._lost()


class PagesElsewhere(Protocol):
    """Reads pages in other processes (``dedup.sources.page_processes``)."""

    def read_page(
        self, html: str, options: ReadOptions, doc_id: str, name: str, line: int | None, unit: str
    ) -> PageReading | None:
        """The page as it is being read elsewhere, or None to read it here."""
        ...


def pages_in_order(records: Iterator[Record | PageReading], ahead: int, ahead_chars: int) -> Iterator[Record]:
    """A reader's records with the pages read elsewhere in their places: at most ``ahead`` of them (and
    ``ahead_chars`` of their text) are read ahead of the record taken.

    When reading fails, the records before the failure are given first, as a reader that reads in turn gives
    them, and then the exception is raised.
    """
    waiting: deque[Record | PageReading] = deque()
    pages = chars = 0
    try:
        while True:
            try:
                record = next(records)
            except StopIteration:
                break
            except Exception:  # reading failed: the records before come first (a page that fails raises as taken)
                yield from _taken_in_turn(waiting)
                raise
            waiting.append(record)
            if isinstance(record, PageReading):
                pages, chars = pages + 1, chars + record.size
            while waiting and (not isinstance(waiting[0], PageReading) or pages > ahead or chars > ahead_chars):
                first = waiting.popleft()
                if isinstance(first, PageReading):
                    pages, chars = pages - 1, chars - first.size
                    yield from first.records()
                else:
                    yield first
        yield from _taken_in_turn(waiting)
    finally:  # the consumer stopped early: pages not yet taken are not read
        for left in waiting:
            if isinstance(left, PageReading):
                left.reading.cancel()


def _taken_in_turn(waiting: deque[Record | PageReading]) -> Iterator[Record]:
    while waiting:
        first = waiting.popleft()
        yield from first.records() if isinstance(first, PageReading) else (first,)


@dataclass(frozen=True, slots=True)
class Input:
    """One thing to read: a file, or a stream such as standard input.

    Attributes:
        name: how messages name it: the path as found, or ``<stdin>``.
        doc_id: the id of a single-document input, and the prefix of the ids of
            records that carry none (``<doc_id>:<line>``).
        opener: returns a new raw binary stream positioned at the start.
        compression: the codec to undo while reading (``gzip``, ``zstd``, ``bz2``, ``xz``), or None.
        first_line: the number of the first line ``opener`` gives: 1 unless the input is a piece of a
            file that starts further on (``dedup.sources.Piece``).
        pages: where pages inside its records may be read (other processes), or None: here.
    """

    name: str
    doc_id: str
    opener: Callable[[], BinaryIO]
    compression: str | None = None
    first_line: int = 1
    pages: PagesElsewhere | None = None

    def open(self) -> BinaryIO:
        """A new stream of the (decompressed) bytes."""
        return decompress(self.opener(), self.compression)

    def head(self, size: int) -> bytes:
        """The first (decompressed) bytes, at most ``size``: as far as they go in a cut or corrupt file, never an error.

        Raises:
            OSError: the file cannot be read.
        """
        with self.opener() as raw:
            data = raw.read(size)
        return data if self.compression is None else decompressed_head(data, self.compression, size)


Reader = Callable[[Input, ReadOptions], Iterator[Record | PageReading]]


def read_whole(source: Input, options: ReadOptions, what: str = "file") -> bytes | Skip:
    """All (decompressed) bytes of an input that is read whole, or the skip of one over ``max_document_bytes``.

    No more than one byte over the limit is ever read: a file that decompresses to gigabytes costs the
    memory of the limit, and one whose size is known is not read at all.

    Raises:
        OSError, EOFError and the other ``DECOMPRESSION_ERRORS``: the file cannot be read, or its compressed
            data is cut off or corrupt.
    """
    limit = options.max_document_bytes
    with source.open() as handle:
        size = _size_on_disk(handle) if source.compression is None else None
        if size is not None and size > limit:
            return too_large(source.name, None, "line", limit, what, size)
        data = handle.read() if size is not None else _read_at_most(handle, limit + 1)
    if len(data) > limit:
        return too_large(source.name, None, "line", limit, what)
    return data


def _read_at_most(handle: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes, read in chunks (one read of ``size`` would allocate all of it at once).

    Gathered in a BytesIO, whose buffer grows in place and becomes the result without a copy: joining a
    list of chunks would hold the data twice at the end.
    """
    gathered = io.BytesIO()
    while (wanted := size - gathered.tell()) > 0 and (part := handle.read(min(_CHUNK_BYTES, wanted))):
        gathered.write(part)
    return gathered.getvalue()


def _size_on_disk(handle: BinaryIO) -> int | None:
    try:
        return os.fstat(handle.fileno()).st_size
    except (OSError, AttributeError, ValueError):  # not a file of its own
        return None


def too_large(source: str, line: int | None, unit: str, limit: int, what: str, size: int | None = None) -> Skip:
    """The skip of a document over ``max_document_bytes``, with its size when it is known."""
    size_text = f"{size:,} bytes" if size is not None else f"more than {limit:,} bytes"
    message = f"{what} of {size_text}, over the limit of {limit:,} (--max-document-bytes): not read"
    return Skip(source, line, TOO_LARGE, message, unit)


@dataclass(frozen=True, slots=True)
class LongLine:
    """A line longer than the limit: read through to its end, not kept.

    Attributes:
        size: its length in bytes, line ending included.
    """

    size: int


def bounded_lines(handle: BinaryIO, limit: int) -> Iterator[bytes | LongLine]:
    """The lines of a stream, each with its line ending; a line of more than ``limit`` bytes is a ``LongLine``.

    No more of a line than the limit and a chunk (1 MiB) is ever held: a line of gigabytes is counted, not kept.

    Raises:
        OSError, EOFError and the other ``DECOMPRESSION_ERRORS``: from reading (a line the cut stops is lost).
    """
    while part := handle.readline(_CHUNK_BYTES):
        line = part if part.endswith(b"\n") or len(part) < _CHUNK_BYTES else _rest_of_line(handle, part, limit)
        if isinstance(line, bytes) and len(line) - line.endswith(b"\n") > limit:  # the line ending does not count
            line = LongLine(len(line))
        yield line


def _rest_of_line(handle: BinaryIO, start: bytes, limit: int) -> bytes | LongLine:
    """A line longer than a chunk, gathered (in a BytesIO: no copy at the end) up to just over the limit."""
    gathered = io.BytesIO(start)
    gathered.seek(0, io.SEEK_END)
    while gathered.tell() <= limit + 1 and (part := handle.readline(_CHUNK_BYTES)):
        gathered.write(part)
        if part.endswith(b"\n"):
            return gathered.getvalue()
    if gathered.tell() <= limit + 1:  # the end of the stream ends the line
        return gathered.getvalue()
    size = gathered.tell()
    del gathered
    while part := handle.readline(_CHUNK_BYTES):
        size += len(part)
        if part.endswith(b"\n"):
            break
    return LongLine(size)


def shown_bytes(data: bytes, limit: int = 40) -> str:
    """Bytes of an input quoted in a message: as a Python bytes literal, at most ``limit`` of them."""
    return repr(data[:limit]) + ("…" if len(data) > limit else "")


def decoding_warnings(decoded: Decoded, source: str, line: int | None, unit: str = "line") -> Iterator[ReadWarning]:
    """A counted warning when decoding replaced bytes."""
    if decoded.replaced:
        message = f"{decoded.replaced} undecodable byte sequence(s) replaced by U+FFFD (read as {decoded.encoding})"
        yield ReadWarning(source, line, "undecodable bytes", message, unit)


def finish_text(
    text: str,
    doc_id: str,
    source: str,
    line: int | None,
    unit: str = "line",
    what: str = "text",
    anchors: tuple[int, ...] | None = None,
) -> Iterator[Record]:
    """The document of a decoded text: control characters repaired, empty text skipped.

    ``line`` is where the text stands in its source, None for a whole file. ``anchors`` place the text in
    its file (see ``Document``); a whole file without them is its own text, which starts at line 1, column 1.
    """
    text, surrogates = replace_lone_surrogates(text)
    if surrogates:
        yield ReadWarning(source, line, "lone surrogates", f"{surrogates} lone surrogate(s) replaced by U+FFFD", unit)
    cleaned, controls = clean_controls(text)  # "" when there are none
    if controls:
        yield ReadWarning(source, line, "control characters", f"{controls} replaced by spaces", unit)
    if not cleaned.strip():
        yield Skip(source, line, "empty", f"empty {what}", unit)
        return
    if anchors is None and line is None:
        anchors = FILE_IS_TEXT
    yield Document(doc_id, cleaned, source, line or 1, anchors)


def error_text(exc: BaseException, limit: int = 300) -> str:
    """An exception's message for a skip: on one line, at most ``limit`` characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "…"
