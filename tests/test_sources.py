"""Reading folders, files, globs and JSONL; bad records are skipped with file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dedup.errors import InputError, NoDocumentsError
from dedup.options import ReadOptions
from dedup.sources import ReadStats, batches, read_documents, require_documents


def _read(paths: list[str | Path], **options: str) -> tuple[list, ReadStats]:
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
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfwith bom")
    (tmp_path / "empty.txt").write_text("")
    documents, stats = _read([tmp_path])
    assert {d.doc_id: d.text for d in documents} == {"bom.txt": "with bom", "latin1.txt": "caf\ufffd au lait"}
    assert sorted(s.reason for s in stats.skips) == ["binary file", "empty", "unknown format"]
    assert [w.reason for w in stats.warnings] == ["undecodable bytes"]


def test_no_documents_is_a_clear_error(tmp_path: Path) -> None:
    _, stats = _read([tmp_path])
    with pytest.raises(NoDocumentsError, match=f"no documents found in {tmp_path}"):
        require_documents(stats, [tmp_path])


def test_batches_are_bounded_by_characters(seeds: Path) -> None:
    documents, _ = _read([seeds])
    frames = list(batches(iter(documents), batch_chars=3000))
    assert [f.height for f in frames] == [2, 1]
    assert sum(f.height for f in frames) == len(documents)
