"""In-memory inputs for ``dedup.scan``: texts, records and tables that are not files.

What ``dedup.scan`` is given becomes a list of inputs (``as_inputs``)::

    "seeds/", Path("a.jsonl")             one path (a string is never iterated per character)
    ["a.jsonl", Path("b/")]               many paths
    iter(texts), a generator, a Series    texts: ids 0, 1, … (an Arrow array or chunked array of strings too)
    [{"id": …, "text": …}, …]             records: ``id_field`` and ``text_field`` (dotted paths too)
    a polars or pandas DataFrame, a pyarrow Table or RecordBatch, an object with ``__arrow_c_stream__``,
    a Hugging Face ``datasets.Dataset``   a table: one document per row
    [DataFrame, "more/", Table]           tables and paths, each read in turn

An in-memory input is read as a file is, through ``dedup.sources``: every row or item is a document or a
``Skip`` with its reason, named ``<memory>`` (an iterable), ``<DataFrame>``, ``<DataFrame 2>``, … (tables,
numbered from the second), with the row or item number from 1 as its line. An exception raised by the
caller's own iterator is the caller's, and propagates. Neither pandas nor datasets is a dependency: both
are recognized by their type's module.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from dedup.errors import InputError
from dedup.formats.fields import has_column, missing_column, named_record_document, text_document
from dedup.formats.records import PageReading, Record, Skip
from dedup.options import ReadOptions

ITEM, ROW = "item", "row"
MEMORY_NAME = "<memory>"
TABLE_NAME = "<DataFrame>"
_BATCH_ROWS = 1024  # rows turned into Python records at a time

Given = str | Path  # a path: a string as the user gave it, any other path-like object as a Path


@dataclass(frozen=True, slots=True)
class MemoryInput:
    """Documents held in memory: an iterable of texts or records, or a table.

    Attributes:
        name: how messages and the ``source`` column name it (``<memory>``, ``<DataFrame 2>``).
        items: an iterable of texts or mappings (``table`` is None then).
        table: a source of Arrow record batches (``items`` is None then).
    """

    name: str
    items: Iterable[object] | None = None
    table: pa.RecordBatchReader | None = None

    def __str__(self) -> str:
        return self.name


Inputs = list[Given | MemoryInput]


def as_inputs(given: object) -> Inputs:
    """What ``dedup.scan`` was given, as a list of paths and in-memory inputs (see the module's docstring).

    Raises:
        InputError: something that is neither a path, nor an iterable, nor a table.
    """
    if _is_path(given):
        return [_path(given)]
    tables = _table_names()
    table = _table(given)
    if table is not None:
        return [MemoryInput(next(tables), table=table)]
    if isinstance(given, Sequence) and not isinstance(given, str):
        if not given:
            return []
        # Tables and paths are read each in turn; the first item that is neither makes it one iterable.
        inputs: Inputs = []
        for item in given:
            table = None if _is_path(item) else _table(item)
            if not _is_path(item) and table is None:
                break
            inputs.append(_path(item) if table is None else MemoryInput(next(tables), table=table))
        else:
            return inputs
    if isinstance(given, pa.Array | pa.ChunkedArray):  # a column of texts: iterated, it gives Arrow scalars
        return [MemoryInput(MEMORY_NAME, items=_arrow_values(given))]
    if isinstance(given, Iterable) and not isinstance(given, bytes | bytearray | Mapping):
        return [MemoryInput(MEMORY_NAME, items=given)]
    raise InputError(
        f"cannot read an object of type {type(given).__name__}: give paths, an iterable of texts or records, or a table"
    )


def paths_of(inputs: Sequence[Given | MemoryInput]) -> list[Given]:
    """The paths among the inputs (what exists on disk: outputs must not overlap them)."""
    return [given for given in inputs if not isinstance(given, MemoryInput)]


def in_memory(inputs: Sequence[object]) -> list[MemoryInput]:
    return [given for given in inputs if isinstance(given, MemoryInput)]


def _is_path(given: object) -> bool:
    return isinstance(given, str | os.PathLike)


def _path(given: Any) -> Given:
    return given if isinstance(given, str) else Path(os.fspath(given))


def _table_names() -> Iterator[str]:
    """``<DataFrame>``, ``<DataFrame 2>``, …: the names of the tables of one call, in order."""
    yield TABLE_NAME
    for number in itertools.count(2):
        yield f"<DataFrame {number}>"


def _table(given: object) -> pa.RecordBatchReader | None:
    """The Arrow record batches of a table, or None when ``given`` is no table dedup knows."""
    if isinstance(given, pa.Table):
        return pa.RecordBatchReader.from_batches(given.schema, given.to_batches(_BATCH_ROWS))
    if isinstance(given, pa.RecordBatch):
        return pa.RecordBatchReader.from_batches(given.schema, [given])
    if isinstance(given, pl.DataFrame):
        return _table(given.to_arrow())
    package = type(given).__module__.split(".")[0]
    if package == "datasets" and hasattr(given, "with_format") and hasattr(given, "features"):
        return _dataset_batches(given)
    if package == "pandas":  # a DataFrame is a table; a Series, like polars', is an iterable of texts
        return _table(pa.Table.from_pandas(given, preserve_index=False)) if hasattr(given, "columns") else None
    if hasattr(given, "__arrow_c_stream__") and not isinstance(given, pl.Series | pa.Array | pa.ChunkedArray):
        return pa.RecordBatchReader.from_stream(given)
    return None


def _arrow_values(column: pa.Array | pa.ChunkedArray) -> Iterator[object]:
    """The Python values of an Arrow column (texts, or what becomes a skip), a chunk at a time."""
    for chunk in column.chunks if isinstance(column, pa.ChunkedArray) else [column]:
        yield from chunk.to_pylist()


def _dataset_batches(dataset: Any) -> pa.RecordBatchReader:
    """The rows of a Hugging Face ``datasets.Dataset`` as Arrow batches, in its order (after select, shuffle)."""
    tables = dataset.with_format("arrow").iter(batch_size=_BATCH_ROWS)
    first = next(tables, None)
    if first is None:
        schema = dataset.features.arrow_schema
        return pa.RecordBatchReader.from_batches(schema, [])
    schema = first.schema

    def batches() -> Iterator[pa.RecordBatch]:
        for table in (first, *tables):
            yield from table.to_batches()

    return pa.RecordBatchReader.from_batches(schema, batches())


def read_memory(given: MemoryInput, options: ReadOptions) -> Iterator[Record | PageReading]:
    """Every document of an in-memory input, and a skip for every row or item that holds none."""
    if given.table is not None:
        yield from _table_rows(given.name, given.table, options)
    elif given.items is not None:
        yield from _items(given.name, given.items, options)


def _items(name: str, items: Iterable[object], options: ReadOptions) -> Iterator[Record | PageReading]:
    """Texts (ids 0, 1, …) and records; anything else is a skip. The caller's iterator may raise: that propagates."""
    for position, given in enumerate(items):
        number = position + 1
        item = given.as_py() if isinstance(given, pa.Scalar) else given  # iter() of an Arrow column gives scalars
        if isinstance(item, str):
            yield from text_document(item, str(position), number, name, options, ITEM)
        elif isinstance(item, Mapping):
            yield from named_record_document(item, number, name, str(position), options, ITEM)
        else:
            message = f"not a text or a record ({type(item).__name__})"
            yield Skip(name, number, "not a text or a record", message, ITEM)


def _table_rows(name: str, table: pa.RecordBatchReader, options: ReadOptions) -> Iterator[Record | PageReading]:
    """One document per row: the text and id columns by name, or by dotted path into structs."""
    columns = table.schema.names
    if not has_column(options.text_field, columns):
        first = next(iter(table), None)
        first_row = first.slice(0, 1).to_pylist()[0] if first is not None and first.num_rows else None
        yield missing_column(columns, first_row, name, options, ROW)
        return
    heads = {options.text_field, options.id_field, options.text_field.split(".")[0], options.id_field.split(".")[0]}
    wanted = [column for column in columns if column in heads]
    number = 0
    for batch in table:
        for row in batch.select(wanted).to_pylist():
            number += 1
            yield from named_record_document(row, number, name, str(number - 1), options, ROW)


def no_such_path_hint(given: Given) -> str:
    """A hint for a path that does not exist but reads like text: the caller may have meant texts."""
    if any(character.isspace() for character in str(given)):
        return "; to scan texts rather than paths, pass an iterator of them: dedup.scan(iter(texts))"
    return ""
