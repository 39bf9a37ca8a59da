"""WARC crawl archives (``.warc``, ``.warc.gz``) through warcio.

Every HTTP ``response`` record whose body is HTML or text is a document with
the record's ``WARC-Target-URI`` as its id; every other record (requests,
metadata, images, ...) is counted and skipped with its kind as the reason. A
record cut off by the end of the file is skipped with a message naming it, and
the records before it are kept.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

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
UNIT = "record"


def read_warc(source: Input, options: ReadOptions) -> Iterator[Record]:
    """The HTML and text responses of a WARC file, one document per record."""
    number = 0
    with source.open() as stream:
        records = iter(ArchiveIterator(stream))
        while True:
            try:
                record = next(records)
            except StopIteration:
                return
            except _STREAM_ERRORS as exc:
                message = f"cannot read this record or any after it: the file is cut off or corrupt ({exc})"
                yield Skip(source.name, number + 1, "malformed WARC", message, UNIT)
                return
            number += 1
            yield from _documents(record, number, source, options)


def _documents(record: ArcWarcRecord, number: int, source: Input, options: ReadOptions) -> Iterator[Record]:
    name = source.name
    uri = (record.rec_headers.get_header("WARC-Target-URI") or "").strip("<>")
    doc_id = uri or f"{source.doc_id}:{number}"
    if record.rec_type != "response":
        yield Skip(name, number, f"WARC {record.rec_type} record", f"{record.rec_type} record, not a response", UNIT)
        return
    if record.http_headers is None:
        yield Skip(name, number, "WARC non-HTTP response", f"{doc_id}: response without HTTP headers", UNIT)
        return
    content_type = record.http_headers.get_header("Content-Type")
    kind = media_type(content_type)
    if kind and kind not in HTML_TYPES | TEXT_TYPES:
        yield Skip(name, number, "WARC body not HTML or text", f"{doc_id}: body is {kind}", UNIT)
        return
    try:
        body = record.content_stream().read()
    except _STREAM_ERRORS as exc:
        yield Skip(name, number, "malformed WARC", f"{doc_id}: cannot read the body ({exc})", UNIT)
        return
    missing = getattr(record.raw_stream, "limit", 0)  # what Content-Length promised and the file did not hold
    if missing:
        message = f"{doc_id}: cut off, the file ends {missing} bytes before the end of this record"
        yield Skip(name, number, "truncated record", message, UNIT)
        return
    yield from _body_documents(body, kind, charset_of(content_type), doc_id, number, name, options)


def _body_documents(
    body: bytes, kind: str, charset: str | None, doc_id: str, number: int, name: str, options: ReadOptions
) -> Iterator[Record]:
    is_html = kind in HTML_TYPES or (not kind and body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")))
    declared = charset or (meta_charset(body) if is_html else None)
    decoded = decode(body, declared=declared, forced=options.encoding)
    yield from decoding_warnings(decoded, name, number, UNIT)
    if is_html:
        yield from page_document(decoded.text, options, doc_id, name, number, UNIT)
    else:
        yield from finish_text(decoded.text, doc_id, name, number, UNIT, what="body")
