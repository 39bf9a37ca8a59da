"""Bad and hostile input, class by class, through ``dedup scan``: never fatal, never silent, never unbounded.

Each class is one row of ``CASES``: files written beside a good one, and what a scan must make of them. Every
row is checked the same way (``test_a_class_of_bad_input``): no traceback; the good file and every good record
of the bad files are scanned; records read = scanned + skipped, with the skips counted by reason; the skips
print as expected (escaped: nothing from an input reaches the terminal raw); and ``--strict`` exits 2 exactly
when a record was skipped as bad input (input that is repaired with a warning, or read as it is, exits 0).

The table holds the classes of issue #14: those that crashed, lost records or ran out of memory before
(first), and those that were already handled (second), so that none can come back unnoticed.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from dedup import schema as S
from dedup.cli import app
from dedup.errors import OptionsError
from dedup.options import ReadOptions, parse_size
from tests.builders import COMPRESSIONS, csv_records, gzip_bomb, jsonl_records, warc_responses, with_content_length

runner = CliRunner()
GOOD = "a good page beside the bad input, with enough words of its own to be scanned"
STRICT_FAILED = "Error: {} records skipped and --strict is set"


@dataclass(frozen=True)
class Case:
    """A class of bad input.

    Attributes:
        write: writes the bad files into a folder.
        reasons: the skips the scan must count, by reason.
        kept: ids of good records in the bad files that must be scanned (besides ``good.txt``).
        printed: lines stderr must hold, with ``{dir}`` for the folder.
        args: more options for ``dedup scan``.
        warnings: warnings the scan must count (input repaired, and read).
    """

    write: Callable[[Path], object]
    reasons: dict[str, int] = field(default_factory=dict)
    kept: tuple[str, ...] = ()
    printed: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    warnings: int = 0


def _jsonl(folder: Path, name: str, *lines: str | bytes) -> None:
    (folder / name).write_bytes(b"".join((line.encode() if isinstance(line, str) else line) + b"\n" for line in lines))


def _good_line(doc_id: str) -> str:
    return json.dumps({"id": doc_id, "text": f"the good record {doc_id} with words of its own"})


def _deep_json_line(folder: Path) -> None:
    deep = '{"text": "hello", "x": ' + "[" * 1024 + "]" * 1024 + "}"
    _jsonl(folder, "pages.jsonl", _good_line("j1"), deep, _good_line("j3"))


def _parquet_name_not_utf8(folder: Path) -> None:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": ["p1"], "text": ["a parquet row"]}), buffer, store_schema=False)
    (folder / "names.parquet").write_bytes(buffer.getvalue().replace(b"text", b"t\xffxt"))


def _warc(folder: Path, name: str, records: list[tuple[str, str, bytes]]) -> None:
    """A WARC file of responses: (URI, Content-Type, body)."""
    with (folder / name).open("wb") as handle:
        writer = WARCWriter(handle, gzip=name.endswith(".gz"))
        for uri, content_type, body in records:
            http = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
            record = writer.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=http)
            writer.write_record(record)
            record.raw_stream.close()


def _warc_length(length: bytes) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        data, starts = warc_responses(4)
        (folder / "crawl.warc").write_bytes(with_content_length(data, starts[1], length))

    return write


def _warc_damaged_member(folder: Path) -> None:
    data, starts = warc_responses(4, gzip=True)
    damaged = bytearray(data)
    middle = (starts[1] + starts[2]) // 2
    damaged[middle : middle + 2] = bytes(b ^ 0xFF for b in damaged[middle : middle + 2])
    (folder / "crawl.warc.gz").write_bytes(bytes(damaged))


def _warc_binary_between_records(folder: Path) -> None:
    data, starts = warc_responses(3)
    (folder / "crawl.warc").write_bytes(data[: starts[1]] + b"\x00\x1b]0;owned\x07\xff\n" + data[starts[1] :])


def _warc_uri_with_escapes(folder: Path) -> None:
    data, starts = warc_responses(3)
    data = data.replace(b"https://x/1", b"https://x/\x1b[2J")  # in the WARC headers: the block is unchanged
    (folder / "crawl.warc").write_bytes(with_content_length(data, starts[1], b"60"))


def _cut(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _cut_compressed(folder: Path) -> None:
    for suffix, compress in COMPRESSIONS.items():
        records = jsonl_records(300, prefix=f"{suffix[1:]}-")  # ids of their own: no id repeated across files
        (folder / f"pages.jsonl{suffix}").write_bytes(_cut(compress(records)))


def _binaries(folder: Path) -> None:
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (folder / "paper.pdf").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\n")
    (folder / "bundle.zip").write_bytes(b"PK\x03\x04" + bytes(40))
    (folder / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))  # named as text, still an image


def _symlink_loops(folder: Path) -> None:
    (folder / "sub").mkdir()
    (folder / "sub" / "up").symlink_to(folder)
    (folder / "self.txt").symlink_to(folder / "self.txt")


def _large_document(folder: Path) -> None:
    (folder / "large.txt").write_bytes(b"lorem ipsum dolor sit amet " * (20 << 20 // 27))


def _odd_names(folder: Path) -> None:
    (folder / os.fsdecode(b"caf\xe9.txt")).write_text("a page whose file name is Latin-1, read all the same")
    (folder / "two\nlines\x1b[31m.txt").write_text("")


CASES: dict[str, Case] = {
    # Crashed, lost records or ran out of memory before.
    "a JSON line with a field nested 1,024 deep": Case(
        _deep_json_line,
        {"malformed JSON": 1},
        ("j1", "j3"),
        ("Skipped {dir}/pages.jsonl:2: malformed JSON (nested too deep to read)",),
    ),
    "a .json of 100,000 nested objects": Case(
        lambda folder: (folder / "deep.json").write_text('{"a":' * 100_000 + "1" + "}" * 100_000),
        {"malformed JSON": 1},
        printed=("Skipped {dir}/deep.json:1: malformed JSON (nested too deep to read)",),
    ),
    "a CSV whose header row is malformed": Case(
        lambda folder: (folder / "header.csv").write_text('"id"x,text\n1,hello\n'),
        {"malformed CSV": 1},
        printed=(
            "Skipped {dir}/header.csv:1: malformed CSV header row (',' expected after '\"'): the file is not read",
        ),
    ),
    "a Parquet file whose column name is not UTF-8": Case(_parquet_name_not_utf8, {"malformed Parquet": 1}),
    "a WARC response whose charset holds a NUL": Case(
        lambda folder: _warc(folder, "nul.warc", [("https://x/nul", "text/html; charset=utf\x00-8", b"<p>a page</p>")]),
        kept=("https://x/nul",),
    ),
    "a .txt.zst cut in half": Case(
        lambda folder: (folder / "cut.txt.zst").write_bytes(
            _cut(COMPRESSIONS[".zst"](os.urandom(1 << 18).hex().encode()))
        ),
        {"corrupt compressed data": 1},
        printed=(
            "Skipped {dir}/cut.txt.zst: compressed data cut off before its first record"
            " (Compressed file ended before the end-of-stream marker was reached)",
        ),
    ),
    "a .csv.zst cut in half": Case(
        lambda folder: (folder / "rows.csv.zst").write_bytes(_cut(COMPRESSIONS[".zst"](csv_records(3000)))),
        {"corrupt compressed data": 1},
        ("c0", "c1", "c2"),
    ),
    "a .txt.gz that expands far over the limit": Case(
        lambda folder: gzip_bomb(folder / "bomb.txt.gz", 50 << 20),
        {"document too large": 1},
        printed=(
            "Skipped {dir}/bomb.txt.gz: file of more than 1,000,000 bytes, over the limit of 1,000,000"
            " (--max-document-bytes): not read",
        ),
        args=("--max-document-bytes", "1MB"),
    ),
    "a .jsonl.gz with one line far over the limit": Case(
        lambda folder: gzip_bomb(
            folder / "bomb.jsonl.gz",
            50 << 20,
            (_good_line("a") + '\n{"text": "').encode(),
            ('"}\n' + _good_line("b")).encode(),
        ),
        {"document too large": 1},
        ("a", "b"),
        (
            "Skipped {dir}/bomb.jsonl.gz:2: line of 52,428,813 bytes, over the limit of 1,000,000"
            " (--max-document-bytes): not read",
        ),
        args=("--max-document-bytes", "1MB"),
    ),
    "an .html.gz that expands far over the limit": Case(
        lambda folder: gzip_bomb(folder / "bomb.html.gz", 50 << 20, b"<!doctype html><p>"),
        {"document too large": 1},
        printed=(
            "Skipped {dir}/bomb.html.gz: page of more than 1,000,000 bytes, over the limit of 1,000,000"
            " (--max-document-bytes): not read",
        ),
        args=("--max-document-bytes", "1MB"),
    ),
    "a WARC record whose Content-Length is too large": Case(
        _warc_length(b"100000"),
        {"malformed WARC": 1},
        ("https://x/0", "https://x/2", "https://x/3"),
        (
            "Skipped {dir}/crawl.warc, record 2: https://x/1: Content-Length 100,000 runs over the records after it:"
            " read on at the record found inside its block",
        ),
    ),
    "a WARC record whose Content-Length is too small": Case(
        _warc_length(b"60"), {"malformed WARC": 1}, ("https://x/0", "https://x/2", "https://x/3")
    ),
    "a WARC record whose Content-Length is no number": Case(
        _warc_length(b"1e3"),
        {"malformed WARC": 1},
        ("https://x/0", "https://x/2", "https://x/3"),
        (
            "Skipped {dir}/crawl.warc, record 2: Content-Length '1e3' is not a number of bytes:"
            " read on at the next record",
        ),
    ),
    "a .warc.gz with a damaged member": Case(
        _warc_damaged_member, {"corrupt compressed data": 1}, ("https://x/0", "https://x/2", "https://x/3")
    ),
    "binary bytes between WARC records": Case(
        _warc_binary_between_records,
        {"malformed WARC": 1},
        ("https://x/0", "https://x/1", "https://x/2"),
        (
            "Skipped {dir}/crawl.warc, record 2: 13 bytes that are no WARC record"
            " (starting b'\\x00\\x1b]0;owned\\x07\\xff\\n'): read on at the next record",
        ),
    ),
    "a WARC line holding terminal escapes": Case(
        _warc_uri_with_escapes,
        {"malformed WARC": 1},
        ("https://x/0", "https://x/2"),
        ("Skipped {dir}/crawl.warc, record 2: https://x/\\x1b[2J: Content-Length 60 is less than the record holds",),
    ),
    "a file name holding terminal escapes and a newline": Case(
        _odd_names, {"empty": 1}, ("caf\ufffd.txt",), ("Skipped {dir}/two\\nlines\\x1b[31m.txt: empty file",)
    ),
    # Handled before; kept so.
    "an empty file": Case(lambda folder: (folder / "empty.jsonl").write_bytes(b""), {"empty": 1}),
    "binary files: PNG, PDF, ZIP, an image named .txt": Case(
        _binaries,
        {"binary file": 4},
        printed=("Skipped {dir}/photo.txt: PNG image: not a format dedup reads",),
    ),
    "cut and mistyped JSON lines": Case(
        lambda folder: _jsonl(
            folder, "pages.jsonl", _good_line("j1"), '{"id": "x", "text": ', '{"text": 42}', "[1, 2]", _good_line("j5")
        ),
        {"malformed JSON": 1, "text not a string": 1, "not an object": 1},
        ("j1", "j5"),
    ),
    "a ragged CSV": Case(
        lambda folder: (folder / "rows.csv").write_text("id,text\nc1,good row one\nc2\nc3,good row three\nc4,x,y\n"),
        {"malformed CSV": 2},
        ("c1", "c3"),
    ),
    "a cut Parquet file": Case(
        lambda folder: (folder / "cut.parquet").write_bytes(b"PAR1\x15\x04\x15\x10\x15\x14L\x15\x02\x15\x00"),
        {"malformed Parquet": 1},
    ),
    "a WARC cut in its last record": Case(
        lambda folder: (folder / "cut.warc").write_bytes(warc_responses(3)[0][:-50]),
        {"truncated record": 1},
        ("https://x/0", "https://x/1"),
    ),
    "HTML nested 100,000 deep": Case(
        lambda folder: (folder / "deep.html").write_text("<div>" * 100_000 + "deep text" + "</div>" * 100_000),
        kept=("deep.html",),
        warnings=1,
    ),
    "NUL and control bytes": Case(
        lambda folder: (folder / "nul.txt").write_bytes(b"text with NUL\x00 and escape\x1b[2J bytes"),
        kept=("nul.txt",),
        warnings=1,
    ),
    "bad UTF-8": Case(
        lambda folder: (folder / "bad.txt").write_bytes("crème brûlée à la carte".encode() + b"\xff\xfe"),
        kept=("bad.txt",),
        warnings=1,
    ),
    "UTF-16 without a byte order mark": Case(
        lambda folder: (folder / "utf16.txt").write_bytes("plain text in UTF-16, no BOM".encode("utf-16-le")),
        kept=("utf16.txt",),
    ),
    "lone surrogates": Case(
        lambda folder: _jsonl(folder, "pages.jsonl", '{"id": "x\\ud800", "text": "half a pair \\udc00"}'),
        kept=("x\ufffd",),
        warnings=2,
    ),
    "symlink loops": Case(_symlink_loops, {"symlink loop": 1, "unreadable": 1}),
    "a FIFO in a folder": Case(lambda folder: os.mkfifo(folder / "pipe.jsonl"), {"not a file": 1}),
    "a large document": Case(_large_document, kept=("large.txt",)),
    "cut compressed files of each kind": Case(_cut_compressed, {"corrupt compressed data": 4}, ("gz-0", "xz-0")),
}


@pytest.mark.parametrize("case", CASES)
def test_a_class_of_bad_input(tmp_path: Path, case: str) -> None:
    if "name" in case and sys.platform == "darwin":
        pytest.skip("macOS refuses file names that are not UTF-8")
    spec = CASES[case]
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    (folder / "good.txt").write_text(GOOD)
    spec.write(folder)
    result = runner.invoke(app, ["scan", str(folder), "--strict", "--json", "-q", "--out", str(out), *spec.args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    summary = json.loads(result.stdout)
    assert summary["skipped_by_reason"] == spec.reasons
    assert summary["records"] == summary["documents"] + summary["skipped"]
    assert summary["warnings"] == spec.warnings
    scanned = set(pl.read_parquet(out / "documents.parquet")[S.DOC_ID].to_list())
    assert {"good.txt", *spec.kept} <= scanned
    printed = result.stderr.splitlines()
    for line in spec.printed:
        expected = line.format(dir=folder)
        assert any(shown.startswith(expected) for shown in printed), (expected, printed)
    assert not any(ch in result.stderr for ch in "\x00\x07\x1b\x9b")  # nothing of an input printed raw
    failing = sum(spec.reasons.values())  # no class here is of records that hold no page by their nature
    if failing:
        assert result.exit_code == 2 and printed[-1] == STRICT_FAILED.format(failing)
    else:
        assert result.exit_code == 0, result.stderr


def test_a_size_option_that_is_no_size_is_refused() -> None:
    result = runner.invoke(app, ["scan", ".", "--max-document-bytes", "12XB"])
    assert result.exit_code == 2 and "not a size: '12XB'" in " ".join(result.stderr.split())
    result = runner.invoke(app, ["scan", ".", "--max-document-bytes", "0"])
    assert result.exit_code == 2
    assert result.stderr == "Error: max_document_bytes must be a number of bytes >= 1, got 0\n"


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "1MB"])
def test_read_options_refuse_a_limit_that_is_no_number_of_bytes(value: object) -> None:
    with pytest.raises(OptionsError, match="max_document_bytes must be a number of bytes >= 1"):
        ReadOptions(max_document_bytes=value)  # type: ignore[arg-type]
    assert parse_size("512MB") == 512_000_000 and parse_size("1GiB") == 1 << 30 and parse_size(" 2 kb ") == 2_000
