"""Documents from records with named fields: JSON objects, CSV rows, Parquet rows.

The id and text are found by field name, or by a dotted path through nested
objects and structs (``meta.url``). A text that is a whole HTML page (a
crawler's ``html`` column) is reduced to its text as an HTML file would be.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace

from dedup.formats.encoding import replace_lone_surrogates
from dedup.formats.html import record_page
from dedup.formats.records import (
    Document,
    Input,
    PageReading,
    PagesElsewhere,
    ReadWarning,
    Record,
    Skip,
    finish_text,
    too_large,
)
from dedup.options import ReadOptions


def lookup(record: Mapping[str, object], dotted: str) -> object:
    """The value at a field name, else at a dotted path (``meta.url``) of nested mappings; None when absent."""
    return _found(record, dotted)[1]


def has_field(record: Mapping[str, object], dotted: str) -> bool:
    """Whether the field (or dotted path) is there at all, null or not."""
    return _found(record, dotted)[0]


def _found(record: Mapping[str, object], dotted: str) -> tuple[bool, object]:
    """Whether a field name, else a dotted path, is there, and its value (None when it is not)."""
    if dotted in record:
        return True, record[dotted]
    value: object = record
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


MISSING_TEXT = "missing text"
_SHOWN_FIELDS = 20  # fields listed in a message; a record of hundreds would drown it
_NESTED_DEPTH = 4  # how deep nested objects are opened to list their fields (``meta.lang``)


def flat_fields(record: Mapping[str, object], prefix: str = "", depth: int = _NESTED_DEPTH) -> dict[str, object]:
    """Every field of a record by its dotted name, nested objects opened (``meta.lang``), in order."""
    fields: dict[str, object] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and depth > 1:
            fields.update(flat_fields(value, f"{name}.", depth - 1))
        else:
            fields[name] = value
    return fields


def missing_text_message(record: Mapping[str, object], options: ReadOptions) -> str:
    """Why a record has no text, with its fields and the options that would read it.

    ``--text-field`` is suggested with the field that holds the longest text (the most words; most likely
    the page), ``--id-field`` too when the id field is absent as well.
    """
    field = options.text_field
    if has_field(record, field):
        return f"field {field!r} is null"
    fields = flat_fields(record)
    return f"no {field!r} field ({fields_shown(list(fields), 'fields')}){_hint(fields, options)}"


def fields_shown(names: list[str], what: str) -> str:
    """``fields: 'id', 'body'`` with at most ``_SHOWN_FIELDS`` names; ``no fields`` for none."""
    if not names:
        return f"no {what}"
    shown = ", ".join(repr(name) for name in names[:_SHOWN_FIELDS])
    return f"{what}: {shown}" + (f", … ({len(names):,} in all)" if len(names) > _SHOWN_FIELDS else "")


def missing_column_hint(first_row: Mapping[str, object] | None, options: ReadOptions) -> str:
    """The ``--text-field`` (and ``--id-field``) suggestion for a table, from its first row when it has one."""
    return _hint(flat_fields(first_row), options) if first_row else "; choose the text column with --text-field"


def _hint(fields: Mapping[str, object], options: ReadOptions) -> str:
    texts = {
        name: value
        for name, value in fields.items()
        if isinstance(value, str) and value.strip() and name != options.id_field
    }
    if not texts:
        return "; none holds text"
    # The most words, then the most characters: a page's text over a long URL; the first of equals, in order.
    longest = max(texts, key=lambda name: (len(texts[name].split()), len(texts[name])))
    hint = f"; the longest text is in {longest!r}: read it with --text-field {_quoted(longest)}"
    if not has_field(fields, options.id_field):
        hint += f" (and choose the id with --id-field, as there is no {options.id_field!r} field either)"
    return hint


def _quoted(name: str) -> str:
    """A field name as typed in a shell: quoted when it holds anything but letters, digits and ``._-``."""
    return name if name and all(c.isalnum() or c in "._-" for c in name) else repr(name)


def record_document(
    record: Mapping[str, object],
    number: int,
    source: Input,
    options: ReadOptions,
    unit: str = "line",
) -> Iterator[Record | PageReading]:
    """The document of one JSONL/CSV/Parquet record, or the skip that says why there is none (a page in it may be
    read elsewhere, ``source.pages``)."""
    default_id = f"{source.doc_id}:{number}"
    yield from named_record_document(record, number, source.name, default_id, options, unit, source.pages)


def named_record_document(
    record: Mapping[str, object],
    number: int,
    name: str,
    default_id: str,
    options: ReadOptions,
    unit: str,
    pages: PagesElsewhere | None = None,
) -> Iterator[Record | PageReading]:
    """The document of a record of the source ``name``, with the id ``default_id`` when it has none of its own."""
    text = lookup(record, options.text_field)
    if text is None:
        yield Skip(name, number, MISSING_TEXT, missing_text_message(record, options), unit)
        return
    raw_id = lookup(record, options.id_field)
    record_id = default_id if raw_id is None else str(raw_id)
    if options.keep_field is None:
        yield from text_document(text, record_id, number, name, options, unit, pages)
        return
    keep_value = lookup(record, options.keep_field)  # what clean's keep_by ranks the record by
    for item in text_document(text, record_id, number, name, options, unit):  # read here: the value goes on it
        yield replace(item, keep_value=keep_value) if isinstance(item, Document) else item


def text_document(
    text: object,
    raw_id: str,
    number: int,
    name: str,
    options: ReadOptions,
    unit: str,
    pages: PagesElsewhere | None = None,
) -> Iterator[Record | PageReading]:
    """The document of a text from a record or an in-memory input, or the skip that says why there is none.

    A text that is a whole HTML page is read as a page; an id with lone surrogates is repaired, with a warning.
    """
    if not isinstance(text, str):
        message = f"field {options.text_field!r} is {type(text).__name__}, not a string"
        yield Skip(name, number, "text not a string", message, unit)
        return
    limit = options.max_document_bytes
    if len(text) > limit // 4 and len(text.encode("utf-8", "surrogatepass")) > limit:  # 4 bytes at most a character
        yield too_large(name, number, unit, limit, "text", len(text.encode("utf-8", "surrogatepass")))
        return
    record_id, surrogates = replace_lone_surrogates(raw_id)
    if surrogates:
        message = f"{surrogates} lone surrogate(s) in the id replaced by U+FFFD"
        yield ReadWarning(name, number, "lone surrogates", message, unit)
    if looks_like_html_page(text):
        yield from record_page(text, options, record_id, name, number, unit, pages)
    else:
        yield from finish_text(text, record_id, name, number, unit)


def missing_column(
    columns: Sequence[str], first_row: Mapping[str, object] | None, name: str, options: ReadOptions, unit: str
) -> Skip:
    """The skip of a whole table that has no column for the text field: its columns, and which to choose."""
    shown = fields_shown(list(columns), "columns")
    message = f"no column {options.text_field!r} ({shown}){missing_column_hint(first_row, options)}"
    return Skip(name, None, MISSING_TEXT, message, unit)


def has_column(text_field: str, columns: Sequence[str]) -> bool:
    """Whether a table has the column of the text field (or of the top of its dotted path)."""
    return text_field in columns or text_field.split(".")[0] in columns


# How a text field that holds a whole HTML page starts (lower-cased, within its first characters).
PAGE_STARTS = ("<!doctype html", "<html")
PAGE_START_CHARS = 64


def looks_like_html_page(text: str) -> bool:
    """A whole HTML page stored in a text field (a crawler's ``html`` column)."""
    start = text[:PAGE_START_CHARS].lstrip().lower()
    return start.startswith(PAGE_STARTS)
