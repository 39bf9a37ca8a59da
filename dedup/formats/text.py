"""Plain text and markdown files: each file is one document."""

from __future__ import annotations

from collections.abc import Iterator

from dedup.formats.encoding import decode
from dedup.formats.records import Input, Record, Skip, decoding_warnings, finish_text, read_whole
from dedup.options import ReadOptions


def read_text(source: Input, options: ReadOptions) -> Iterator[Record]:
    """A text file is one document, decoded by BOM, ``--encoding``, UTF-8 or detection."""
    raw = read_whole(source, options)
    if isinstance(raw, Skip):
        yield raw
        return
    decoded = decode(raw, forced=options.encoding)
    yield from decoding_warnings(decoded, source.name, None)
    yield from finish_text(decoded.text, source.doc_id, source.name, None, what="file")
