"""Cleaned copies of WARC files, written with warcio.

Every record is written again in its order; a response whose document was cut gets its body cleaned
(a page loses its cut blocks, a text body its cut text), its HTTP ``Content-Length`` set, and warcio
computes its WARC ``Content-Length``, ``WARC-Block-Digest`` and ``WARC-Payload-Digest`` anew. The body
keeps its charset and content encoding (gzip or deflate); a chunked body is written whole, with a
``Content-Length`` in place of its ``Transfer-Encoding``. Every other record, and every response that
was not cut, is copied with its headers and block as they were. A response whose document is dropped
(every block a repeat, or ``--drop-docs-over``) is not written; the records around it are.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from dedup.errors import OutputError
from dedup.formats.encoding import charset_of, media_type
from dedup.formats.records import Document, Input
from dedup.formats.warc import HTML_TYPES, decoded_body, http_head, inflated, record_documents
from dedup.options import ReadOptions
from dedup.writers.base import CleanedDocument, changed, output, source_input
from dedup.writers.pages import cleaned_page

_DIGESTS = ("WARC-Block-Digest", "WARC-Payload-Digest")


class _Writer(WARCWriter):  # type: ignore[misc]
    """warcio's writer, which leaves the digests of a record copied as it was alone.

    warcio adds the digests a record lacks; for a record read without its HTTP headers parsed, which is
    how a record is copied byte for byte, it would compute the payload digest over the whole block.
    """

    def ensure_digest(self, record: Any, block: bool = True, payload: bool = True) -> None:
        if getattr(record, "copied", False):
            return
        super().ensure_digest(record, block, payload)


def write_warc(source: Path, target: Path, documents: Iterable[CleanedDocument], options: ReadOptions) -> int:
    """Every record of the file again, the responses of cut documents cleaned (see the module).

    A ``.warc.gz`` is written a gzip member per record, as WARC files are; other compressions as one stream.

    Raises:
        InputError: a response no longer matches what was scanned.
        OutputError: warcio cannot read a record (a damaged file), or a cleaned text body cannot be encoded.
    """
    read = source_input(source)
    per_record_gzip = read.compression == "gzip"
    wanted: Iterator[CleanedDocument] = iter(documents)
    pending = next(wanted, None)
    written = number = 0
    with read.open() as stream, output(target, None if per_record_gzip else read.compression) as out:
        writer = _Writer(out, gzip=per_record_gzip)
        records = iter(ArchiveIterator(stream, no_record_parse=True))
        while True:
            number += 1
            record = _next_record(records, source, number)
            if record is None:
                break
            if pending is None or number != pending.document.source_line:
                record.copied = True
                writer.write_record(record)
                _check_whole(record, source, number)
                continue
            block = record.raw_stream.read()
            _check_whole(record, source, number)
            _check(read, number, record, block, pending, options)
            if pending.text is not None:
                _write_response(writer, read, number, record, block, pending, options)
                written += 1
            pending = next(wanted, None)
    if pending is not None:
        raise changed(source, f", record {pending.document.source_line}")
    return written


def _damaged(source: Path, number: int, why: str) -> OutputError:
    message = f"{source}, record {number}: {why}; clean writes a WARC again only when warcio reads every record whole"
    return OutputError(message)


def _next_record(records: Iterator[Any], source: Path, number: int) -> Any:
    """The next record as warcio reads it; None at the end.

    Raises:
        OutputError: warcio cannot read it, or reads no WARC headers where it stands.
    """
    try:
        record = next(records, None)
    except ArchiveLoadFailed as exc:
        raise _damaged(source, number, f"warcio cannot read it ({' '.join(str(exc).split())[:200]})") from exc
    if record is not None and (record.rec_type is None or record.length is None):
        raise _damaged(source, number, "warcio cannot read it (no WARC-Type or Content-Length)")
    return record


def _check_whole(record: Any, source: Path, number: int) -> None:
    """The file held the whole block its Content-Length claims (warcio reads a block cut off without a word)."""
    if getattr(record.raw_stream, "limit", 0) > 0:
        raise _damaged(source, number, f"cut off: its Content-Length claims {record.length:,} bytes, more than follow")


def _check(read: Input, number: int, record: Any, block: bytes, cleaned: CleanedDocument, options: ReadOptions) -> None:
    """The record must give the scanned document, as reading makes it.

    Raises:
        InputError: it does not.
    """
    fields: dict[str, str] = {}
    for name, value in record.rec_headers.headers:
        fields.setdefault(name.lower(), value)
    found = [r for r in record_documents(fields, block, number, read, options) if isinstance(r, Document)]
    if not found or found[0].text != cleaned.document.text:
        raise changed(read.name, f", record {number}")


def _write_response(
    writer: _Writer, read: Input, number: int, record: Any, block: bytes, cleaned: CleanedDocument, options: ReadOptions
) -> None:
    """The response again: as it was when its document is unchanged, else with its body cleaned."""
    if not cleaned.changed:
        record.raw_stream = io.BytesIO(block)
        record.copied = True
        writer.write_record(record)
        return
    head = http_head(block)
    assert head is not None  # the record gave a document (_check)
    http, body_start = head
    body = _cleaned_body(read, number, http, block[body_start:], cleaned, options)
    headers = StatusAndHeaders(
        record.rec_headers.statusline, list(record.rec_headers.headers), record.rec_headers.protocol
    )
    for name in (*_DIGESTS, "Content-Length"):
        headers.remove_header(name)
    uri = headers.get_header("WARC-Target-URI")
    cleaned_record = writer.create_warc_record(
        uri, "response", payload=io.BytesIO(body), length=len(body), warc_headers=headers, http_headers=http
    )
    writer.write_record(cleaned_record)


def _cleaned_body(
    read: Input, number: int, http: StatusAndHeaders, body: bytes, cleaned: CleanedDocument, options: ReadOptions
) -> bytes:
    """The body with the document's cuts, in its charset and content encoding; ``http`` updated to fit it."""
    if "chunked" in (http.get_header("Transfer-Encoding") or "").lower():
        body = ChunkedDataReader(io.BytesIO(body)).read()
        http.remove_header("Transfer-Encoding")
    encoding = (http.get_header("Content-Encoding") or "").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        body = inflated(body, encoding, options.max_document_bytes) or b""
    content_type = http.get_header("Content-Type")
    is_html = media_type(content_type) in HTML_TYPES
    decoded = decoded_body(body, is_html, charset_of(content_type), options)
    where = f"{read.name}, record {number}"
    if is_html:
        # Characters the page's charset cannot hold (U+FFFD for bytes that did not decode) become references.
        new = cleaned_page(decoded.text, cleaned, options, where).encode(decoded.encoding, errors="xmlcharrefreplace")
    else:
        try:
            new = (cleaned.text or "").encode(decoded.encoding)
        except UnicodeEncodeError as exc:
            raise OutputError(f"{where}: cannot encode the cleaned body as {decoded.encoding} ({exc.reason})") from exc
    if encoding in ("gzip", "x-gzip"):
        new = gzip.compress(new, mtime=0)
    elif encoding == "deflate":
        new = zlib.compress(new)
    http.replace_header("Content-Length", str(len(new)))
    return new
