"""dedup.load: a saved scan comes back as the same tables and statistics; bad folders are named in the error."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import polars as pl
import pytest

import dedup
from dedup.output import FORMAT_VERSION, TABLES


@pytest.fixture(scope="module")
def saved(seed_scan: dedup.ScanResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scan")
    seed_scan.write(folder)
    return folder


def _copy(saved: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "copy"
    folder.mkdir()
    for file in saved.iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    return folder


def test_load_gives_back_the_tables_stats_and_summary(seed_scan: dedup.ScanResult, saved: Path) -> None:
    loaded = dedup.load(saved)
    for name in TABLES:
        assert getattr(loaded, name).equals(getattr(seed_scan, name)), name
    # Times are not saved.
    assert loaded.stats == dataclasses.replace(seed_scan.stats, seconds={}, cpu_seconds={}, peak_rss={})
    assert loaded.options == seed_scan.options
    assert loaded.summary() == seed_scan.summary()


def test_skips_and_warnings_survive_the_round_trip(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "a.jsonl").write_bytes(b'{"id": "x", "text": "ein Text mit genug Worten darin"}\nnot json\n')
    (pages / "b.txt").write_bytes(b"kaputt \x01 hier")  # a control character: repaired with a warning
    with dedup.scan([pages]) as result:
        result.write(tmp_path / "out")
    loaded = dedup.load(tmp_path / "out")
    skipped = f"{pages / 'a.jsonl'}:2: malformed JSON (Expecting value: column 1)"
    assert [str(s) for s in loaded.stats.skips] == [skipped]
    assert [s.reason for s in loaded.stats.warnings] == ["control characters"]
    assert loaded.stats == dataclasses.replace(result.stats, seconds={}, cpu_seconds={}, peak_rss={})


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(dedup.InputError, match=r"nowhere: no such folder \(expected the folder written by dedup"):
        dedup.load(tmp_path / "nowhere")


@pytest.mark.parametrize("name", ["scan.json", "clusters.parquet"])
def test_missing_file_is_named(saved: Path, tmp_path: Path, name: str) -> None:
    folder = _copy(saved, tmp_path)
    (folder / name).unlink()
    with pytest.raises(dedup.InputError) as error:
        dedup.load(folder)
    assert str(error.value) == f"{folder / name}: missing; is this a folder written by dedup scan --out?"


def test_malformed_summary_names_file_and_line(saved: Path, tmp_path: Path) -> None:
    folder = _copy(saved, tmp_path)
    (folder / "scan.json").write_text('{\n  "blocks": 52,\n  oops\n}\n')
    with pytest.raises(dedup.InputError) as error:
        dedup.load(folder)
    assert str(error.value).startswith(f"{folder / 'scan.json'}:3: malformed JSON")


def test_other_format_version_is_refused(saved: Path, tmp_path: Path) -> None:
    folder = _copy(saved, tmp_path)
    summary = json.loads((folder / "scan.json").read_text())
    summary["settings"]["format_version"] = 99
    (folder / "scan.json").write_text(json.dumps(summary))
    with pytest.raises(dedup.InputError) as error:
        dedup.load(folder)
    expected = f"format version 99, this dedup reads {FORMAT_VERSION}; scan again with --out"
    assert str(error.value) == f"{folder / 'scan.json'}: {expected}"


def test_summary_without_statistics_is_refused(saved: Path, tmp_path: Path) -> None:
    folder = _copy(saved, tmp_path)
    summary = json.loads((folder / "scan.json").read_text())
    del summary["stats"]
    (folder / "scan.json").write_text(json.dumps(summary))
    with pytest.raises(dedup.InputError, match=r"scan.json: not a dedup scan summary \(KeyError\('stats'\)\)"):
        dedup.load(folder)


def test_table_with_wrong_columns_is_named(saved: Path, tmp_path: Path) -> None:
    folder = _copy(saved, tmp_path)
    pl.read_parquet(folder / "pairs.parquet").drop("jaccard").write_parquet(folder / "pairs.parquet")
    with pytest.raises(dedup.InputError) as error:
        dedup.load(folder)
    assert str(error.value) == f"{folder / 'pairs.parquet'}: unexpected columns: jaccard (missing, expected Float64)"


def test_table_that_is_not_parquet_is_named(saved: Path, tmp_path: Path) -> None:
    folder = _copy(saved, tmp_path)
    (folder / "documents.parquet").write_text("doc_id,source\n")
    with pytest.raises(dedup.InputError, match=r"documents.parquet: not a readable Parquet file"):
        dedup.load(folder)
