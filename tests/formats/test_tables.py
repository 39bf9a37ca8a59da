"""CSV, TSV and Parquet: configurable id and text columns, dotted paths into structs, bad rows named."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dedup.options import ReadOptions
from dedup.sources import ReadStats, read_documents
from tests.builders import COMPRESSIONS, csv_records


def _read(path: Path, **options: str | int) -> tuple[list, ReadStats]:
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
    path.write_text("url,content\nhttps://example.org/a-long-address,hello world\n")
    documents, stats = _read(path)
    assert documents == []
    assert [str(s) for s in stats.skips] == [
        f"{path}: no column 'text' (columns: 'url', 'content'); the longest text is in 'content': read it with"
        " --text-field content (and choose the id with --id-field, as there is no 'id' field either)"
    ]
    path.write_text("url,content\n")  # no row to tell which column holds the text
    assert [str(s) for s in _read(path)[1].skips] == [
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
    assert [str(s) for s in stats.skips] == [f"{path}, row 2: field 'content.body' is null"]


def test_parquet_text_that_is_no_string_and_a_missing_column(tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.parquet"
    pq.write_table(pa.table({"id": ["a"], "text": [42]}), numbers)
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"id": ["a"], "body": ["hello"]}), other)
    documents, stats = _read(tmp_path)
    assert documents == []
    assert [str(s) for s in stats.skips] == [
        f"{numbers}, row 1: field 'text' is int, not a string",
        f"{other}: no column 'text' (columns: 'id', 'body'); the longest text is in 'body': read it with"
        " --text-field body",
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


def test_a_cut_compressed_csv_keeps_the_whole_rows_before_the_cut(tmp_path: Path) -> None:
    data = csv_records(3000)
    compressed = COMPRESSIONS[".zst"](data)
    path = tmp_path / "rows.csv.zst"
    path.write_bytes(compressed[: len(compressed) // 2])
    documents, stats = _read(path)
    rows = list(csv.reader(io.StringIO(data.decode())))[1:]
    assert 0 < len(documents) < 3000
    assert [(d.doc_id, d.text) for d in documents] == [(r[0], r[1]) for r in rows[: len(documents)]]  # none cut short
    assert [s.reason for s in stats.skips] == ["corrupt compressed data"]
    assert stats.skips[0].message.startswith(f"compressed data cut off after {len(documents):,} record(s)")


def test_csv_is_read_row_by_row_in_one_encoding_with_bad_bytes_counted(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,text\n1,café crème\n2,\r\n".encode("cp1252") + b"3,bad \x81 byte\r\n4,\xe9t\xe9\n")
    documents, stats = _read(path, encoding="cp1252")
    assert [(d.doc_id, d.text, d.source_line) for d in documents] == [
        ("1", "café crème", 2),
        ("3", "bad \ufffd byte", 4),  # 0x81 is no windows-1252 character
        ("4", "été", 5),
    ]
    assert [str(s) for s in [*stats.skips, *stats.warnings]] == [
        f"{path}:3: empty text",
        f"{path}: 1 undecodable byte sequence(s) replaced by U+FFFD (read as cp1252)",
    ]


def test_a_csv_row_over_the_limit_ends_the_reading_of_its_file(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text('id,text\n1,small\n2,"' + "word " * 50_000 + '\nstill the same cell"\n3,never read\n')
    documents, stats = _read(path, max_document_bytes=100_000)
    assert [d.doc_id for d in documents] == ["1"]
    assert [str(s) for s in stats.skips] == [
        f"{path}:3: row of more than 100,000 bytes, over the limit of 100,000 (--max-document-bytes): not read,"
        " nor the rest of the file"
    ]


def test_a_parquet_row_group_whose_rows_are_over_the_limit_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "large.parquet"
    with pq.ParquetWriter(path, pa.schema({"id": pa.string(), "text": pa.string()})) as writer:
        writer.write_table(pa.table({"id": ["a", "b"], "text": ["small one", "small two"]}))
        writer.write_table(pa.table({"id": ["huge"], "text": ["x" * 300_000]}))  # one row group, compressed to bytes
        writer.write_table(pa.table({"id": ["c"], "text": ["after it"]}))
    documents, stats = _read(path, max_document_bytes=100_000)
    assert [d.doc_id for d in documents] == ["a", "b", "c"]
    assert [(s.line, s.reason) for s in stats.skips] == [(3, "document too large")]
    assert str(stats.skips[0]).startswith(f"{path}, row 3: rows 3 to 3: a row group holding ")


def test_a_parquet_text_over_the_limit_is_skipped_as_too_large(tmp_path: Path) -> None:
    path = tmp_path / "large.parquet"
    pq.write_table(pa.table({"id": [str(i) for i in range(100)], "text": ["x" * 2_000] * 99 + ["é" * 40_000]}), path)
    documents, stats = _read(path, max_document_bytes=50_000)
    assert len(documents) == 99
    assert [str(s) for s in stats.skips] == [
        f"{path}, row 100: text of 80,000 bytes, over the limit of 50,000 (--max-document-bytes): not read"
    ]
