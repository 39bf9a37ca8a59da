"""Reading folders, files, globs, stdin and every format; bad input is skipped with file and line, never lost."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

import dedup
from dedup import schema as S
from dedup import sources
from dedup.errors import InputError, NoDocumentsError
from dedup.formats.detect import HEAD_BYTES, decompressed_head
from dedup.options import ReadOptions
from dedup.sources import Document, Input, ReadStats, Record, Skip, batches, read_documents, require_documents
from tests.builders import COMPRESSIONS, gzip_bomb, jsonl_records, peak_python_bytes


def _read(paths: list[str | Path], **options: str | int) -> tuple[list, ReadStats]:
    stats = ReadStats()
    documents = list(read_documents(paths, ReadOptions(**options), stats))
    return documents, stats


def test_folder_ids_are_paths_relative_to_the_folder(seeds: Path) -> None:
    documents, stats = _read([seeds])
    assert [d.doc_id for d in documents] == sorted(p.name for p in seeds.glob("*.txt"))
    assert stats.files == 3 and stats.documents == 3 and not stats.skips


def test_folders_are_read_recursively_in_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.md").write_text("zed")
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / ".hidden.txt").write_text("not read")
    documents, _ = _read([tmp_path])
    assert [d.doc_id for d in documents] == ["a.txt", "b/z.md"]


def test_single_files_and_globs(seeds: Path) -> None:
    one = sorted(seeds.glob("*.txt"))[0]
    documents, _ = _read([one, str(seeds / "00[12]*.txt")])
    assert [Path(d.doc_id).name for d in documents] == [p.name for p in sorted(seeds.glob("*.txt"))]


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        _read([tmp_path / "nope"])
    with pytest.raises(InputError, match="matches no file"):
        _read([str(tmp_path / "*.nothing")])


def test_jsonl_records_fields_and_skips(tmp_path: Path) -> None:
    path = tmp_path / "pages.jsonl"
    lines = [
        json.dumps({"id": "a", "text": "first page"}),
        json.dumps({"text": "no id here"}),
        "{not json",
        json.dumps({"id": "c"}),
        json.dumps({"id": "d", "text": 42}),
        "",
        json.dumps(["a list"]),
        json.dumps({"id": "e", "text": "   "}),
        json.dumps({"id": "f", "text": "last page"}),
    ]
    path.write_text("\n".join(lines) + "\n")
    documents, stats = _read([path])
    assert [d.doc_id for d in documents] == ["a", f"{path.as_posix()}:2", "f"]
    assert [d.source_line for d in documents] == [1, 2, 9]
    assert [(s.line, s.reason) for s in stats.skips] == [
        (3, "malformed JSON"),
        (4, "missing text"),
        (5, "text not a string"),
        (7, "not an object"),
        (8, "empty"),
    ]
    assert str(stats.skips[0]).startswith(f"{path}:3: malformed JSON")
    assert stats.records == 8  # every non-blank line is accounted for


def test_jsonl_fields_are_configurable_and_nested(tmp_path: Path) -> None:
    path = tmp_path / "nested.ndjson"
    path.write_text(json.dumps({"meta": {"url": "https://x/1"}, "body": {"content": "hello there"}}) + "\n")
    documents, _ = _read([path], id_field="meta.url", text_field="body.content")
    assert [(d.doc_id, d.text) for d in documents] == [("https://x/1", "hello there")]


def test_binary_unknown_and_undecodable_files(tmp_path: Path) -> None:
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\x00\x00\x01")
    (tmp_path / "data.bin").write_bytes(b"\x00\x01")
    (tmp_path / "style.css").write_text("body { color: red }")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "damaged.txt").write_bytes("crème brûlée à la carte".encode() + b"\xff")
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfwith bom")
    (tmp_path / "empty.txt").write_text("")
    documents, stats = _read([tmp_path])
    assert {d.doc_id: d.text for d in documents} == {
        "bom.txt": "with bom",
        "damaged.txt": "crème brûlée à la carte\ufffd",
        "latin1.txt": "café au lait",  # detected, not replaced
    }
    assert [(Path(s.source).name, s.reason) for s in stats.skips] == [
        ("data.bin", "binary file"),
        ("empty.txt", "empty"),
        ("image.txt", "binary file"),
        ("style.css", "unknown format"),
    ]
    assert [str(w) for w in stats.warnings] == [
        f"{tmp_path / 'damaged.txt'}: 1 undecodable byte sequence(s) replaced by U+FFFD (read as utf-8)"
    ]


def test_no_documents_is_a_clear_error(tmp_path: Path) -> None:
    _, stats = _read([tmp_path])
    with pytest.raises(NoDocumentsError, match=f"no documents found in {tmp_path}"):
        require_documents(stats, [tmp_path])


def test_a_repeated_id_is_renamed_where_the_document_stands_with_a_warning(tmp_path: Path) -> None:
    shard = "".join(json.dumps({"id": str(i), "text": f"record {i} of this shard"}) + "\n" for i in range(3))
    (tmp_path / "a.jsonl").write_text(shard + json.dumps({"id": "1", "text": "the same id in one file"}) + "\n")
    (tmp_path / "b.jsonl").write_text(shard)
    (tmp_path / "c.txt").write_text("a text file whose id a record takes")
    (tmp_path / "d.jsonl").write_text(json.dumps({"id": "c.txt", "text": "a record named like the file"}) + "\n")
    documents, stats = _read([tmp_path])
    a, b, d = (str(tmp_path / name) for name in ("a.jsonl", "b.jsonl", "d.jsonl"))
    assert [doc.doc_id for doc in documents] == [
        "0", "1", "2", f"1 ({a}:4)", f"0 ({b}:1)", f"1 ({b}:2)", f"2 ({b}:3)", "c.txt", f"c.txt ({d}:1)",
    ]  # fmt: skip
    assert [str(w) for w in stats.warnings][:2] == [
        f"{a}: id '1' was taken by an earlier document; this one is now '1 ({a}:4)'",
        f"{b}: id '0' was taken by an earlier document; this one is now '0 ({b}:1)'",
    ]
    assert len(stats.warnings) == 5 and stats.documents == 9


def test_a_new_id_that_is_taken_too_is_renamed_again(tmp_path: Path) -> None:
    path = tmp_path / "pages.jsonl"
    lines = [{"id": "x", "text": "first"}, {"id": f"x ({path}:3)", "text": "second"}, {"id": "x", "text": "third"}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    documents, stats = _read([path])
    assert [d.doc_id for d in documents] == ["x", f"x ({path}:3)", f"x ({path}:3) ({path}:3)"]
    assert [str(w) for w in stats.warnings] == [
        f"{path}: id 'x' was taken by an earlier document; this one is now 'x ({path}:3) ({path}:3)'"
    ]


def test_lone_surrogates_from_json_escapes_become_replacement_characters_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "pages.jsonl"
    path.write_bytes(b'{"id": "x\\ud800", "text": "an id with half a pair"}\n{"id": "y", "text": "a \\udc00 text"}\n')
    documents, stats = _read([path])
    assert [(d.doc_id, d.text) for d in documents] == [("x\ufffd", "an id with half a pair"), ("y", "a \ufffd text")]
    assert [str(w) for w in stats.warnings] == [
        f"{path}:1: 1 lone surrogate(s) in the id replaced by U+FFFD",
        f"{path}:2: 1 lone surrogate(s) replaced by U+FFFD",
    ]
    result = dedup.scan([path], out=tmp_path / "out")  # every table and scan.json can hold them now
    assert result.documents[S.DOC_ID].to_list() == ["x\ufffd", "y"]


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses file names that are not UTF-8")
def test_a_file_name_that_is_not_utf8_is_read_and_shown_with_a_replacement_character(tmp_path: Path) -> None:
    (tmp_path / os.fsdecode(b"caf\xe9.txt")).write_text("a page whose file name is Latin-1")
    documents, stats = _read([tmp_path])
    assert [(d.doc_id, d.text) for d in documents] == [("caf\ufffd.txt", "a page whose file name is Latin-1")]
    assert documents[0].source == str(tmp_path / "caf\ufffd.txt") and not stats.skips


def test_batches_are_bounded_by_characters(seeds: Path) -> None:
    documents, _ = _read([seeds])
    frames = list(batches(iter(documents), batch_chars=3000))
    assert [f.height for f in frames] == [2, 1]
    assert sum(f.height for f in frames) == len(documents)


# Formats by extension and by content ------------------------------------------------------------------------


def test_json_files_hold_an_array_or_one_object_or_are_json_lines(tmp_path: Path) -> None:
    (tmp_path / "array.json").write_text(json.dumps([{"id": "a", "text": "one"}, {"text": "two"}, "not an object"]))
    (tmp_path / "object.json").write_text(json.dumps({"id": "o", "text": "alone"}, indent=2))
    (tmp_path / "lines.json").write_text(json.dumps({"id": "l1", "text": "first"}) + "\n{broken\n")
    documents, stats = _read([tmp_path])
    assert [(d.doc_id, d.text) for d in documents] == [
        ("a", "one"),
        ("array.json:2", "two"),
        ("l1", "first"),
        ("o", "alone"),
    ]
    assert [str(s) for s in stats.skips] == [
        f"{tmp_path / 'array.json'}, item 3: expected a JSON object, got str",
        f"{tmp_path / 'lines.json'}:2: malformed JSON (Expecting property name enclosed in double quotes: column 2)",
    ]


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [
        (".gz", gzip.compress),
        (".zst", lambda data: zstandard.ZstdCompressor().compress(data)),
        (".bz2", bz2.compress),
        (".xz", lzma.compress),
    ],
)
def test_compressed_files_by_extension_and_by_magic_bytes(tmp_path: Path, suffix: str, compress: Callable) -> None:
    lines = "".join(json.dumps({"id": f"r{i}", "text": f"record {i}"}) + "\n" for i in range(3)).encode()
    (tmp_path / f"pages.jsonl{suffix}").write_bytes(compress(lines))
    (tmp_path / "mislabeled.html").write_bytes(compress(b"<html><body><p>a page saved compressed</p></body></html>"))
    (tmp_path / f"noext{suffix}").write_bytes(compress(b"<!doctype html><p>sniffed after decompression</p>"))
    documents, stats = _read([tmp_path])
    assert [(d.doc_id, d.text) for d in documents] == [
        ("mislabeled.html", "a page saved compressed"),
        (f"noext{suffix}", "sniffed after decompression"),
        ("r0", "record 0"),
        ("r1", "record 1"),
        ("r2", "record 2"),
    ]
    assert not stats.skips and stats.files == 3


def test_cut_off_compressed_data_keeps_the_records_before_it(tmp_path: Path) -> None:
    lines = "".join(json.dumps({"id": f"r{i}", "text": f"record number {i} " * 50}) + "\n" for i in range(400))
    data = gzip.compress(lines.encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) * 3 // 4])
    documents, stats = _read([path])
    assert 0 < len(documents) < 400
    assert [d.doc_id for d in documents] == [f"r{i}" for i in range(len(documents))]
    assert [(s.source, s.reason) for s in stats.skips] == [(str(path), "corrupt compressed data")]
    assert stats.skips[0].message == (
        f"compressed data cut off after {len(documents)} record(s), which are kept"
        " (Compressed file ended before the end-of-stream marker was reached)"
    )


@pytest.mark.parametrize("suffix", COMPRESSIONS)
@pytest.mark.parametrize(("name", "data"), [("pages.jsonl", jsonl_records(400)), ("page.txt", b"word " * 200_000)])
def test_cut_compressed_data_is_detected_in_every_compression(
    tmp_path: Path, suffix: str, name: str, data: bytes
) -> None:
    compressed = COMPRESSIONS[suffix](data)
    path = tmp_path / f"{name}{suffix}"
    path.write_bytes(compressed[: len(compressed) * 3 // 4])  # zstd read this as complete, and kept a line cut short
    documents, stats = _read([path])
    if name.endswith(".jsonl"):
        assert len(documents) < 400 and [d.doc_id for d in documents] == [f"r{i}" for i in range(len(documents))]
        assert all(d.text == json.loads(data.splitlines()[i])["text"] for i, d in enumerate(documents))
    else:
        assert documents == []  # a document the cut goes through is never read
    assert [s.reason for s in stats.skips] == ["corrupt compressed data"] and "cut off" in stats.skips[0].message


def test_the_head_of_a_zstd_bomb_is_decompressed_only_as_far_as_it_is_looked_at() -> None:
    bomb = zstandard.ZstdCompressor().compress(bytes(64 << 20))  # 64 MiB of zeros in 2 KB
    assert len(bomb) < 16_384 and decompressed_head(bomb, "zstd") == bytes(HEAD_BYTES)


def test_a_mixed_folder_reads_each_file_by_its_format(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text("<html><body><p>an html page</p></body></html>")
    (tmp_path / "page-without-extension").write_text("<!DOCTYPE html><html><body><p>sniffed page</p></body></html>")
    (tmp_path / "php-page.php").write_text("<html><body><p>a page from a php url</p></body></html>")
    (tmp_path / "notes").write_text("plain text without an extension")
    (tmp_path / "records.jsonl").write_text(json.dumps({"id": "j", "text": "a json line"}) + "\n")
    (tmp_path / "rows.csv").write_text("id,text\nc,a csv row\n")
    pq.write_table(pa.table({"id": ["p"], "text": ["a parquet row"]}), tmp_path / "table.parquet")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (tmp_path / "paper.pdf").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n")
    with zipfile.ZipFile(tmp_path / "bundle.zip", "w") as bundle:
        bundle.writestr("inside.txt", "text inside a zip is not read")
    documents, stats = _read([tmp_path])
    assert sorted((d.doc_id, d.text) for d in documents) == [
        ("c", "a csv row"),
        ("j", "a json line"),
        ("notes", "plain text without an extension"),
        ("p", "a parquet row"),
        ("page-without-extension", "sniffed page"),
        ("page.html", "an html page"),
        ("php-page.php", "a page from a php url"),
    ]
    assert [str(s) for s in stats.skips] == [
        f"{tmp_path / 'bundle.zip'}: ZIP archive: not a format dedup reads",
        f"{tmp_path / 'paper.pdf'}: PDF document: not a format dedup reads",
        f"{tmp_path / 'photo.png'}: PNG image: not a format dedup reads",
    ]
    assert stats.records == stats.documents + len(stats.skips) == 10


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            b'{"id": "s1", "text": "from a pipe"}\n{"text": "second"}\n',
            [("s1", "from a pipe"), ("<stdin>:2", "second")],
        ),
        (b"just some text\non two lines\n", [("<stdin>", "just some text\non two lines\n")]),
    ],
)
def test_dash_reads_standard_input(monkeypatch: pytest.MonkeyPatch, data: bytes, expected: list) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    documents, stats = _read(["-"])
    assert [(d.doc_id, d.text) for d in documents] == expected
    assert {d.source for d in documents} == {"<stdin>"} and not stats.skips


# Bad input: each read on, with a message naming the file ----------------------------------------------------


@pytest.mark.parametrize("name", ["empty.txt", "empty.html", "empty.jsonl", "empty.csv", "empty.json", "empty.warc"])
def test_empty_files_are_skipped_by_name(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"")
    (tmp_path / "z.txt").write_text("the next file")
    documents, stats = _read([tmp_path])
    assert [d.doc_id for d in documents] == ["z.txt"]
    assert [str(s) for s in stats.skips] == [f"{tmp_path / name}: empty file"]


def test_a_malformed_json_line_in_the_middle_is_named_and_the_rest_read(tmp_path: Path) -> None:
    path = tmp_path / "pages.ndjson"
    good = [json.dumps({"id": f"g{i}", "text": f"good {i}"}) for i in range(4)]
    path.write_text("\n".join([*good[:2], '{"id": "bad", "text": "unterminated', *good[2:]]) + "\n")
    documents, stats = _read([path])
    assert [d.doc_id for d in documents] == ["g0", "g1", "g2", "g3"]
    assert [str(s) for s in stats.skips] == [f"{path}:3: malformed JSON (Unterminated string starting at: column 23)"]


def test_a_100_mb_document_is_read_whole(tmp_path: Path) -> None:
    words = b"lorem ipsum dolor sit amet " * (100 * 1024 * 1024 // 27)  # cheap: one repeated bytes object
    path = tmp_path / "huge.jsonl"
    path.write_bytes(b'{"id": "small", "text": "a small page"}\n{"id": "huge", "text": "' + words + b'"}\n')
    documents, stats = _read([path])
    assert [(d.doc_id, len(d.text)) for d in documents] == [("small", 12), ("huge", len(words))]
    assert not stats.skips and not stats.warnings


def test_a_json_line_over_the_limit_is_skipped_without_being_held(tmp_path: Path) -> None:
    (tmp_path / "warm.jsonl").write_bytes(jsonl_records(3))
    _read([tmp_path / "warm.jsonl"])  # the bulk reader's kernel compiled before the measure
    path = tmp_path / "bomb.jsonl.gz"
    gzip_bomb(
        path, 64 << 20, line=b'{"id": "a", "text": "before"}\n{"text": "', tail=b'"}\n{"id": "b", "text": "after"}\n'
    )
    (documents, stats), peak = peak_python_bytes(lambda: _read([path], max_document_bytes=1 << 20))
    assert [d.doc_id for d in documents] == ["a", "b"]
    assert [str(s) for s in stats.skips] == [
        f"{path}:2: line of 67,108,877 bytes, over the limit of 1,048,576 (--max-document-bytes): not read"
    ]
    assert peak < 16 << 20  # the 64 MB line was counted, never held


@pytest.mark.parametrize("name", ["bomb.txt.gz", "bomb.html.gz", "bomb.json.gz", "bomb.csv.gz"])
def test_a_file_read_whole_that_expands_over_the_limit_is_skipped_when_it_reaches_it(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    gzip_bomb(path, 64 << 20, line=b"id,text\n1,")
    (tmp_path / "good.txt").write_text("a good file beside it")
    (documents, stats), peak = peak_python_bytes(lambda: _read([tmp_path], max_document_bytes=1 << 20))
    assert [d.doc_id for d in documents] == ["good.txt"]
    assert [s.reason for s in stats.skips] == ["document too large"]
    assert "of more than 1,048,576 bytes, over the limit of 1,048,576 (--max-document-bytes)" in str(stats.skips[0])
    assert peak < 16 << 20  # decompressed no further than the limit


def test_a_file_over_the_limit_on_disk_is_not_read_at_all(tmp_path: Path) -> None:
    path = tmp_path / "large.txt"
    path.write_bytes(b"word " * 30_000)
    _, stats = _read([path], max_document_bytes=100_000)
    assert [str(s) for s in stats.skips] == [
        f"{path}: file of 150,000 bytes, over the limit of 100,000 (--max-document-bytes): not read"
    ]


def test_zero_width_and_control_characters(tmp_path: Path) -> None:
    clean = "The quarterly report shows that sales grew by twelve percent in the northern region this year."
    invisible = (
        "The quarter\u200bly report shows that sales\u00ad grew by twelve\u200d percent in the north\ufeffern region"
        " this year."
    )
    (tmp_path / "a.txt").write_text(clean)
    (tmp_path / "b.txt").write_text(invisible)
    (tmp_path / "c.txt").write_text("Escape \x1b[2J codes and \x07 bells\x7f are no text.")
    result = dedup.scan([tmp_path])
    assert result.clusters.select(S.KIND, S.N_DOCS).rows() == [(S.EXACT, 2)]  # invisible characters do not matter
    assert result.blocks.filter(pl.col(S.DOC_ID) == "b.txt")[S.TEXT].to_list() == [invisible]  # and are kept
    assert result.blocks.filter(pl.col(S.DOC_ID) == "c.txt")[S.TEXT].to_list() == [
        "Escape  [2J codes and   bells  are no text."
    ]
    assert [str(w) for w in result.stats.warnings] == [
        f"{tmp_path / 'c.txt'}: 3 control character(s) (1 U+001B, 1 U+0007, 1 U+007F) replaced by spaces"
    ]


def test_nul_bytes_in_text_and_json_are_replaced_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "nul.txt").write_bytes(b"text from a broken scraper\x00\x00 that padded with NUL bytes")
    (tmp_path / "nul.jsonl").write_text(json.dumps({"id": "j", "text": "escaped \u0000 NUL"}) + "\n")
    documents, stats = _read([tmp_path])
    assert [(d.doc_id, d.text) for d in documents] == [
        ("j", "escaped   NUL"),
        ("nul.txt", "text from a broken scraper   that padded with NUL bytes"),
    ]
    assert [str(w) for w in stats.warnings] == [
        f"{tmp_path / 'nul.jsonl'}:1: 1 control character(s) (1 NUL) replaced by spaces",
        f"{tmp_path / 'nul.txt'}: 2 control character(s) (2 NUL) replaced by spaces",
    ]


def test_a_json_line_cut_short_is_reported_at_its_end(tmp_path: Path) -> None:
    # The second line holds 22 characters: the value is missing at column 23, where the line ends.
    (tmp_path / "cut.jsonl").write_bytes(b'{"id": "ok", "text": "fine"}\n{"id": "bad", "text": \r\n')
    _, stats = _read([tmp_path])
    assert [str(s) for s in stats.skips] == [f"{tmp_path / 'cut.jsonl'}:2: malformed JSON (Expecting value: column 23)"]


def test_json_lines_that_orjson_refuses_are_read_as_json_reads_them(tmp_path: Path) -> None:
    lines = [
        b'{"id": 123456789012345678901234567890, "text": "an id beyond 64 bits keeps every digit"}',
        b'{"id": "raw", "text": "a raw \x01 control character in the string"}',
        b'{"id": "nan", "score": NaN, "text": "NaN is not JSON, but json reads it"}',
        b'{"id": "latin", "text": "caf\xe9 in Latin-1 bytes"}',
    ]
    (tmp_path / "odd.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    documents, stats = _read([tmp_path])
    assert [(d.doc_id, d.text) for d in documents] == [
        ("123456789012345678901234567890", "an id beyond 64 bits keeps every digit"),
        ("raw", "a raw   control character in the string"),
        ("nan", "NaN is not JSON, but json reads it"),
        ("latin", "caf\ufffd in Latin-1 bytes"),
    ]
    assert sorted(w.reason for w in stats.warnings) == ["control characters", "undecodable bytes"]


def test_a_reader_that_fails_unforeseen_fails_only_its_file_and_keeps_what_it_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(source: Input, options: ReadOptions) -> Iterator[Record]:
        yield Document("first", "read before the failure", source.name)
        yield Skip(source.name, 2, "empty", "empty text")
        raise KeyError("\x1b[2J an internal bug")

    monkeypatch.setitem(sources.READERS, ".md", failing)
    (tmp_path / "a.md").write_text("anything")
    (tmp_path / "b.txt").write_text("the next file is read")
    documents, stats = _read([tmp_path])
    assert [d.doc_id for d in documents] == ["first", "b.txt"]
    assert [(s.reason, str(s)) for s in stats.skips] == [
        ("empty", f"{tmp_path / 'a.md'}:2: empty text"),
        (
            "reader error",
            f"{tmp_path / 'a.md'}: reading failed after 2 record(s), which are kept"
            " (KeyError: '\\x1b[2J an internal bug')",
        ),
    ]
    assert stats.records == 4 and not stats.skips[1].expected


def test_a_file_whose_recognition_fails_unforeseen_is_a_skip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(head: bytes) -> str | None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(sources, "sniff", failing)
    (tmp_path / "no-extension").write_text("sniffed by content")
    (tmp_path / "b.txt").write_text("read by its extension")
    documents, stats = _read([tmp_path])
    assert [d.doc_id for d in documents] == ["b.txt"]
    assert [str(s) for s in stats.skips] == [
        f"{tmp_path / 'no-extension'}: reading failed before its first record"
        " (RecursionError: maximum recursion depth exceeded)"
    ]


def test_unreadable_files_are_named_and_the_rest_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As root, chmod 000 does not stop a read, so unreadability is made three other ways:
    # a dangling symlink, a named pipe (never opened inside a folder: it could block), and an
    # open() that fails with PermissionError for one file, as it would for another user.
    (tmp_path / "a.txt").write_text("readable")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    os.mkfifo(tmp_path / "pipe.txt")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for us")
    real_open = io.open

    def refusing_open(file: object, *args: object, **kwargs: object) -> object:
        if Path(str(file)) == secret:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(io, "open", refusing_open)
    documents, stats = _read([tmp_path])
    assert [d.doc_id for d in documents] == ["a.txt"]
    assert [str(s) for s in stats.skips] == [
        f"{tmp_path / 'dangling.txt'}: cannot read: No such file or directory (a symlink to {tmp_path / 'gone.txt'})",
        f"{tmp_path / 'pipe.txt'}: a named pipe, not a regular file: not read (name it to read it)",
        f"{tmp_path / 'secret.txt'}: cannot read: Permission denied",
    ]
    assert stats.skipped_by_reason == {"not a file": 1, "unreadable": 2}


def test_symlink_loops_are_reported_once_and_not_followed(tmp_path: Path) -> None:
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "sub" / "page.txt").write_text("read once")
    (tmp_path / "docs" / "sub" / "up").symlink_to(tmp_path / "docs")  # a loop
    (tmp_path / "docs" / "self.txt").symlink_to(tmp_path / "docs" / "self.txt")  # a link to itself
    documents, stats = _read([tmp_path / "docs"])
    assert [d.doc_id for d in documents] == ["sub/page.txt"]
    assert [str(s) for s in stats.skips] == [
        f"{tmp_path / 'docs' / 'self.txt'}: cannot read: Too many levels of symbolic links "
        f"(a symlink to {tmp_path / 'docs' / 'self.txt'})",
        f"{tmp_path / 'docs' / 'sub' / 'up'}: folder already read (a symlink to {tmp_path / 'docs'})",
    ]


def test_inputs_are_never_modified(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text("<html><body><p>shared footer text of the site, long enough</p></body></html>")
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(b'{"text": "shared footer text of the site, long enough"}\n'))
    (tmp_path / "c.txt").write_bytes(b"\xef\xbb\xbfwith a BOM\x00 and a NUL")
    (tmp_path / "d.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(16))
    files = sorted(p for p in tmp_path.iterdir())
    before = [(p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_mode) for p in files]
    result = dedup.scan([tmp_path])
    result.write(tmp_path.parent / f"{tmp_path.name}-out")
    assert sorted(p for p in tmp_path.iterdir()) == files
    assert [(p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_mode) for p in files] == before


def test_a_missing_text_field_lists_the_fields_and_suggests_the_longest_text(tmp_path: Path) -> None:
    path = tmp_path / "pages.jsonl"
    records = [
        {"url": "https://a", "meta": {"lang": "de", "title": "Rost"}, "body": "A page of text, longer than the title."},
        {"url": "https://b", "text": None},
        {"url": "https://c", "content": {"html": "<p>x</p>", "plain": "the longest text of this record by far"}},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    _, stats = _read([path])
    assert [str(s) for s in stats.skips] == [
        f"{path}:1: no 'text' field (fields: 'url', 'meta.lang', 'meta.title', 'body'); the longest text is in"
        " 'body': read it with --text-field body (and choose the id with --id-field, as there is no 'id' field"
        " either)",
        f"{path}:2: field 'text' is null",
        f"{path}:3: no 'text' field (fields: 'url', 'content.html', 'content.plain'); the longest text is in"
        " 'content.plain': read it with --text-field content.plain (and choose the id with --id-field, as there"
        " is no 'id' field either)",
    ]
    documents, stats = _read([path], text_field="body", id_field="url")
    assert [(d.doc_id, d.text) for d in documents] == [("https://a", records[0]["body"])]
    assert str(stats.skips[0]) == (f"{path}:2: no 'body' field (fields: 'url', 'text'); none holds text")


def test_no_documents_counts_the_skips_by_reason_with_the_first_of_each(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"id": 1, "body": "words"}\n' * 3 + "{broken\n")
    (tmp_path / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(16))
    with pytest.raises(NoDocumentsError) as caught:
        dedup.scan([tmp_path])
    assert str(caught.value) == (
        f"no documents found in {tmp_path}; 5 skipped:\n"
        f"  3 missing text, the first: {tmp_path / 'a.jsonl'}:1: no 'text' field (fields: 'id', 'body');"
        " the longest text is in 'body': read it with --text-field body\n"
        f"  1 malformed JSON, the first: {tmp_path / 'a.jsonl'}:4: malformed JSON (Expecting property name enclosed"
        " in double quotes: column 2)\n"
        f"  1 binary file, the first: {tmp_path / 'b.png'}: PNG image: not a format dedup reads"
    )
    assert len(caught.value.skips) == 5


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.binary(max_size=40).map(lambda line: line.replace(b"\n", b"")), max_size=30),
    st.booleans(),
    st.integers(1, 64),
)
def test_line_ranges_cut_a_file_at_line_starts_into_pieces_that_read_as_it(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], last_ended: bool, piece_bytes: int
) -> None:
    data = b"\n".join(lines) + (b"\n" if last_ended and lines else b"")
    path = tmp_path_factory.mktemp("pieces") / "lines.jsonl"
    path.write_bytes(data)
    ranges = sources.line_ranges(path, piece_bytes)
    assert b"".join(data[start:end] for start, end in ranges) == data
    assert all(data[start - 1 : start] == b"\n" for start, _ in ranges[1:])  # each piece opens a line
    assert all(end - start >= piece_bytes for start, end in ranges[:-1])  # none cut short but the last
    counted = [sources.range_lines(path, start, end) for start, end in ranges]
    assert sum(ends for ends, _ in counted) == data.count(b"\n")
    assert [content for _, content in counted] == [bool(data[s:e].strip(b" \t\r\n")) for s, e in ranges]
    for start, end in ranges:
        with sources.Piece(start, end, 1).opener(path)() as stream:
            assert stream.read() == data[start:end]


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (KeyError("a bug"), "reading failed after 2 record(s) from line 7, which are kept (KeyError: 'a bug')"),
        (
            OSError(5, "Input/output error"),
            "cannot read (the piece from line 7): Input/output error; the 2 record(s) before were read",
        ),
    ],
)
def test_a_piece_that_fails_says_from_which_line_its_records_count(
    error: Exception, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Spark task reads a piece of a large file: "after 2 records" would send the reader to the file's start."""

    def failing(source: Input, options: ReadOptions) -> Iterator[Record]:
        yield Document("a", "the first record of the piece", source.name, source.first_line)
        yield Document("b", "the second record of the piece", source.name, source.first_line + 1)
        raise error

    monkeypatch.setitem(sources.READERS, ".jsonl", failing)
    path = tmp_path / "large.jsonl"
    path.write_text("".join(json.dumps({"text": f"line {n}"}) + "\n" for n in range(1, 13)))
    start = sum(len(json.dumps({"text": f"line {n}"})) + 1 for n in range(1, 7))
    piece = sources.Piece(start, path.stat().st_size, 7)
    stats = ReadStats()
    found = sources.Found(path, str(path), path.as_posix(), True)
    read = list(sources.read_file(found, ReadOptions(), stats, piece))
    assert [document.doc_id for document in read if isinstance(document, Document)] == ["a", "b"]
    assert [str(skip) for skip in stats.skips] == [f"{path}: {message}"]
