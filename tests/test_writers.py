"""Writers: each format's cleaned copy keeps everything but the cleaned text."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dedup.errors import InputError, OutputError
from dedup.options import ReadOptions
from dedup.sources import Document
from dedup.writers import CleanedDocument, write_jsonl, write_parquet, write_text, writer_for


def document(doc_id: str, text: str, source: Path, line: int = 1) -> Document:
    return Document(doc_id, text, str(source), line)


def test_writers_by_suffix() -> None:
    assert writer_for(Path("a/page.TXT")).write is write_text
    assert writer_for(Path("a/page.md")).suffix is None
    assert writer_for(Path("notes.log")).suffix is None  # named on purpose and read as text: keeps its name
    assert writer_for(Path("crawl.ndjson")).write is write_jsonl
    assert writer_for(Path("crawl.parquet")).write is write_parquet


def test_text_writer_writes_the_cleaned_text_in_the_input_encoding(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_bytes("Grüße\r\nzwei".encode("latin-1"))
    target = tmp_path / "out.txt"
    written = write_text(
        source,
        target,
        [CleanedDocument(document("in.txt", "Grüße\r\nzwei", source), "Grüße\r\n")],
        ReadOptions(encoding="latin-1"),
    )
    assert written == 1 and target.read_bytes() == "Grüße\r\n".encode("latin-1")
    assert (
        write_text(
            source, tmp_path / "none.txt", [CleanedDocument(document("in.txt", "x", source), None)], ReadOptions()
        )
        == 0
    )
    assert not (tmp_path / "none.txt").exists()
    with pytest.raises(OutputError, match="cannot encode the text as ascii"):
        write_text(
            source, target, [CleanedDocument(document("in.txt", "x", source), "Grüße")], ReadOptions(encoding="ascii")
        )
    two = [CleanedDocument(document("a", "x", source), "x")] * 2
    with pytest.raises(OutputError, match=r"in\.txt: holds 2 documents and there is no writer for \.txt files"):
        write_text(source, target, two, ReadOptions())


def test_jsonl_writer_refuses_a_record_that_changed_since_the_scan(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "text": "now different"}) + "\n", encoding="utf-8")
    scanned = [CleanedDocument(document("a", "as scanned", source), "as")]
    with pytest.raises(InputError, match=r"in\.jsonl:1: changed since it was scanned; run clean again"):
        write_jsonl(source, tmp_path / "out.jsonl", scanned, ReadOptions())
    missing = [CleanedDocument(document("a", "now different", source, 5), "x")]
    with pytest.raises(InputError, match=r"in\.jsonl:5: changed since it was scanned"):
        write_jsonl(source, tmp_path / "out.jsonl", missing, ReadOptions())


def test_parquet_writer_replaces_the_text_column_and_keeps_the_rest(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": ["a", "b", "c", "d"],
            "text": ["one\ntwo", "three", "four", None],
            "score": pa.array([0.5, 1.5, None, 2.0], type=pa.float32()),
            "tags": [["x"], [], ["y", "z"], None],
        }
    ).replace_schema_metadata({"origin": "crawler 7"})
    source = tmp_path / "in.parquet"
    pq.write_table(table, source, row_group_size=2)
    documents = [
        CleanedDocument(document("a", "one\ntwo", source, 1), "one"),
        CleanedDocument(document("b", "three", source, 2), None),
        CleanedDocument(document("c", "four", source, 3), "four"),
    ]
    target = tmp_path / "out.parquet"
    assert write_parquet(source, target, documents, ReadOptions()) == 2
    written = pq.read_table(target)
    assert written.schema == table.schema and written.schema.metadata == table.schema.metadata
    assert written.to_pylist() == [
        {"id": "a", "text": "one", "score": 0.5, "tags": ["x"]},
        {"id": "c", "text": "four", "score": None, "tags": ["y", "z"]},
    ]
    changed = [CleanedDocument(document("b", "not what the file holds", source, 2), "x")]
    with pytest.raises(InputError, match=r"in\.parquet, row 2: changed since it was scanned"):
        write_parquet(source, tmp_path / "again.parquet", changed, ReadOptions())
