"""The CLI parses, calls the library and renders; errors are `Error: …` with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from dedup import schema as S
from dedup.cli import app
from dedup.locations import shown_path
from tests.conftest import DOUBLED, INTRO, listed

runner = CliRunner()


def test_scan_prints_a_readable_summary(seeds: Path) -> None:
    result = runner.invoke(app, ["scan", str(seeds)])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())  # the report wraps to the terminal's width
    assert "Scanned 3 documents (3 files), 52 blocks" in out
    assert "near, cross-doc: 4 blocks in 2 documents" in out
    # Each place is the file (from the working folder), the line and the column where the block starts.
    intro, doubled = shown_path(str(seeds / INTRO)), shown_path(str(seeds / DOUBLED))
    assert f"at {intro}:4:1, {intro}:5:1, {doubled}:11:1, {doubled}:13:1" in out
    assert f"{intro}:4:1 ~ {intro}:5:1 jaccard 0.63, containment 0.82" in out
    assert "“Anzeige” ×3" in out
    assert f"{INTRO} is 98% contained in {DOUBLED}" in out


def test_scan_json_summary(seeds: Path) -> None:
    result = runner.invoke(app, ["scan", str(seeds), "--json"])
    assert result.exit_code == 0
    summary = json.loads(result.output)
    assert summary["documents"] == 3
    assert summary["near_pairs"] == 1
    assert summary["settings"]["minhash"]["scheme"] == "affine32"
    assert summary["settings"]["lsh"] == {"bands": 26, "rows": 3}


def test_scan_writes_tables(seeds: Path, tmp_path: Path) -> None:
    out = tmp_path / "scan"
    result = runner.invoke(app, ["scan", str(seeds), "--out", str(out)])
    assert result.exit_code == 0
    assert listed(out) == [
        "blocks.parquet",
        "clusters.parquet",
        "documents.parquet",
        "pairs.parquet",
        "scan.json",
    ]
    assert pl.read_parquet(out / "pairs.parquet").schema == S.PAIRS_SCHEMA
    assert pl.read_parquet(out / "documents.parquet").schema == S.DOCUMENTS_SCHEMA


def test_empty_folder_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip() == f"Error: no documents found in {tmp_path}"


def test_missing_path_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert result.output.strip() == f"Error: {tmp_path / 'nope'}: no such file or folder"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--threshold", "80"], "Error: threshold must be in (0, 1], got 80.0; did you pass a percentage?"),
        (["--shingle", "sentence"], "Error: shingle kind must be word or char, got 'sentence'"),
        (["--bands", "4"], "Error: give bands and rows together, or neither"),
        (["--bands", "20", "--rows", "20"], "Error: bands × rows = 400 exceeds num_perm = 128"),
    ],
)
def test_bad_options_exit_2_and_say_why(seeds: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["scan", str(seeds), *args])
    assert result.exit_code == 2
    assert result.output.strip() == message


def test_strict_fails_on_skipped_records(tmp_path: Path) -> None:
    (tmp_path / "pages.jsonl").write_text('{"id": "a", "text": "hello world"}\n{broken\n')
    lenient = runner.invoke(app, ["scan", str(tmp_path)])
    strict = runner.invoke(app, ["scan", str(tmp_path), "--strict"])
    assert lenient.exit_code == 0 and f"Skipped {tmp_path / 'pages.jsonl'}:2: malformed JSON" in lenient.output
    assert strict.exit_code == 2 and "Error: 1 records skipped and --strict is set" in strict.output


def test_every_command_has_help() -> None:
    for command in ([], ["scan"], ["report"], ["show"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_the_summary_accounts_for_every_record(tmp_path: Path) -> None:
    (tmp_path / "pages.jsonl").write_text('{"id": "a", "text": "hello world"}\n{broken\n{"id": "c"}\n')
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(16))
    (tmp_path / "latin.txt").write_bytes("na\xefve text, ".encode("latin-1") + b"\x81")
    result = runner.invoke(app, ["scan", str(tmp_path)])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "Read 5 records = 2 scanned + 3 skipped (1 binary file, 1 malformed JSON, 1 missing text)." in flat
    assert f"Skipped {tmp_path / 'photo.png'}: PNG image: not a format dedup reads" in result.stderr
    assert f"Skipped {tmp_path / 'pages.jsonl'}:3: no 'text' field" in result.stderr
    assert json.loads(runner.invoke(app, ["scan", str(tmp_path), "--json"]).stdout)["records"] == 5


def test_strict_turns_a_skipped_record_into_exit_2(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a page")
    (tmp_path / "b.pdf").write_bytes(b"%PDF-1.4\n")
    result = runner.invoke(app, ["scan", str(tmp_path), "--strict"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "Error: 1 records skipped and --strict is set"


def test_many_skips_of_one_reason_are_summed_up(tmp_path: Path) -> None:
    (tmp_path / "pages.jsonl").write_text('{"text": "one good record"}\n' + "{broken\n" * 25)
    result = runner.invoke(app, ["scan", str(tmp_path)])
    skipped = [line for line in result.stderr.splitlines() if line.startswith("Skipped")]
    assert len(skipped) == 21 and skipped[-1] == "Skipped 5 more: malformed JSON"
    assert "Read 26 records = 1 scanned + 25 skipped (25 malformed JSON)." in " ".join(result.stdout.split())


def test_an_unknown_encoding_is_an_error() -> None:
    result = runner.invoke(app, ["scan", "seeds", "--encoding", "klingon"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "Error: unknown encoding 'klingon'; use a Python codec name such as utf-8, cp1252 or shift_jis"
    )


def test_encoding_text_field_and_html_drop_nav_reach_the_readers(tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_bytes("url,body\nhttps://a,Grüße\n".encode("cp437"))
    (tmp_path / "page.html").write_bytes(b"<html><body><nav>Menu</nav><p>Article text</p></body></html>")
    args = ["scan", str(tmp_path), "--encoding", "cp437", "--id-field", "url", "--text-field", "body"]
    out = tmp_path.parent / f"{tmp_path.name}-out"
    result = runner.invoke(app, [*args, "--html-drop-nav", "--out", str(out)])
    assert result.exit_code == 0, result.output
    blocks = pl.read_parquet(out / "blocks.parquet")
    assert blocks.select(S.DOC_ID, S.TEXT).rows() == [("page.html", "Article text"), ("https://a", "Grüße")]


def test_dash_reads_jsonl_from_standard_input() -> None:
    lines = '{"id": "x", "text": "the same sentence, long enough to be matched as a near repeat"}\n' * 2
    result = runner.invoke(app, ["scan", "-", "--json"], input=lines)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["documents"], summary["cross_doc_clusters"], summary["skipped"]) == (2, 1, 0)


@pytest.mark.parametrize(
    ("command", "arguments"),
    [
        (["scan"], "{PATHS}..."),
        (["check"], "{PATHS}..."),
        (["clean"], "{PATHS}..."),
        (["report"], "{SCAN_DIR}"),
        (["show"], "{DOC} [PATHS]..."),
        (["index", "add"], "{INDEX} {PATHS}..."),
        (["index", "remove"], "{INDEX}"),
    ],
)
def test_usage_names_arguments_as_the_help_refers_to_them(command: list[str], arguments: str) -> None:
    """The help says "an id in PATHS"; typer's default usage line spelled the parameters ``{paths}``."""
    usage = runner.invoke(app, [*command, "--help"]).output.splitlines()[0]
    assert usage.startswith(f"Usage: root {' '.join(command)} [OPTIONS] {arguments}")  # the runner names it root
