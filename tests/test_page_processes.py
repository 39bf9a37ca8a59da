"""HTML files read in other processes: the same documents, counts, skips and warnings, in the same order."""

from __future__ import annotations

import gzip
from pathlib import Path
from unittest import mock

import polars as pl
import pytest
from typer.testing import CliRunner

import dedup
from dedup import sources
from dedup.cli import app
from dedup.formats.html import MAX_TREE_DEPTH
from dedup.options import ReadOptions
from dedup.sources import ReadStats, read_documents

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


@pytest.mark.parametrize("ahead_files", [1, 2])
@pytest.mark.parametrize("ahead_bytes", [0, 64 << 20])
def test_pages_read_in_processes_are_those_read_here(tmp_path: Path, ahead_files: int, ahead_bytes: int) -> None:
    folder = _mixed_folder(tmp_path)
    here, here_stats = _read(folder, 1)
    with (
        mock.patch.object(sources, "PAGES_HERE_BYTES", 0),  # the pool from the first page on
        mock.patch.object(sources, "PAGES_AHEAD_FILES", ahead_files),
        mock.patch.object(sources, "PAGES_AHEAD_BYTES", ahead_bytes),
    ):
        elsewhere, elsewhere_stats = _read(folder, 2)
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
        import os

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
