"""CSV, TSV and Parquet: configurable id and text columns, dotted paths into structs, bad rows named."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dedup.options import ReadOptions
from dedup.sources import ReadStats, read_documents


def _read(path: Path, **options: str) -> tuple[list, ReadStats]:
    stats = ReadStats()
    documents = list(read_documents([path], ReadOptions(**options), stats))
    return documents, stats


def test_csv_rows_with_chosen_columns(tmp_path: Path) -> None:
    path = tmp_path / "pages.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["url", "body", "lang"])
        writer.writerow(["https://a", "first page", "en"])
        writer.writerow(["https://b", "a cell\nover two lines, with a comma", "en"])
        writer.writerow(["https://c", "", "en"])
        writer.writerow(["https://d", "last page", "en"])
    documents, stats = _read(path, id_field="url", text_field="body")
    assert [(d.doc_id, d.text, d.source_line) for d in documents] == [
        ("https://a", "first page", 2),
        ("https://b", "a cell\nover two lines, with a comma", 3),
        ("https://d", "last page", 6),
    ]
    assert [str(s) for s in stats.skips] == [f"{path}:5: empty text"]


def test_csv_bad_rows_are_named_by_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text('id,text\n1,good one\n2,"stray "quote" inside"\n3\n4,good two,extra\n5,"never closed\n')
    documents, stats = _read(path)
    assert [d.doc_id for d in documents] == ["1"]
    assert [(s.line, s.reason) for s in stats.skips] == [
        (3, "malformed CSV"),
        (4, "malformed CSV"),
        (5, "malformed CSV"),
        (6, "malformed CSV"),
    ]
    assert str(stats.skips[1]) == f"{path}:4: 1 value(s) where the header has 2 columns"
    assert stats.records == 5


def test_csv_without_the_text_column_is_one_skip_that_names_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("url,content\nhttps://a,hello\n")
    documents, stats = _read(path)
    assert documents == []
    assert [str(s) for s in stats.skips] == [
        f"{path}: no column 'text' (columns: 'url', 'content'); choose the text column with --text-field"
    ]


def test_tsv_and_a_cell_far_over_the_csv_module_default_limit(tmp_path: Path) -> None:
    big = "word " * 100_000  # 500 KB, the csv module refuses more than 128 KiB by default
    (tmp_path / "pages.tsv").write_text(f"id\ttext\nbig\t{big}\nsmall\tsmall page\n")
    documents, stats = _read(tmp_path / "pages.tsv")
    assert [(d.doc_id, len(d.text)) for d in documents] == [("big", len(big)), ("small", 10)]
    assert csv.field_size_limit() == 131072  # the reader restores the module's limit
    assert not stats.skips


def test_parquet_rows_with_nested_struct_fields(tmp_path: Path) -> None:
    path = tmp_path / "pages.parquet"
    table = pa.table(
        {
            "meta": [{"url": "https://a", "lang": "en"}, {"url": "https://b", "lang": "de"}, {"url": None, "lang": ""}],
            "content": [{"body": "first page"}, {"body": None}, {"body": "third page"}],
            "length": [10, 0, 10],
        }
    )
    pq.write_table(table, path)
    documents, stats = _read(path, id_field="meta.url", text_field="content.body")
    assert [(d.doc_id, d.text, d.source_line) for d in documents] == [
        ("https://a", "first page", 1),
        (f"{path.as_posix()}:3", "third page", 3),
    ]
    assert [str(s) for s in stats.skips] == [f"{path}, row 2: no 'content.body' field"]


def test_parquet_text_that_is_no_string_and_a_missing_column(tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.parquet"
    pq.write_table(pa.table({"id": ["a"], "text": [42]}), numbers)
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"id": ["a"], "body": ["hello"]}), other)
    documents, stats = _read(tmp_path)
    assert documents == []
    assert [str(s) for s in stats.skips] == [
        f"{numbers}, row 1: field 'text' is int, not a string",
        f"{other}: no column 'text' (columns: 'id', 'body'); choose the text column with --text-field",
    ]


def test_a_corrupt_parquet_file_is_skipped_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    pq.write_table(pa.table({"text": ["some text"] * 100}), path)
    data = path.read_bytes()
    path.write_bytes(data[:10] + bytes(len(data) - 20) + data[-10:])  # footer kept, pages zeroed
    documents, stats = _read(path)
    assert documents == []
    assert [s.reason for s in stats.skips] == ["malformed Parquet"]
    assert str(stats.skips[0]).startswith(f"{path}")
