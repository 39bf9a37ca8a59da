"""Documents from records with named fields: JSON objects, CSV rows, Parquet rows.

The id and text are found by field name, or by a dotted path through nested
objects and structs (``meta.url``). A text that is a whole HTML page (a
crawler's ``html`` column) is reduced to its text as an HTML file would be.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from dedup.formats.encoding import replace_lone_surrogates
from dedup.formats.html import page_document
from dedup.formats.records import Input, ReadWarning, Record, Skip, finish_text, too_large
from dedup.options import ReadOptions


def lookup(record: Mapping[str, object], dotted: str) -> object:
    """The value at a field name, else at a dotted path (``meta.url``) of nested mappings; None when absent."""
    if dotted in record:
        return record[dotted]
    value: object = record
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def record_document(
    record: Mapping[str, object],
    number: int,
    source: Input,
    options: ReadOptions,
    unit: str = "line",
) -> Iterator[Record]:
    """The document of one JSONL/CSV/Parquet record, or the skip that says why there is none."""
    name = source.name
    text = lookup(record, options.text_field)
    if text is None:
        yield Skip(name, number, "missing text", f"no {options.text_field!r} field", unit)
        return
    if not isinstance(text, str):
        message = f"field {options.text_field!r} is {type(text).__name__}, not a string"
        yield Skip(name, number, "text not a string", message, unit)
        return
    limit = options.max_document_bytes
    if len(text) > limit // 4 and len(text.encode("utf-8", "surrogatepass")) > limit:  # 4 bytes at most a character
        yield too_large(name, number, unit, limit, "text", len(text.encode("utf-8", "surrogatepass")))
        return
    raw_id = lookup(record, options.id_field)
    record_id, surrogates = replace_lone_surrogates(f"{source.doc_id}:{number}" if raw_id is None else str(raw_id))
    if surrogates:
        message = f"{surrogates} lone surrogate(s) in the id replaced by U+FFFD"
        yield ReadWarning(name, number, "lone surrogates", message, unit)
    if looks_like_html_page(text):
        yield from page_document(text, options, record_id, name, number, unit)
    else:
        yield from finish_text(text, record_id, name, number, unit)


# How a text field that holds a whole HTML page starts (lower-cased, within its first characters).
PAGE_STARTS = ("<!doctype html", "<html")
PAGE_START_CHARS = 64


def looks_like_html_page(text: str) -> bool:
    """A whole HTML page stored in a text field (a crawler's ``html`` column)."""
    start = text[:PAGE_START_CHARS].lstrip().lower()
    return start.startswith(PAGE_STARTS)
