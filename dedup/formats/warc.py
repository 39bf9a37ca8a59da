"""WARC crawl archives (``.warc``, ``.warc.gz``, and ``.warc.zst``/``.bz2``/``.xz``), record by record.

Every HTTP ``response`` record whose body is HTML or text is a document with
the record's ``WARC-Target-URI`` as its id; every other record (requests,
metadata, images, ...) is counted and skipped with its kind as the reason.

Records are framed here, not by warcio's ``ArchiveIterator``, because a crawl
can be damaged and warcio does not survive it: it reads a ``Content-Length``
that is too large into the records after it (and loses them), prints warnings
to stderr, and cannot go on after a damaged gzip member. Here a record whose
length does not match is a ``malformed WARC`` skip and reading goes on at the
next record (found inside the block that claimed too much, or after the one
that claimed too little); a damaged gzip member costs only its own records; a
record cut off by the end of the file is skipped with its number and URI, and
the records before it are kept. No more than ``max_document_bytes`` of a body
is held. warcio still parses HTTP headers and undoes chunked transfer
encoding, on the bytes of one record.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace

from warcio.bufferedreaders import ChunkedDataReader
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser

from dedup.formats.archive import RECORD_LINE, Archive, Damaged, record_start_in
from dedup.formats.encoding import Decoded, charset_of, decode, media_type
from dedup.formats.html import meta_charset, record_page
from dedup.formats.records import (
    Input,
    PageReading,
    PagesElsewhere,
    ReadWarning,
    Record,
    Skip,
    decoding_warnings,
    error_text,
    finish_text,
    pages_in_order,
    shown_bytes,
    too_large,
)
from dedup.options import ReadOptions

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown"})
RECORD_TYPES = frozenset(
    {"warcinfo", "response", "resource", "request", "metadata", "revisit", "conversion", "continuation"}
)
UNIT = "record"
MALFORMED = "malformed WARC"
_FIRST_LINE_BYTES = 64  # a record's first line is "WARC/1.1\r\n"
_RECORD_LINE_BYTES = 16  # "\nWARC/0.18\r\n" and a little more
_HEADER_LINE_BYTES = 64 << 10
_HEADER_BYTES = 1 << 20  # WARC headers take a few hundred bytes; a megabyte is no header block
_HTTP_HEAD_BYTES = 256 << 10  # HTTP headers larger than this are refused by every server
_HTTP_HEAD_END = re.compile(rb"\r?\n\r?\n")
_HTTP_RECORDS = ("response", "request", "revisit")
_CONTENT_LENGTH = re.compile(r"[0-9]{1,18}")


def read_warc(source: Input, options: ReadOptions) -> Iterator[Record | PageReading]:
    """The HTML and text responses of a WARC file, one document per record (the pages maybe read elsewhere,
    ``source.pages``)."""
    number = 0
    with Archive(source) as archive:
        while True:
            try:
                if not _next_record_starts(archive):
                    return
                archive.forget_before(archive.position)  # no seek goes back before a record
                records, go_on = _record(archive, number + 1, source, options)
            except EOFError as exc:
                message = f"cut off: the file ends inside this record ({error_text(exc)})"
                yield Skip(source.name, number + 1, "truncated record", message, UNIT)
                return
            except Damaged as exc:
                go_on = archive.skip_damage()
                way_on = "read on at the next gzip member" if go_on else "no record after it can be read"
                message = f"the compressed data of this record is corrupt ({exc}): {way_on}"
                records = [Skip(source.name, number + 1, "corrupt compressed data", message, UNIT)]
            number += 1
            yield from records
            if not go_on:
                return


def _next_record_starts(archive: Archive) -> bool:
    """Pass over the blank lines between records; False at the end of the file."""
    while line := archive.readline(_FIRST_LINE_BYTES):
        if line.strip(b"\r\n"):
            archive.unread(line)
            return True
    return False


@dataclass(frozen=True, slots=True)
class _Headers:
    """A record's WARC headers (names lower case; the first of a repeated name) and its Content-Length."""

    fields: dict[str, str]
    length: int

    @property
    def kind(self) -> str:
        return self.fields.get("warc-type", "").strip()

    @property
    def uri(self) -> str:
        return self.fields.get("warc-target-uri", "").strip().strip("<>")

    @property
    def carries_http(self) -> bool:
        """Whether the block starts with HTTP headers (as warcio decides it: by record type, URI and length)."""
        return self.kind in _HTTP_RECORDS and self.uri.startswith(("http:", "https:")) and self.length > 0


def _record(
    archive: Archive, number: int, source: Input, options: ReadOptions
) -> tuple[list[Record | PageReading], bool]:
    """What the record at the archive's position gives, and whether reading can go on after it.

    Raises:
        EOFError: the compressed data ends inside the record.
        Damaged: the compressed data of the record is corrupt.
    """
    first = archive.readline(_FIRST_LINE_BYTES)
    if not RECORD_LINE.fullmatch(first):
        passed = len(first) + archive.resync(at_line_start=first.endswith(b"\n"))
        message = f"{passed:,} bytes that are no WARC record (starting {shown_bytes(first)})"
        return [_malformed(source, number, f"{message}: read on at the next record")], True
    headers = _read_headers(archive)
    if headers is None:
        message = "the file ends inside this record's headers: what follows the record before is no complete record"
        return [Skip(source.name, number, "truncated record", message, UNIT)], False
    if isinstance(headers, str):
        passed = archive.resync(at_line_start=True)
        return [_malformed(source, number, f"{headers}: read on at the next record, {passed:,} bytes on")], True
    return _framed(archive, headers, number, source, options)


def _malformed(source: Input, number: int, message: str) -> Skip:
    return Skip(source.name, number, MALFORMED, message, UNIT)


def _read_headers(archive: Archive) -> _Headers | str | None:
    """The WARC headers up to the blank line that ends them; why they are unusable; None at the end of the file."""
    fields: dict[str, str] = {}
    size = 0
    name = ""
    while True:
        line = archive.readline(_HEADER_LINE_BYTES)
        if not line:
            return None
        size += len(line)
        if not line.strip(b"\r\n"):
            break
        if size > _HEADER_BYTES or not line.endswith(b"\n"):
            return f"headers longer than {_HEADER_BYTES:,} bytes (or a line of more than {_HEADER_LINE_BYTES:,})"
        text = _header_text(line).rstrip("\r\n")
        if text[:1] in (" ", "\t") and name:  # a continuation of the header before
            fields[name] += " " + text.strip()
        elif ":" in text:
            name, value = (part.strip() for part in text.split(":", 1))
            name = name.lower()
            fields.setdefault(name, value)
    length = fields.get("content-length")
    if length is None:
        return "record without Content-Length"
    if not _CONTENT_LENGTH.fullmatch(length):
        return f"Content-Length {length[:40]!r} is not a number of bytes"
    return _Headers(fields, int(length))


def _header_text(line: bytes) -> str:
    """A header line as text: UTF-8 (WARC 1.1), else Latin-1 (every byte a character)."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("latin-1")


def _framed(
    archive: Archive, headers: _Headers, number: int, source: Input, options: ReadOptions
) -> tuple[list[Record | PageReading], bool]:
    """Read a record's block, check that the record ends where its Content-Length says, and interpret it."""
    block_start = archive.position
    length = headers.length
    http = body = None
    if headers.kind == "response" and headers.carries_http:
        head = archive.read(min(length, _HTTP_HEAD_BYTES))
        http = _http_headers(head)
        if http is not None and _wanted(http[0]) and length - http[1] <= options.max_document_bytes:
            rest = archive.read(length - len(head))
            body = head[http[1] :] + rest
            got = len(head) + len(rest)
            overlap = head[-_RECORD_LINE_BYTES:]  # a record line across the two parts
            inside = record_start_in(head, block_start) or record_start_in(
                overlap + rest, block_start + len(head) - len(overlap)
            )
        else:
            archive.unread(head)
    if body is None:
        got, inside = archive.pass_over(length)
    ended = _record_ended(archive, got == length)
    if not ended:
        return _length_wrong(archive, headers, number, source, got, inside)
    return list(_interpreted(headers, http, body, number, source, options)), True


def _record_ended(archive: Archive, whole: bool) -> bool:
    """Whether the record ends where its block does: the file had all of it, and a blank line follows."""
    if not whole:
        return False
    after = archive.readline(_FIRST_LINE_BYTES)
    if not after.strip(b"\r\n"):  # the blank line, or the end of the file
        return True
    archive.unread(after)
    return bool(RECORD_LINE.fullmatch(after))  # the next record at once: only the blank line is missing


def _length_wrong(
    archive: Archive, headers: _Headers, number: int, source: Input, got: int, inside: int | None
) -> tuple[list[Record | PageReading], bool]:
    """The skip of a record that does not end where its Content-Length says; read on at the next record.

    A record found inside the block means the length claimed too much: reading goes back to it.
    Else a block the file ends in is a record cut off, and one followed by more than a blank line
    claimed too little: reading goes on to the next record after it.
    """
    what = f"{headers.uri or 'record'}: Content-Length {headers.length:,}"
    if inside is not None:
        if not archive.seek(inside):
            message = f"{what} runs over the records after it, too many damaged records to read on"
            return [_malformed(source, number, message)], False
        message = f"{what} runs over the records after it: read on at the record found inside its block"
        return [_malformed(source, number, message)], True
    if got < headers.length:
        message = f"{headers.uri or 'record'}: cut off, the file ends {headers.length - got:,} bytes before its end"
        return [Skip(source.name, number, "truncated record", message, UNIT)], False
    passed = archive.resync(at_line_start=False)
    message = f"{what} is less than the record holds: read on at the next record, {passed:,} bytes on"
    return [_malformed(source, number, message)], True


def _http_headers(head: bytes) -> tuple[StatusAndHeaders, int] | None:
    """The HTTP status and headers at the start of a block, and where the body starts; None when they do not end."""
    end = _HTTP_HEAD_END.search(head)
    if end is None:
        return None
    try:
        parsed = StatusAndHeadersParser(["HTTP/1.0", "HTTP/1.1"], verify=False).parse(io.BytesIO(head[: end.end()]))
    except (EOFError, ValueError):
        return None
    return parsed, end.end()


def _wanted(http: StatusAndHeaders) -> bool:
    return media_type(http.get_header("Content-Type")) in HTML_TYPES | TEXT_TYPES


def _interpreted(
    headers: _Headers,
    http: tuple[StatusAndHeaders, int] | None,
    body: bytes | None,
    number: int,
    source: Input,
    options: ReadOptions,
) -> Iterator[Record | PageReading]:
    """What a whole record gives: a document, or the skip that says why not."""
    name, kind, uri = source.name, headers.kind, headers.uri
    doc_id = uri or f"{source.doc_id}:{number}"
    if not kind:
        yield _malformed(source, number, f"{doc_id}: record without WARC-Type")
    elif kind not in RECORD_TYPES:
        yield Skip(name, number, "WARC record of unknown type", f"{kind!r} record, not a response", UNIT, expected=True)
    elif kind != "response":
        yield Skip(name, number, f"WARC {kind} record", f"{kind} record, not a response", UNIT, expected=True)
    elif not headers.carries_http and media_type(headers.fields.get("content-type")) != "application/http":
        message = f"{doc_id}: response without HTTP headers"  # e.g. a crawler's dns: lookups
        yield Skip(name, number, "WARC non-HTTP response", message, UNIT, expected=True)
    elif http is None:
        yield _malformed(source, number, f"{doc_id}: its HTTP headers cannot be read (cut off?)")
    elif not _wanted(http[0]):
        message = f"{doc_id}: body is {media_type(http[0].get_header('Content-Type')) or 'of no type'}"
        yield Skip(name, number, "WARC body not HTML or text", message, UNIT, expected=True)
    elif body is None:
        limit = options.max_document_bytes
        yield too_large(name, number, UNIT, limit, f"{doc_id}: body", headers.length - http[1])
    else:
        yield from _response(http[0], body, doc_id, number, source, options)


def _response(
    http: StatusAndHeaders, body: bytes, doc_id: str, number: int, source: Input, options: ReadOptions
) -> Iterator[Record | PageReading]:
    """The document of an HTML or text response, its transfer and content encodings undone."""
    name, limit = source.name, options.max_document_bytes
    if "chunked" in (http.get_header("Transfer-Encoding") or "").lower():
        body = ChunkedDataReader(io.BytesIO(body)).read()  # chunks that do not parse are read as they are
    encoding = (http.get_header("Content-Encoding") or "").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        inflated = _inflated(body, encoding, limit)
        if inflated is None:
            yield _malformed(source, number, f"{doc_id}: its {encoding}-encoded body does not decompress")
            return
        body, whole = inflated
        if len(body) > limit:
            yield too_large(name, number, UNIT, limit, f"{doc_id}: {encoding}-encoded body")
            return
        if not whole:
            message = f"{doc_id}: its {encoding}-encoded body ends early: read as far as it goes"
            yield ReadWarning(name, number, "truncated body", message, UNIT)
    elif encoding not in ("", "identity"):
        message = f"{doc_id}: body in content-encoding {encoding[:40]!r}, which dedup does not decode"
        yield Skip(name, number, "unsupported encoding", message, UNIT)
        return
    content_type = http.get_header("Content-Type")
    kind, charset = media_type(content_type), charset_of(content_type)
    yield from _body_documents(body, kind, charset, doc_id, number, name, options, source.pages)


def _inflated(body: bytes, encoding: str, limit: int) -> tuple[bytes, bool] | None:
    """A gzip or deflate body decompressed (to at most ``limit`` + 1 bytes), and whether it was whole."""
    # 47: a gzip or a zlib header, whichever is there; -15: deflate without a header, as some servers send it.
    for wbits in (47, -15) if encoding == "deflate" else (47,):
        decompressor = zlib.decompressobj(wbits)
        try:
            data = decompressor.decompress(body, limit + 1)
        except zlib.error:
            continue
        return data, decompressor.eof or len(data) > limit
    return None


def _body_documents(
    body: bytes,
    kind: str,
    charset: str | None,
    doc_id: str,
    number: int,
    name: str,
    options: ReadOptions,
    pages: PagesElsewhere | None = None,
) -> Iterator[Record | PageReading]:
    is_html = kind in HTML_TYPES
    decoded = decoded_body(body, is_html, charset, options)
    yield from decoding_warnings(decoded, name, number, UNIT)
    if is_html:
        yield from record_page(decoded.text, options, doc_id, name, number, UNIT, pages)
    else:
        yield from finish_text(decoded.text, doc_id, name, number, UNIT, what="body")


def decoded_body(body: bytes, is_html: bool, charset: str | None, options: ReadOptions) -> Decoded:
    """A response body's text: in the charset the HTTP header declares, else the page's ``<meta>``, else detected."""
    declared = charset or (meta_charset(body) if is_html else None)
    return decode(body, declared=declared, forced=options.encoding)


def record_documents(
    fields: dict[str, str], block: bytes, number: int, source: Input, options: ReadOptions
) -> list[Record]:
    """What reading makes of one whole record, from its WARC headers (names lower case) and its block.

    ``clean`` checks each response it writes again with this: the record must give the scanned document.
    """
    headers = _Headers(fields, len(block))
    http = body = None
    if headers.kind == "response" and headers.carries_http:
        http = _http_headers(block[:_HTTP_HEAD_BYTES])
        if http is not None and _wanted(http[0]) and len(block) - http[1] <= options.max_document_bytes:
            body = block[http[1] :]
    # Read here, whatever ``source.pages`` says: the record is checked now.
    return list(pages_in_order(_interpreted(headers, http, body, number, replace(source, pages=None), options), 0, 0))


def http_head(block: bytes) -> tuple[StatusAndHeaders, int] | None:
    """The HTTP status and headers at the start of a record's block, and where its body starts (as read)."""
    return _http_headers(block[:_HTTP_HEAD_BYTES])


def inflated(body: bytes, encoding: str, limit: int) -> bytes | None:
    """A ``gzip`` or ``deflate`` content-encoded body decompressed as reading does it (at most ``limit`` + 1 bytes)."""
    result = _inflated(body, encoding, limit)
    return None if result is None else result[0]
