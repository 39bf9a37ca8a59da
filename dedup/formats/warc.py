"""WARC crawl archives (``.warc``, ``.warc.gz``) through warcio.

Every HTTP ``response`` record whose body is HTML or text is a document with
the record's ``WARC-Target-URI`` as its id; every other record (requests,
metadata, images, ...) is counted and skipped with its kind as the reason. A
record cut off by the end of the file is skipped with a message naming it, and
the records before it are kept.
"""

from __future__ import annotations

import shutil
import tempfile
import zlib
from collections.abc import Iterator
from typing import BinaryIO, cast

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord

from dedup.formats.encoding import charset_of, decode, media_type
from dedup.formats.html import meta_charset, page_document
from dedup.formats.records import Input, Record, Skip, decoding_warnings, finish_text
from dedup.options import ReadOptions

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown"})
# warcio fails on a file cut inside a record's headers with AttributeError or TypeError from its
# internals, not with an error of its own; each means the same: the rest of the file cannot be read.
_STREAM_ERRORS = (ArchiveLoadFailed, EOFError, OSError, ValueError, AttributeError, TypeError, zlib.error)
_TAIL_BYTES = 4096
_DRAIN_BYTES = 1 << 20
UNIT = "record"


def read_warc(source: Input, options: ReadOptions) -> Iterator[Record]:
    """The HTML and text responses of a WARC file, one document per record."""
    number = end = 0
    with _seekable(source) as stream:
        archive = ArchiveIterator(stream)
        records = iter(archive)
        while True:
            try:
                record = next(records)
            except StopIteration:
                break
            except _STREAM_ERRORS as exc:
                message = f"cannot read this record or any after it: the file is cut off or corrupt ({exc})"
                yield Skip(source.name, number + 1, "malformed WARC", message, UNIT)
                return
            number += 1
            yield from _records(record, number, source, options)
            end = archive.get_record_offset() + archive.get_record_length()
        # warcio ends quietly when the file stops inside a record's headers: look at what is left.
        stream.seek(end)
        if stream.read(_TAIL_BYTES).strip(b"\r\n"):
            message = f"the file ends inside this record: what follows record {number} is no complete record"
            yield Skip(source.name, number + 1, "truncated record", message, UNIT)


def _seekable(source: Input) -> BinaryIO:
    """The archive as a seekable stream; the gzip members of a .warc.gz are left to warcio.

    warcio decompresses a .warc.gz member by member, so a cut-off last member spoils only its
    own record; decompressing the whole file first would fail the read that reaches the cut.
    """
    if source.compression in (None, "gzip"):
        return source.opener()
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - returned open: the caller closes it
    with source.open() as stream:
        shutil.copyfileobj(stream, spool)
    spool.seek(0)
    return cast(BinaryIO, spool)


def _records(record: ArcWarcRecord, number: int, source: Input, options: ReadOptions) -> Iterator[Record]:
    """What one WARC record gives: a document, or the skip that says why not."""
    name = source.name
    uri = (record.rec_headers.get_header("WARC-Target-URI") or "").strip("<>")
    doc_id = uri or f"{source.doc_id}:{number}"
    if not record.rec_headers.get_header("Content-Length"):
        yield Skip(name, number, "malformed WARC", "record without Content-Length (headers cut off?)", UNIT)
        return
    content_type = record.http_headers.get_header("Content-Type") if record.http_headers else None
    kind = media_type(content_type)
    wanted = record.rec_type == "response" and record.http_headers is not None and kind in HTML_TYPES | TEXT_TYPES
    try:
        body = record.content_stream().read() if wanted else _drain(record)
    except _STREAM_ERRORS as exc:
        yield Skip(name, number, "malformed WARC", f"{doc_id}: cannot read the record ({exc})", UNIT)
        return
    missing = getattr(record.raw_stream, "limit", 0)  # what Content-Length promised and the file did not hold
    if missing:
        message = f"{doc_id}: cut off, the file ends {missing} bytes before the end of this record"
        yield Skip(name, number, "truncated record", message, UNIT)
    elif record.rec_type != "response":
        message = f"{record.rec_type} record, not a response"
        yield Skip(name, number, f"WARC {record.rec_type} record", message, UNIT, expected=True)
    elif record.http_headers is None and media_type(record.content_type) == "application/http":
        yield Skip(name, number, "malformed WARC", f"{doc_id}: its HTTP headers cannot be read (cut off?)", UNIT)
    elif record.http_headers is None:
        message = f"{doc_id}: response without HTTP headers"  # e.g. a crawler's dns: lookups
        yield Skip(name, number, "WARC non-HTTP response", message, UNIT, expected=True)
    elif not wanted:
        message = f"{doc_id}: body is {kind or 'of no type'}"
        yield Skip(name, number, "WARC body not HTML or text", message, UNIT, expected=True)
    else:
        yield from _body_documents(body, kind, charset_of(content_type), doc_id, number, name, options)


def _drain(record: ArcWarcRecord) -> bytes:
    """Read a record that is not wanted to its end, to learn whether the file holds all of it."""
    while record.raw_stream.read(_DRAIN_BYTES):
        pass
    return b""


def _body_documents(
    body: bytes, kind: str, charset: str | None, doc_id: str, number: int, name: str, options: ReadOptions
) -> Iterator[Record]:
    is_html = kind in HTML_TYPES
    declared = charset or (meta_charset(body) if is_html else None)
    decoded = decode(body, declared=declared, forced=options.encoding)
    yield from decoding_warnings(decoded, name, number, UNIT)
    if is_html:
        yield from page_document(decoded.text, options, doc_id, name, number, UNIT)
    else:
        yield from finish_text(decoded.text, doc_id, name, number, UNIT, what="body")
