"""JSON Lines (one object per line) and JSON files (an array of objects, or one object).

A record without an id gets ``<file>:<line>`` (``<file>:<item>`` in a JSON
array); a bad line or item is a ``Skip`` naming the file and line, and reading
goes on with the next one.
"""

from __future__ import annotations

import codecs
import itertools
import json
from collections.abc import Iterable, Iterator

import orjson

from dedup.formats.encoding import bom_encoding, codec_name, decode
from dedup.formats.fields import lookup, record_document
from dedup.formats.records import Input, ReadWarning, Record, Skip, decoding_warnings
from dedup.options import ReadOptions


def read_jsonl(source: Input, options: ReadOptions) -> Iterator[Record]:
    """One document per JSON line; the ``id`` and ``text`` fields by default (see ``ReadOptions``).

    Lines are UTF-8 (as JSON is) unless ``--encoding`` or a byte order mark says otherwise.
    """
    with source.open() as handle:
        lines = iter(handle)
        first = next(lines, b"")
        bom = bom_encoding(first)
        if bom in ("utf-16", "utf-32"):  # such lines cannot be split as bytes: decode the whole file
            decoded = decode(first + b"".join(lines))
            yield from decoding_warnings(decoded, source.name, None)
            yield from _lines(enumerate(decoded.text.split("\n"), start=1), source, options)
            return
        if bom == "utf-8-sig":
            first = first[len(codecs.BOM_UTF8) :]
        encoding = codec_name(options.encoding) or "utf-8"
        numbered = enumerate(itertools.chain([first], lines), start=1)
        if encoding == "utf-8":
            yield from _utf8_lines(numbered, source, options)
        else:
            yield from _lines(_decoded_lines(numbered, source.name, encoding), source, options)


def _utf8_lines(numbered: Iterable[tuple[int, bytes]], source: Input, options: ReadOptions) -> Iterator[Record]:
    """UTF-8 lines, parsed from their bytes by orjson (several times faster than decoding, then ``json``).

    A line orjson rejects (bad UTF-8, raw control characters, NaN, a lone surrogate, broken JSON) takes
    the careful path, which repairs or reports it exactly as for any other encoding.
    """
    for number, raw in numbered:
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            yield from _lines(_decoded_lines([(number, raw)], source.name, "utf-8"), source, options)
            continue
        if isinstance(record, dict) and isinstance(lookup(record, options.id_field), float):
            # orjson reads integers beyond 64 bits as floats; the id must keep every digit.
            record = json.loads(raw)
        yield from _object(record, number, source, options, "line")


def _decoded_lines(
    numbered: Iterable[tuple[int, bytes]], name: str, encoding: str
) -> Iterator[tuple[int, str | ReadWarning]]:
    for number, raw in numbered:
        try:
            yield number, raw.decode(encoding)
        except UnicodeDecodeError:
            decoded = decode(raw, forced=encoding)
            yield from ((number, warning) for warning in decoding_warnings(decoded, name, number))
            yield number, decoded.text


def _lines(
    lines: Iterator[tuple[int, str | ReadWarning]] | Iterator[tuple[int, str]], source: Input, options: ReadOptions
) -> Iterator[Record]:
    for number, line in lines:
        if isinstance(line, ReadWarning):
            yield line
        elif line.strip():
            yield from _parsed(line, number, source, options, "line")


def _parsed(line: str, number: int, source: Input, options: ReadOptions, unit: str) -> Iterator[Record]:
    try:
        # strict=False: control characters in strings are repaired later. The line ending goes first, so that
        # a line cut short is reported at its last column, not at "column 1" of a line after it.
        record = json.loads(line.rstrip("\r\n"), strict=False)
    except json.JSONDecodeError as exc:
        yield Skip(source.name, number, "malformed JSON", f"malformed JSON ({exc.msg}: column {exc.colno})", unit)
        return
    yield from _object(record, number, source, options, unit)


def _object(record: object, number: int, source: Input, options: ReadOptions, unit: str) -> Iterator[Record]:
    if not isinstance(record, dict):
        message = f"expected a JSON object, got {type(record).__name__}"
        yield Skip(source.name, number, "not an object", message, unit)
        return
    yield from record_document(record, number, source, options, unit)


def read_json(source: Input, options: ReadOptions) -> Iterator[Record]:
    """A JSON file: an array of objects (one document each) or one object; else read as JSON Lines."""
    decoded = decode(source.read_bytes(), forced=options.encoding)
    yield from decoding_warnings(decoded, source.name, None)
    try:
        whole = json.loads(decoded.text, strict=False)
    except json.JSONDecodeError:  # JSON Lines named .json, or a broken file: read line by line
        yield from _lines(enumerate(decoded.text.split("\n"), start=1), source, options)
        return
    if isinstance(whole, list):
        for number, item in enumerate(whole, start=1):
            yield from _object(item, number, source, options, "item")
    else:
        yield from _object(whole, 1, source, options, "line")
