"""JSON Lines (one object per line) and JSON files (an array of objects, or one object).

A record without an id gets ``<file>:<line>`` (``<file>:<item>`` in a JSON
array); a bad line or item is a ``Skip`` naming the file and line, and reading
goes on with the next one.

UTF-8 JSON Lines are read a run of lines at a time by polars' NDJSON parser,
which releases the GIL: the per-line path (orjson, then a Python object per
record) holds it throughout, about 0.7 s per 100 MB, time the workers on the
other core then wait for it. Polars is more lenient than the per-line reader in
a few ways (it makes strings of numbers, takes the first of two equal keys,
skips blank lines, reads a lone surrogate as NUL), so a run is taken in bulk
only when checks on its bytes, lines and texts prove that every row is what the
per-line reader would make of it; any other run is read line by line.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import itertools
import json
import re
from collections.abc import Iterable, Iterator

import numpy as np
import orjson
import polars as pl

from dedup import schema as S
from dedup.formats.encoding import bom_encoding, codec_name, decode
from dedup.formats.fields import PAGE_START_CHARS, PAGE_STARTS, lookup, record_document
from dedup.formats.records import (
    DocumentFrame,
    Input,
    LongLine,
    PageReading,
    Record,
    Skip,
    bounded_lines,
    decoding_warnings,
    read_whole,
    too_large,
)
from dedup.options import ReadOptions

# Lines are parsed in bulk in runs of about this many bytes: large enough that polars' per-call cost
# vanishes, small enough that a bad line sends only its own run down the slow path. Reading crawl 400 MB
# into batches took 4.8-5.0 s in runs of 2 MiB, 4.5 s in 4 MiB, 3.6-3.9 s in 8 MiB and 3.6 s in 16 MiB.
BULK_BYTES = 8 << 20


def read_jsonl(source: Input, options: ReadOptions) -> Iterator[Record | PageReading]:
    """One document per JSON line; the ``id`` and ``text`` fields by default (see ``ReadOptions``).

    Lines are UTF-8 (as JSON is) unless ``--encoding`` or a byte order mark says otherwise. A line
    longer than ``max_document_bytes`` is skipped without being held in memory.
    """
    with source.open() as handle:
        lines = bounded_lines(handle, options.max_document_bytes)
        first = next(lines, b"")
        # A byte order mark opens a file, not a piece of one that starts on a later line.
        bom = bom_encoding(first) if isinstance(first, bytes) and source.first_line == 1 else None
        if bom in ("utf-16", "utf-32") and isinstance(first, bytes):  # lines not split as bytes: decode it whole
            yield from _wide_lines(first, lines, source, options)
            return
        if bom == "utf-8-sig" and isinstance(first, bytes):
            first = first[len(codecs.BOM_UTF8) :]
        numbered = enumerate(itertools.chain([first], lines), start=source.first_line)
        encoding = codec_name(options.encoding) or "utf-8"
        if encoding != "utf-8":
            yield from _lines(_decoded_lines(numbered, source, options, encoding), source, options)
            return
        if not _bulk_fields(options):
            yield from _utf8_lines(numbered, source, options)
            return
        for run in _runs(numbered, BULK_BYTES, source, options):
            if isinstance(run, Skip):
                yield run
                continue
            number, run_lines = run
            bulk = _bulk_documents(run_lines, number, source, options)
            if bulk is None:
                yield from _utf8_lines(enumerate(run_lines, start=number), source, options)
            else:
                yield bulk


def _wide_lines(
    first: bytes, lines: Iterator[bytes | LongLine], source: Input, options: ReadOptions
) -> Iterator[Record | PageReading]:
    """The lines of a UTF-16 or UTF-32 file, decoded whole (within ``max_document_bytes``, as any file read whole)."""
    limit = options.max_document_bytes
    parts, size = [first], len(first)
    for line in lines:
        if isinstance(line, LongLine) or size + len(line) > limit:
            yield too_large(source.name, None, "line", limit, "UTF-16/32 JSON Lines file, read whole,")
            return
        parts.append(line)
        size += len(line)
    decoded = decode(b"".join(parts))
    yield from decoding_warnings(decoded, source.name, None)
    yield from _lines(enumerate(decoded.text.split("\n"), start=1), source, options)


def _runs(
    numbered: Iterable[tuple[int, bytes | LongLine]], run_bytes: int, source: Input, options: ReadOptions
) -> Iterator[tuple[int, list[bytes]] | Skip]:
    """Consecutive lines in lists of about ``run_bytes`` bytes, each with the number of its first line.

    A line over ``max_document_bytes`` ends a run and is its skip. When reading fails (compressed
    data cut off), the lines read before still come out first.
    """
    run: list[bytes] = []
    start = size = 0
    try:
        for number, line in numbered:
            if isinstance(line, LongLine):
                if run:
                    yield start, run
                    run, size = [], 0
                yield _line_too_long(number, line, source, options)
                continue
            if not run:
                start = number
            run.append(line)
            size += len(line)
            if size >= run_bytes:
                yield start, run
                run, size = [], 0
    except Exception:
        if run:
            yield start, run
        raise
    if run:
        yield start, run


def _line_too_long(number: int, line: LongLine, source: Input, options: ReadOptions) -> Skip:
    return too_large(source.name, number, "line", options.max_document_bytes, "line", line.size)


# Field names whose JSON key is the name itself between quotes, found in raw lines by a pattern.
_PLAIN_FIELD = re.compile(r"[A-Za-z0-9_\- ]+")
# Whitespace as ``str.strip`` knows it: Unicode White_Space (its other characters are controls).
_BLANK = r"^\s*$"
# Anywhere in the first characters, not only after white space: a superset of ``record_document``'s test.
_PAGE_START = "|".join(re.escape(start) for start in PAGE_STARTS)


def _bulk_fields(options: ReadOptions) -> bool:
    """Whether the id and text fields can be found in bulk: two plain top-level names (no dotted paths),
    and no other field asked for (``keep_field``: a clean's ``keep_by`` reads record by record)."""
    fields = (options.id_field, options.text_field)
    plain = options.id_field != options.text_field and all(_PLAIN_FIELD.fullmatch(f) for f in fields)
    return plain and options.keep_field is None


def _bulk_documents(run: list[bytes], first_number: int, source: Input, options: ReadOptions) -> DocumentFrame | None:
    """The documents of a run of UTF-8 JSON lines, parsed by polars; None unless every line is plain.

    Plain: valid UTF-8 and JSON, one object per line with the text field once, as a string that
    needs no repair (no control character, not blank, not a whole HTML page), and the id field at
    most once, as a string, an integer or null. Anything else is left to the per-line reader, which
    repairs, reports or skips it. Every check may flag a line that is in fact plain (it then only
    takes the slower path); none passes a line the per-line reader would treat differently.
    """
    from dedup._kernels import json_needs_care  # here: a process that only reads pages needs no kernels

    data = b"".join(run)
    if json_needs_care(np.frombuffer(data, dtype=np.uint8)) or not _plain_lines(run, options):
        return None
    try:
        parsed = pl.read_ndjson(io.BytesIO(data), schema={options.id_field: pl.String, options.text_field: pl.String})
    except pl.exceptions.PolarsError:
        return None
    if parsed.height != len(run):  # polars passes over blank lines; their numbers would shift
        return None
    texts = parsed.get_column(options.text_field)
    if texts.null_count() or _blank_or_page(texts):
        return None
    numbers = pl.int_range(first_number, first_number + len(run), dtype=pl.Int64)
    frame = parsed.select(
        pl.col(options.id_field).fill_null(pl.concat_str(pl.lit(f"{source.doc_id}:"), numbers)).alias(S.DOC_ID),
        pl.col(options.text_field).alias(S.TEXT),
        pl.lit(source.name, dtype=pl.String).alias(S.SOURCE),
        numbers.alias(S.SOURCE_LINE),
        pl.lit(None, dtype=pl.List(pl.Int64)).alias(S.ANCHORS),  # a record is placed by its line
    )
    return DocumentFrame(frame, int(texts.str.len_chars().sum()))


def _plain_lines(run: list[bytes], options: ReadOptions) -> bool:
    """Whether every line is valid UTF-8 and names its fields plainly (see ``_bulk_documents``)."""
    try:
        lines = pl.DataFrame({"line": pl.Series(run, dtype=pl.Binary).cast(pl.String)})  # fails on invalid UTF-8
    except pl.exceptions.PolarsError:
        return False
    line = pl.col("line").str
    text_key = f'"{re.escape(options.text_field)}"\\s*:'
    id_key = f'"{re.escape(options.id_field)}"\\s*:'
    plain_id = id_key + r'\s*(?:"|(?:0|-?[1-9][0-9]{0,17})\s*[,}]|null\s*[,}])'
    checks = lines.select(
        text_once=(line.count_matches(text_key) == 1).all(),
        text_a_string=(line.count_matches(text_key + r'\s*"') == 1).all(),
        id_at_most_once=(line.count_matches(id_key) <= 1).all(),
        id_plain=(~line.contains(id_key) | line.contains(plain_id)).all(),
    )
    return all(checks.row(0))


def _blank_or_page(texts: pl.Series) -> bool:
    """Whether a text would be skipped as blank or read as a whole HTML page by ``record_document``."""
    text = pl.col(S.TEXT).str
    flagged = (
        texts.alias(S.TEXT)
        .to_frame()
        .select(
            blank=text.contains(_BLANK).any(),
            page=text.slice(0, PAGE_START_CHARS).str.to_lowercase().str.contains(_PAGE_START).any(),
        )
    )
    return any(flagged.row(0))


def _utf8_lines(
    numbered: Iterable[tuple[int, bytes | LongLine]], source: Input, options: ReadOptions
) -> Iterator[Record | PageReading]:
    """UTF-8 lines, parsed from their bytes by orjson (several times faster than decoding, then ``json``).

    A line orjson rejects (bad UTF-8, raw control characters, NaN, a lone surrogate, broken JSON, nesting
    over 1,024 deep) takes the careful path, which repairs or reports it exactly as for any other encoding.
    """
    for number, raw in numbered:
        if isinstance(raw, LongLine):
            yield _line_too_long(number, raw, source, options)
            continue
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            yield from _lines(_decoded_lines([(number, raw)], source, options, "utf-8"), source, options)
            continue
        if isinstance(record, dict) and isinstance(lookup(record, options.id_field), float):
            # orjson reads integers beyond 64 bits as floats; the id must keep every digit.
            with contextlib.suppress(RecursionError):  # json nests less deep than orjson: then orjson's it is
                record = json.loads(raw)
        yield from _object(record, number, source, options, "line")


def _decoded_lines(
    numbered: Iterable[tuple[int, bytes | LongLine]], source: Input, options: ReadOptions, encoding: str
) -> Iterator[tuple[int, str | Skip]]:
    for number, raw in numbered:
        if isinstance(raw, LongLine):
            yield number, _line_too_long(number, raw, source, options)
            continue
        try:
            yield number, raw.decode(encoding)
        except UnicodeDecodeError:
            decoded = decode(raw, forced=encoding)
            yield from ((number, warning) for warning in decoding_warnings(decoded, source.name, number))
            yield number, decoded.text


def _lines(
    lines: Iterator[tuple[int, str | Skip]] | Iterator[tuple[int, str]], source: Input, options: ReadOptions
) -> Iterator[Record | PageReading]:
    for number, line in lines:
        if isinstance(line, Skip):  # a line too long, or a warning about one
            yield line
        elif line.strip():
            yield from _parsed(line, number, source, options, "line")


def _parsed(line: str, number: int, source: Input, options: ReadOptions, unit: str) -> Iterator[Record | PageReading]:
    try:
        # strict=False: control characters in strings are repaired later. The line ending goes first, so that
        # a line cut short is reported at its last column, not at "column 1" of a line after it.
        record = json.loads(line.rstrip("\r\n"), strict=False)
    except json.JSONDecodeError as exc:
        yield Skip(source.name, number, "malformed JSON", f"malformed JSON ({exc.msg}: column {exc.colno})", unit)
        return
    except RecursionError:  # json's parser recurses once per level: about a thousand levels is as deep as it goes
        yield Skip(source.name, number, "malformed JSON", "malformed JSON (nested too deep to read)", unit)
        return
    yield from _object(record, number, source, options, unit)


def _object(
    record: object, number: int, source: Input, options: ReadOptions, unit: str
) -> Iterator[Record | PageReading]:
    if not isinstance(record, dict):
        message = f"expected a JSON object, got {type(record).__name__}"
        yield Skip(source.name, number, "not an object", message, unit)
        return
    yield from record_document(record, number, source, options, unit)


def read_json(source: Input, options: ReadOptions) -> Iterator[Record | PageReading]:
    """A JSON file: an array of objects (one document each) or one object; else read as JSON Lines.

    The file is read whole, so ``max_document_bytes`` bounds the whole file.
    """
    raw = read_whole(source, options)
    if isinstance(raw, Skip):
        yield raw
        return
    decoded = decode(raw, forced=options.encoding)
    yield from decoding_warnings(decoded, source.name, None)
    try:
        whole = json.loads(decoded.text, strict=False)
    except (json.JSONDecodeError, RecursionError):  # JSON Lines named .json, or a broken file: read line by line
        yield from _lines(enumerate(decoded.text.split("\n"), start=1), source, options)
        return
    if isinstance(whole, list):
        for number, item in enumerate(whole, start=1):
            yield from _object(item, number, source, options, "item")
    else:
        yield from _object(whole, 1, source, options, "line")
