"""Cleaned copies of JSON Lines and JSON files (an array of objects, or one object).

A record whose text is unchanged is copied as it was; a changed record keeps its fields, their order and
their values (it is serialized again). Records that were not documents (skipped when reading) are not written.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from dedup.formats.encoding import bom_encoding, decode
from dedup.formats.fields import lookup
from dedup.formats.records import Input, LongLine, Skip, bounded_lines, read_whole
from dedup.options import ReadOptions
from dedup.writers.base import CleanedDocument, changed, field_value, output, output_encoding, source_input


def write_jsonl(source: Path, target: Path, documents: Iterable[CleanedDocument], options: ReadOptions) -> int:
    """The records of the documents, in their order, each with only its text changed.

    Lines are read as the reader reads them (a line over ``max_document_bytes`` is passed over unread).

    Raises:
        InputError: a record no longer matches what was scanned.
    """
    read = source_input(source)
    wanted: Iterator[CleanedDocument] = iter(documents)
    if bom_encoding(read.head(4)) in (
        "utf-16",
        "utf-32",
    ):  # lines cannot be split as bytes: the reader decodes it whole
        return _write_wide(read, target, wanted, options)
    pending = next(wanted, None)
    written = 0
    with read.open() as handle, output(target, read.compression) as out:
        for number, raw in enumerate(bounded_lines(handle, options.max_document_bytes), start=1):
            if pending is None:
                break
            if number != pending.document.source_line:
                continue
            if isinstance(raw, LongLine):
                raise changed(source, f":{number}")
            if pending.text is not None:
                out.write(_jsonl_record(read, number, raw, pending, options))
                written += 1
            pending = next(wanted, None)
    if pending is not None:
        raise changed(source, f":{pending.document.source_line}")
    return written


def _write_wide(read: Input, target: Path, wanted: Iterator[CleanedDocument], options: ReadOptions) -> int:
    """A UTF-16 or UTF-32 JSON Lines file, decoded whole as its reader decodes it; written in UTF-8 (or as forced)."""
    raw = read_whole(read, options)
    text = "" if isinstance(raw, Skip) else decode(raw).text
    lines = ((number, line) for number, line in enumerate(text.split("\n"), start=1) if line.strip())
    with output(target, read.compression) as out:
        return _write_lines(lines, read, wanted, options, out, output_encoding(options), unit="line", ending="\n")


def _jsonl_record(read: Input, number: int, raw: bytes, cleaned: CleanedDocument, options: ReadOptions) -> bytes:
    line = decode(raw.removeprefix(codecs.BOM_UTF8), forced=output_encoding(options)).text
    record = _parsed(line, read, f":{number}")
    value = field_value(read, number, "line", record, cleaned, options)
    if value == lookup(record, options.text_field):
        return raw if raw.endswith(b"\n") else raw + b"\n"
    _set_field(record, options.text_field, value)
    return _json_text(record, output_encoding(options)) + (_ending(raw) or b"\n")


def _parsed(text: str, read: Input, where: str) -> dict:
    """A record as the reader parses it; not an object any more: changed."""
    try:
        record = json.loads(text.rstrip("\r\n"), strict=False)
    except (json.JSONDecodeError, RecursionError):
        raise changed(read.name, where) from None
    if not isinstance(record, dict):
        raise changed(read.name, where)
    return record


def _set_field(record: dict, dotted: str, value: str) -> None:
    if dotted in record:
        record[dotted] = value
        return
    *parents, last = dotted.split(".")
    for part in parents:
        record = record[part]
    record[last] = value


def _json_text(record: dict, encoding: str) -> bytes:
    """The record as JSON on one line; ASCII escapes only where the encoding needs them."""
    try:
        return json.dumps(record, ensure_ascii=False).encode(encoding)
    except UnicodeEncodeError:
        return json.dumps(record, ensure_ascii=True).encode(encoding)


def _ending(raw: bytes) -> bytes:
    if raw.endswith(b"\r\n"):
        return b"\r\n"
    return b"\n" if raw.endswith(b"\n") else b""


def write_json(source: Path, target: Path, documents: Iterable[CleanedDocument], options: ReadOptions) -> int:
    """A JSON file as the reader read it: an array keeps its layout between items, an unchanged item its text;
    one object stays one object; a file that is no JSON (JSON Lines named ``.json``) is written line by line.

    The input's text is held whole, as the reader holds it (within ``max_document_bytes``), but an array
    is parsed and written an item at a time, never held as Python objects.

    Raises:
        InputError: an item no longer matches what was scanned.
    """
    read = source_input(source)
    wanted: Iterator[CleanedDocument] = iter(documents)
    raw = read_whole(read, options)
    if isinstance(raw, Skip):
        pending = next(wanted, None)
        if pending is not None:
            raise changed(source, "")
        return 0
    text = decode(raw, forced=options.encoding).text
    del raw
    kind = _json_kind(text)
    encoding = output_encoding(options)
    with output(target, read.compression) as out:
        if kind is list:
            return _write_items(text, read, wanted, options, out, encoding)
        if kind is dict:
            return _write_lines([(1, text)], read, wanted, options, out, encoding, unit="line")
        lines = ((number, line) for number, line in enumerate(text.split("\n"), start=1) if line.strip())
        return _write_lines(lines, read, wanted, options, out, encoding, unit="line", ending="\n")


def _write_lines(
    lines: Iterable[tuple[int, str]],
    read: Input,
    wanted: Iterator[CleanedDocument],
    options: ReadOptions,
    out: BinaryIO,
    encoding: str,
    unit: str,
    ending: str = "",
) -> int:
    """Numbered JSON texts that are one object each (lines, or the whole file), written as ``write_jsonl`` does."""
    pending = next(wanted, None)
    written = 0
    for number, line in lines:
        if pending is None:
            break
        if number != pending.document.source_line:
            continue
        if pending.text is not None:
            record = _parsed(line, read, f":{number}")
            value = field_value(read, number, unit, record, pending, options)
            if value == lookup(record, options.text_field):
                out.write((line + ending).encode(encoding))
            else:
                _set_field(record, options.text_field, value)
                out.write(_json_text(record, encoding) + ending.encode(encoding))
            written += 1
        pending = next(wanted, None)
    if pending is not None:
        raise changed(read.name, f":{pending.document.source_line}")
    return written


_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _after_space(text: str, position: int) -> int:
    """Where the JSON white space from ``position`` on ends."""
    match = _JSON_SPACE.match(text, position)
    return position if match is None else match.end()


def _json_kind(text: str) -> type:
    """What the reader takes the text for: an array (``list``), one object (``dict``), else JSON Lines (``str``).

    An array is parsed an item at a time (``_item_spans``), never held whole as Python objects, which take
    several times the memory of its text.
    """
    try:
        if text[_after_space(text, 0) :].startswith("["):
            for _ in _item_spans(text):
                pass
            return list
        value = json.loads(text, strict=False)
    except (json.JSONDecodeError, RecursionError):
        return str
    return dict if isinstance(value, dict) else type(value)


def _item_spans(text: str) -> Iterator[tuple[int, int, object]]:
    """Where each item of a JSON array stands in the text, and the item.

    Raises:
        json.JSONDecodeError: the text is not one JSON array.
    """
    decoder = json.JSONDecoder(strict=False)
    position = _after_space(text, _after_space(text, 0) + 1)  # past the "["
    while not text.startswith("]", position):
        item, end = decoder.raw_decode(text, position)
        yield position, end, item
        position = _after_space(text, end)
        if text.startswith(",", position):
            position = _after_space(text, position + 1)
            if text.startswith("]", position):
                raise json.JSONDecodeError("Illegal trailing comma before end of array", text, position)
        elif not text.startswith("]", position):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, position)
    if _after_space(text, position + 1) != len(text):
        raise json.JSONDecodeError("Extra data", text, position + 1)


def _write_items(
    text: str, read: Input, wanted: Iterator[CleanedDocument], options: ReadOptions, out: BinaryIO, encoding: str
) -> int:
    """The array's kept items with the text between them as it was; the text before and after the items too."""
    pending = next(wanted, None)
    written = 0
    separator = ""  # what followed the last item written, written before the next one
    last_end = None  # where the item before ends
    last_written = False
    for number, (start, end, item) in enumerate(_item_spans(text), start=1):
        if last_end is None:
            out.write(text[:start].encode(encoding))
        elif last_written:
            separator = text[last_end:start]
        last_end, last_written = end, False
        if pending is None or number != pending.document.source_line:
            continue
        if pending.text is not None:
            if not isinstance(item, dict):
                raise changed(read.name, f", item {number}")
            value = field_value(read, number, "item", item, pending, options)
            if written:
                out.write(separator.encode(encoding))
            if value == lookup(item, options.text_field):
                out.write(text[start:end].encode(encoding))
            else:
                _set_field(item, options.text_field, value)
                out.write(_json_text(item, encoding))
            written += 1
            last_written = True
        pending = next(wanted, None)
    if pending is not None:
        raise changed(read.name, f", item {pending.document.source_line}")
    if last_end is None:  # an empty array: as it was
        out.write(text.encode(encoding))
    else:
        out.write(text[last_end:].encode(encoding))
    return written
