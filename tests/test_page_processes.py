"""HTML files read in other processes: the same documents, counts, skips and warnings, in the same order."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
from concurrent.futures import Future
from pathlib import Path
from unittest import mock

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import dedup
from dedup import sources
from dedup.cli import app
from dedup.formats.html import MAX_TREE_DEPTH
from dedup.formats.records import Document, PageReading, Skip, pages_in_order
from dedup.options import ReadOptions
from dedup.sources import ReadStats, read_documents
from tests.builders import warc_responses

PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)


def _mixed_folder(root: Path) -> Path:
    """Pages among other files, with every kind of record an HTML file can give: documents, skips, warnings."""
    folder = root / "site"
    folder.mkdir()
    for number in range(14):
        shared = "<p>The same footer on every page of the site, with its links and its small print.</p>"
        page = f"<html><body><h1>Page {number}</h1><p>Its own text, number {number}.</p>{shared}</body></html>"
        (folder / f"page-{number:02d}.html").write_text(page, encoding="utf-8")
    (folder / "page-05-notes.txt").write_text("Notes read here, between the pages.\n\nA second paragraph.\n")
    (folder / "page-07-empty.html").write_bytes(b"")
    (folder / "page-08-image.html").write_bytes(PNG)
    (folder / "page-09-blank.html").write_text("<html><body><script>x()</script></body></html>")
    (folder / "page-10-packed.html.gz").write_bytes(gzip.compress(b"<p>Packed page, read all the same.</p>"))
    deep = "<div>" * (MAX_TREE_DEPTH + 10) + "deep text" + "</div>" * (MAX_TREE_DEPTH + 10)
    (folder / "page-11-deep.html").write_text(deep)
    (folder / "page-12-large.html").write_text("<p>" + "word " * 20_000 + "</p>")
    return folder


def _read(folder: Path, processes: int) -> tuple[list[sources.Document], ReadStats]:
    stats = ReadStats()
    options = ReadOptions(max_document_bytes=80_000)  # the large page is skipped, in whichever process reads it
    with sources.page_processes(processes):
        documents = [d for d in read_documents([folder], options, stats) if isinstance(d, sources.Document)]
    return documents, stats


def _here_and_in_processes(
    folder: Path, **limits: int
) -> tuple[tuple[list[sources.Document], ReadStats], tuple[list[sources.Document], ReadStats]]:
    """The folder read in this process, and read with the pool started from the first page on (``limits``:
    values for the module's ``PAGES_AHEAD*`` limits)."""
    here = _read(folder, 1)
    started = mock.Mock(wraps=sources.ProcessPoolExecutor)
    with contextlib.ExitStack() as patches:
        patches.enter_context(mock.patch.object(sources, "PAGES_HERE_BYTES", 0))
        patches.enter_context(mock.patch.object(sources, "ProcessPoolExecutor", started))
        for name, value in limits.items():
            patches.enter_context(mock.patch.object(sources, name, value))
        elsewhere = _read(folder, 2)
    assert started.call_count == 1
    return here, elsewhere


@pytest.mark.parametrize("ahead_files", [1, 2])
@pytest.mark.parametrize("ahead_bytes", [0, 64 << 20])
def test_pages_read_in_processes_are_those_read_here(tmp_path: Path, ahead_files: int, ahead_bytes: int) -> None:
    limits = {"PAGES_AHEAD_FILES": ahead_files, "PAGES_AHEAD_BYTES": ahead_bytes}
    (here, here_stats), (elsewhere, elsewhere_stats) = _here_and_in_processes(_mixed_folder(tmp_path), **limits)
    # What the folder holds makes every kind of record, so that each is seen to come back.
    assert len(here) == 14 + 3 and here_stats.files == 19  # the empty file is not one read
    assert {skip.reason for skip in here_stats.skips} >= {"empty", "binary file", "document too large"}
    assert [warning.reason for warning in here_stats.warnings] == ["deeply nested HTML"]
    assert elsewhere == here
    assert elsewhere_stats == here_stats


def test_a_few_pages_start_no_process(tmp_path: Path) -> None:
    folder = _mixed_folder(tmp_path)
    with mock.patch.object(sources, "ProcessPoolExecutor", side_effect=AssertionError("a process was started")):
        documents, _ = _read(folder, 2)
    assert len(documents) == 17


def test_a_process_that_dies_loses_its_files_and_says_so(tmp_path: Path) -> None:
    folder = _mixed_folder(tmp_path)
    here, _ = _read(folder, 1)
    with (
        mock.patch.object(sources, "PAGES_HERE_BYTES", 0),
        mock.patch.object(sources, "_read_elsewhere", _die_on_page_03),
    ):
        elsewhere, stats = _read(folder, 2)
    lost = {skip.source for skip in stats.skips if skip.reason == "reading process died"}
    assert any("page-03" in source for source in lost)
    # The files the pool held when it died are skipped and said so; the pages after them are read here.
    assert {d.source for d in here} <= {d.source for d in elsewhere} | lost
    assert any(d.source.endswith("page-13.html") for d in elsewhere)


def _die_on_page_03(found: sources.Found, options: ReadOptions) -> object:
    if "page-03" in found.name:
        os._exit(3)
    return sources._read_elsewhere(found, options)


def test_the_command_line_reads_pages_in_processes_with_the_same_tables(tmp_path: Path) -> None:
    folder = _mixed_folder(tmp_path)
    library = dedup.scan([folder]).blocks
    started = mock.Mock(wraps=sources.ProcessPoolExecutor)
    with (
        mock.patch.object(sources, "PAGES_HERE_BYTES", 0),
        mock.patch.object(sources, "ProcessPoolExecutor", started),
        mock.patch("dedup.runners.local.workers", return_value=2),
    ):
        result = CliRunner().invoke(app, ["scan", str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert started.call_count == 1
    assert pl.read_parquet(tmp_path / "out" / "blocks.parquet").equals(library)


def _crawl_folder(root: Path) -> Path:
    """WARC files whose pages are read in the pool: one with a damaged gzip member among its records, one cut off."""
    folder = root / "crawl"
    folder.mkdir()
    data, starts = warc_responses(14, gzip=True)
    damaged = bytearray(data)
    middle = (starts[5] + starts[6]) // 2
    damaged[middle : middle + 2] = bytes(b ^ 0xFF for b in damaged[middle : middle + 2])
    (folder / "a.warc.gz").write_bytes(bytes(damaged))
    data, starts = warc_responses(9, prefix="https://y/")
    (folder / "b.warc").write_bytes(data[: starts[8] + 40])  # the last record cut off
    return folder


def test_pages_of_warc_records_read_in_processes_are_those_read_here(tmp_path: Path) -> None:
    # The folder holds no HTML file: the pool started for the pages of the records.
    (here, here_stats), (elsewhere, elsewhere_stats) = _here_and_in_processes(_crawl_folder(tmp_path), PAGES_AHEAD=3)
    assert len(here) == 13 + 8
    assert {skip.reason for skip in here_stats.skips} == {"corrupt compressed data", "malformed WARC"}
    assert elsewhere == here
    assert elsewhere_stats == here_stats


def test_a_warc_page_whose_process_dies_is_lost_and_said_so(tmp_path: Path) -> None:
    folder = _crawl_folder(tmp_path)
    here, _ = _read(folder, 1)
    with mock.patch.object(sources, "PAGES_HERE_BYTES", 0), mock.patch.object(sources, "page_records", _die_on_x3):
        elsewhere, stats = _read(folder, 2)
    lost = [skip for skip in stats.skips if skip.reason == "reading process died"]
    assert any(skip.line == 4 and skip.unit == "record" for skip in lost)  # https://x/3 is the fourth record
    assert {d.doc_id for d in here} <= {d.doc_id for d in elsewhere} | {
        f"https://x/{(skip.line or 0) - 1}" for skip in lost
    }
    assert any(d.doc_id == "https://y/7" for d in elsewhere)  # pages after the loss are read here


def _die_on_x3(html: str, options: ReadOptions, doc_id: str, *rest: object) -> object:
    if doc_id == "https://x/3":
        os._exit(3)
    from dedup.formats.html import page_records

    return page_records(html, options, doc_id, *rest)  # type: ignore[arg-type]


def _done(records: list) -> PageReading:
    future: Future[list] = Future()
    future.set_result(records)
    return PageReading(future, 10, lambda: [])


def _failed(exc: Exception) -> PageReading:
    future: Future[list] = Future()
    future.set_exception(exc)
    return PageReading(future, 10, lambda: [])


def _reader(records: list, then: Exception | None = None):  # type: ignore[no-untyped-def]
    yield from records
    if then is not None:
        raise then


def test_records_before_a_failed_read_come_first() -> None:
    a, b, c = (Skip("f", line, "x", "x") for line in (1, 2, 3))
    page = Document("p", "text", "f")
    taken: list = []
    with pytest.raises(OSError):
        for record in pages_in_order(_reader([a, _done([page]), b, _done([]), c], OSError(5, "gone")), 8, 1 << 20):
            taken.append(record)
    assert taken == [a, page, b, c]


def test_a_page_that_fails_raises_where_it_stands() -> None:
    a, b = Skip("f", 1, "x", "x"), Skip("f", 2, "x", "x")
    taken: list = []
    with pytest.raises(ValueError):
        for record in pages_in_order(_reader([a, _failed(ValueError("bug")), b]), 8, 1 << 20):
            taken.append(record)
    assert taken == [a]  # as reading in turn: what comes after the failing page is never read


def _records_folder(root: Path) -> Path:
    """Records whose text field holds whole pages (a crawler's html column), among plain texts and bad lines."""
    folder = root / "records"
    folder.mkdir()
    pages = [f"<!doctype html><html><body><h2>Item {n}</h2><p>Body of item {n}.</p></body></html>" for n in range(10)]
    lines = [json.dumps({"id": f"j{n}", "text": page}) for n, page in enumerate(pages)]
    lines[3:3] = ['{"id": "plain", "text": "A plain text among the pages."}', '{"id": broken']
    (folder / "a.jsonl").write_text("\n".join(lines) + "\n")
    pq.write_table(pa.table({"id": [f"p{n}" for n in range(10)], "text": pages}), folder / "b.parquet")
    return folder


def test_pages_in_record_fields_read_in_processes_are_those_read_here(tmp_path: Path) -> None:
    (here, here_stats), (elsewhere, elsewhere_stats) = _here_and_in_processes(_records_folder(tmp_path), PAGES_AHEAD=3)
    assert len(here) == 21 and [skip.reason for skip in here_stats.skips] == ["malformed JSON"]
    assert here[0].text.startswith("Item 0")  # read as a page, not as markup
    assert elsewhere == here
    assert elsewhere_stats == here_stats
