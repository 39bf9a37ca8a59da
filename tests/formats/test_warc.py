"""WARC archives written with warcio: HTML and text responses are documents, everything else a counted skip."""

from __future__ import annotations

import io
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


def _read(path: Path) -> tuple[list, ReadStats]:
    stats = ReadStats()
    documents = list(read_documents([path], ReadOptions(), stats))
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
    assert f"Skipped {crawl}, record 6: https://news.example/logo.png: body is image/png" in passed.stderr

    cut = tmp_path / "cut.warc"
    whole = crawl.with_suffix("")  # an uncompressed copy, cut inside its last record
    write_warc(whole, gzip=False)
    cut.write_bytes(whole.read_bytes()[:-40])
    whole.unlink()
    crawl.unlink()
    failed = runner.invoke(app, ["scan", str(tmp_path), "--strict"])
    assert failed.exit_code == 2
    assert failed.stderr.splitlines()[-1] == "Error: 1 records skipped and --strict is set"


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
