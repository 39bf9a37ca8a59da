"""WARC archives written with warcio: HTML and text responses are documents, everything else a counted skip."""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import dedup
from dedup import schema as S
from dedup.cli import app
from dedup.options import ReadOptions
from dedup.sources import ReadStats, read_documents
from tests.builders import COMPRESSIONS, warc_responses, with_content_length

FOOTER = (
    "<footer><p>Example News, 1 Press Lane. Reproduction of these articles without permission is prohibited.</p>"
    "</footer>"
)
STORIES = {
    "https://news.example/a": "The harbour bridge reopened on Monday after eight months of repairs to its cables.",
    "https://news.example/b": "Local bakers won three national prizes for sourdough, rye and a pastry with rhubarb.",
}
runner = CliRunner()
RUSSIAN = "Новости дня: мост через гавань снова открыт после ремонта."


def _write(writer: WARCWriter, record: ArcWarcRecord) -> None:
    writer.write_record(record)
    record.raw_stream.close()  # warcio buffers some records in a temporary file it leaves open


def _response(writer: WARCWriter, uri: str, body: bytes, content_type: str | None) -> None:
    headers = [("Content-Type", content_type)] if content_type else []
    http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
    _write(writer, writer.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=http))


def write_warc(path: Path, gzip: bool) -> None:
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=gzip)
        _write(writer, writer.create_warcinfo_record(path.name, {"software": "dedup tests"}))
        for uri, story in STORIES.items():
            request = StatusAndHeaders("GET / HTTP/1.1", [("Host", "news.example")], is_http_request=True)
            _write(writer, writer.create_warc_record(uri, "request", http_headers=request))
            body = f"<!doctype html><html><body><p>{story}</p>{FOOTER}</body></html>".encode()
            _response(writer, uri, body, "text/html; charset=utf-8")
        _response(writer, "https://news.example/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(32), "image/png")
        _response(writer, "https://news.example/robots.txt", b"User-agent: *\nDisallow: /private/\n", "text/plain")
        _response(writer, "https://news.example/ru", RUSSIAN.encode("cp1251"), "text/plain; charset=windows-1251")
        _write(writer, writer.create_warc_record("https://news.example/a", "metadata", payload=io.BytesIO(b"via: x")))


def _read(path: Path, **options: int) -> tuple[list, ReadStats]:
    stats = ReadStats()
    documents = list(read_documents([path], ReadOptions(**options), stats))
    return documents, stats


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.gz"])
def test_responses_are_documents_and_other_records_counted_skips(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    write_warc(path, gzip=name.endswith(".gz"))
    documents, stats = _read(path)
    assert [(d.doc_id, d.source_line) for d in documents] == [
        ("https://news.example/a", 3),
        ("https://news.example/b", 5),
        ("https://news.example/robots.txt", 7),
        ("https://news.example/ru", 8),
    ]
    assert documents[0].text.split("\n\n")[0] == STORIES["https://news.example/a"]
    assert documents[3].text == RUSSIAN  # the HTTP charset is honoured
    assert stats.skipped_by_reason == {
        "WARC body not HTML or text": 1,
        "WARC metadata record": 1,
        "WARC request record": 2,
        "WARC warcinfo record": 1,
    }
    assert str(stats.skips[-2]) == f"{path}, record 6: https://news.example/logo.png: body is image/png"
    assert stats.records == 9  # every record of the archive


def test_strict_lets_records_that_hold_no_page_pass_but_not_a_damaged_one(tmp_path: Path) -> None:
    crawl = tmp_path / "crawl.warc.gz"
    write_warc(crawl, gzip=True)
    passed = runner.invoke(app, ["scan", str(crawl), "--strict"])
    assert passed.exit_code == 0, passed.output
    assert "9 records = 4 scanned + 5 skipped" in " ".join(passed.output.split())  # still counted, and shown
    assert passed.stderr == (  # counted on one line, not listed: they are no fault of the input
        "Skipped 5 records that hold no page (not bad input): 2 WARC request record, 1 WARC warcinfo record,"
        " 1 WARC body not HTML or text, 1 WARC metadata record\n"
    )

    cut = tmp_path / "cut.warc"
    whole = crawl.with_suffix("")  # an uncompressed copy, cut inside its last record
    write_warc(whole, gzip=False)
    cut.write_bytes(whole.read_bytes()[:-40])
    whole.unlink()
    crawl.unlink()
    failed = runner.invoke(app, ["scan", str(tmp_path), "--strict"])
    assert failed.exit_code == 2
    assert failed.stderr.splitlines()[-1] == "Error: 1 records skipped and --strict is set"


def test_a_crawl_of_many_pages_says_its_expected_skips_in_one_line_and_lists_bad_records(tmp_path: Path) -> None:
    crawl = tmp_path / "crawl.warc"
    with crawl.open("wb") as handle:
        writer = WARCWriter(handle, gzip=False)
        for page in range(30):
            uri = f"https://news.example/{page}"
            request = StatusAndHeaders("GET / HTTP/1.1", [("Host", "news.example")], is_http_request=True)
            _write(writer, writer.create_warc_record(uri, "request", http_headers=request))
            _response(writer, uri, f"<p>Story {page}: {'words of its own ' * page}</p>".encode(), "text/html")
    whole = crawl.read_bytes()
    cut = tmp_path / "cut.warc"
    cut.write_bytes(whole[: len(whole) - 40])
    result = runner.invoke(app, ["scan", str(crawl), str(cut)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"Skipped {cut}, record 60: https://news.example/29: cut off, the file ends 36 bytes before its end",
        "Skipped 60 records that hold no page (not bad input): 60 WARC request record",
    ]


def test_boilerplate_of_a_crawl_is_a_cross_document_cluster(tmp_path: Path) -> None:
    write_warc(tmp_path / "crawl.warc.gz", gzip=True)
    result = dedup.scan([tmp_path])
    cross = result.clusters.filter(pl.col(S.SCOPE) == S.CROSS_DOC)
    assert cross.select(S.TEXT, S.N_DOCS).rows() == [
        ("Example News, 1 Press Lane. Reproduction of these articles without permission is prohibited.", 2)
    ]


@pytest.mark.parametrize("name", ["cut.warc", "cut.warc.gz"])
def test_a_record_cut_off_at_the_end_is_named_and_the_rest_kept(tmp_path: Path, name: str) -> None:
    whole = tmp_path / "whole.warc"
    with whole.open("wb") as handle:
        writer = WARCWriter(handle, gzip=name.endswith(".gz"))
        starts = []
        for uri, story in STORIES.items():
            starts.append(handle.tell())
            body = f"<html><body><p>{story}</p></body></html>".encode() + b"<!-- padding -->" * 20
            _response(writer, uri, body, "text/html")
    data = whole.read_bytes()
    path = tmp_path / name
    path.write_bytes(data[: (starts[1] + len(data)) // 2])  # the file ends in the middle of the second record
    documents, stats = _read(path)
    assert [d.doc_id for d in documents] == ["https://news.example/a"]
    assert len(stats.skips) == 1
    skip = stats.skips[0]
    assert (skip.source, skip.line, skip.unit, skip.reason) == (str(path), 2, "record", "truncated record")
    assert str(skip).startswith(f"{path}, record 2: ") and "the file ends" in skip.message


def test_a_file_cut_inside_record_headers_is_named(tmp_path: Path) -> None:
    whole = tmp_path / "whole.warc"
    with whole.open("wb") as handle:
        writer = WARCWriter(handle, gzip=False)
        for uri, story in STORIES.items():
            _response(writer, uri, f"<p>{story}</p>".encode(), "text/html")
    data = whole.read_bytes()
    second = data.index(b"WARC/1", 10)
    path = tmp_path / "headers.warc"
    path.write_bytes(data[: second + 40])  # inside the second record's WARC headers
    documents, stats = _read(path)
    assert [d.doc_id for d in documents] == ["https://news.example/a"]
    assert [(s.line, s.unit) for s in stats.skips] == [(2, "record")]
    assert str(stats.skips[0]).startswith(f"{path}, record 2: ")


@pytest.mark.parametrize("suffix", ["", ".gz", ".zst"])
@pytest.mark.parametrize(
    ("length", "message"),
    [
        (b"999999", "https://x/1: Content-Length 999,999 runs over the records after it: read on at the record found"),
        (b"1000", "https://x/1: Content-Length 1,000 runs over the records after it: read on at the record found"),
        (b"60", "https://x/1: Content-Length 60 is less than the record holds: read on at the next record, "),
        (b"12x", "Content-Length '12x' is not a number of bytes: read on at the next record, "),
        (b"-5", "Content-Length '-5' is not a number of bytes: read on at the next record, "),
        (b"", "Content-Length '' is not a number of bytes: read on at the next record, "),
    ],
)
def test_a_wrong_content_length_is_malformed_and_the_records_after_it_are_kept(
    tmp_path: Path, suffix: str, length: bytes, message: str
) -> None:
    data, starts = warc_responses(5)
    damaged = with_content_length(data, starts[1], length)
    path = tmp_path / f"crawl.warc{suffix}"
    path.write_bytes(COMPRESSIONS[suffix](damaged) if suffix else damaged)  # a gzip of the whole: one member
    documents, stats = _read(path)
    assert [d.doc_id for d in documents] == ["https://x/0", "https://x/2", "https://x/3", "https://x/4"]
    assert [(s.line, s.reason, s.expected) for s in stats.skips] == [(2, "malformed WARC", False)]
    assert stats.skips[0].message.startswith(message)


def test_a_damaged_gzip_member_costs_only_its_record(tmp_path: Path) -> None:
    data, starts = warc_responses(5, gzip=True)
    damaged = bytearray(data)
    middle = (starts[1] + starts[2]) // 2
    damaged[middle : middle + 2] = bytes(b ^ 0xFF for b in damaged[middle : middle + 2])
    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(bytes(damaged))
    documents, stats = _read(path)
    assert [d.doc_id for d in documents] == ["https://x/0", "https://x/2", "https://x/3", "https://x/4"]
    assert [(s.line, s.reason) for s in stats.skips] == [(2, "corrupt compressed data")]
    assert stats.skips[0].message.startswith("the compressed data of this record is corrupt (Error -3 while")
    assert stats.skips[0].message.endswith("): read on at the next gzip member")


def test_bytes_that_are_no_record_are_one_skip_shown_escaped(tmp_path: Path) -> None:
    data, starts = warc_responses(3)
    path = tmp_path / "crawl.warc"
    path.write_bytes(data[: starts[1]] + b"\x00\x1b[2J\xff junk\n" * 3 + data[starts[1] :])
    documents, stats = _read(path)
    assert [d.doc_id for d in documents] == ["https://x/0", "https://x/1", "https://x/2"]
    assert [str(s) for s in stats.skips] == [
        f"{path}, record 2: 36 bytes that are no WARC record (starting b'\\x00\\x1b[2J\\xff junk\\n'): "
        "read on at the next record"
    ]


def test_content_encodings_and_odd_charsets(tmp_path: Path) -> None:
    page = b"<p>une page en fran\xe7ais, d\xe9j\xe0 vue</p>"
    compressor = zlib.compressobj(wbits=-15)
    path = tmp_path / "crawl.warc"
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=False)
        for uri, headers, body in [
            ("https://x/gzip", [("Content-Encoding", "gzip")], gzip.compress(page)),
            (
                "https://x/raw-deflate",
                [("Content-Encoding", "deflate")],
                compressor.compress(page) + compressor.flush(),
            ),
            ("https://x/chunked", [("Transfer-Encoding", "chunked")], b"%x\r\n%s\r\n0\r\n\r\n" % (len(page), page)),
            ("https://x/nul", [], page),
            ("https://x/brotli", [("Content-Encoding", "br")], b"\x1b\x03\x00\xf8"),
            ("https://x/broken", [("Content-Encoding", "gzip")], b"\x1f\x8b not gzip at all"),
        ]:
            content_type = "text/html; charset=utf\x00-8" if uri.endswith("nul") else "text/html; charset=latin-1"
            http = StatusAndHeaders("200 OK", [("Content-Type", content_type), *headers], protocol="HTTP/1.1")
            record = writer.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=http)
            _write(writer, record)
    documents, stats = _read(path)
    text = "une page en français, déjà vue"
    assert [(d.doc_id, d.text) for d in documents] == [
        ("https://x/gzip", text),
        ("https://x/raw-deflate", text),
        ("https://x/chunked", text),
        ("https://x/nul", text),  # the charset with a NUL is no charset: detected
    ]
    assert [str(s) for s in stats.skips] == [
        f"{path}, record 5: https://x/brotli: body in content-encoding 'br', which dedup does not decode",
        f"{path}, record 6: https://x/broken: its gzip-encoded body does not decompress",
    ]


def test_a_body_over_the_limit_is_skipped_and_the_records_after_it_read(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        _response(writer, "https://x/small", b"<p>a small page</p>", "text/html")
        _response(writer, "https://x/huge", b"<p>" + b"huge " * 100_000 + b"</p>", "text/html")
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/plain"), ("Content-Encoding", "gzip")], "HTTP/1.1")
        bomb = io.BytesIO(gzip.compress(b"bomb " * 1_000_000))  # 5 MB in 10 KB
        _write(writer, writer.create_warc_record("https://x/bomb", "response", payload=bomb, http_headers=http))
        _response(writer, "https://x/after", b"<p>the page after</p>", "text/html")
    documents, stats = _read(path, max_document_bytes=100_000)
    assert [d.doc_id for d in documents] == ["https://x/small", "https://x/after"]
    limit = "over the limit of 100,000 (--max-document-bytes): not read"
    assert [str(s) for s in stats.skips] == [
        f"{path}, record 2: https://x/huge: body of 500,007 bytes, {limit}",
        f"{path}, record 3: https://x/bomb: gzip-encoded body of more than 100,000 bytes, {limit}",
    ]


def test_a_warc_gzipped_whole_is_read_to_its_end(tmp_path: Path) -> None:
    data, _ = warc_responses(4)
    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(gzip.compress(data))  # one member for all records: warcio stopped after the first
    documents, stats = _read(path)
    assert len(documents) == 4 and not stats.skips


def test_damaged_archives_print_nothing_of_their_own(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    data, starts = warc_responses(3, gzip=True)
    (tmp_path / "a.warc.gz").write_bytes(data[: starts[1] + 30] + data[starts[1] + 40 :])
    plain, plain_starts = warc_responses(3)
    (tmp_path / "b.warc").write_bytes(with_content_length(plain, plain_starts[0], b"70"))
    result = runner.invoke(app, ["scan", str(tmp_path), "-q"])
    assert result.exit_code == 0
    assert all(line.startswith("Skipped ") for line in result.stderr.splitlines())
    assert capfd.readouterr().err == ""  # warcio wrote "WARNING: Record not followed by newline" there
