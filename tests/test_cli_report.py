"""The CLI's reports: dedup scan and dedup report print the same, --html, --json, --quiet, colours, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dedup.progress
from dedup.cli import app
from tests.conftest import INTRO, SEEDS, listed

# A clean environment: the developer's or CI's own settings must not decide colour and width.
PIPED = {
    "FORCE_COLOR": None,
    "NO_COLOR": None,
    "TTY_COMPATIBLE": None,
    "TTY_INTERACTIVE": None,
    "TERM": "xterm-256color",
    "COLORTERM": None,
    "COLUMNS": "100",
}
TERMINAL = PIPED | {"FORCE_COLOR": "1"}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="module")
def scanned(runner: CliRunner, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("cli")
    result = runner.invoke(
        app, ["scan", str(SEEDS), "--out", str(folder / "scan"), "--html", str(folder / "r.html")], env=PIPED
    )
    assert result.exit_code == 0, result.output
    return folder, result.stdout


def test_scan_writes_tables_and_html_and_says_so(scanned: tuple[Path, str]) -> None:
    folder, stdout = scanned
    assert listed(folder / "scan") == [
        "blocks.parquet",
        "clusters.parquet",
        "documents.parquet",
        "pairs.parquet",
        "scan.json",
    ]
    assert (folder / "r.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    assert stdout.endswith(
        f"\nWrote {folder / 'scan'}/: blocks, pairs, clusters, documents (.parquet) and scan.json\n"
        f"Wrote {folder / 'r.html'}: the HTML report\n"
    )


def test_report_re_renders_the_saved_scan(runner: CliRunner, scanned: tuple[Path, str]) -> None:
    folder, scan_stdout = scanned
    result = runner.invoke(app, ["report", str(folder / "scan")], env=PIPED)
    assert result.exit_code == 0, result.output
    assert scan_stdout.startswith(result.stdout)
    assert "[-fünfjährigen-]{+fünfjährigem+}" in result.stdout
    assert f"{INTRO} is" in result.stdout


def test_report_json_is_the_scan_json(runner: CliRunner, scanned: tuple[Path, str]) -> None:
    folder, _ = scanned
    from_scan = runner.invoke(app, ["scan", str(SEEDS), "--json", "--quiet"], env=PIPED)
    from_report = runner.invoke(app, ["report", str(folder / "scan"), "--json"], env=PIPED)
    assert from_scan.exit_code == from_report.exit_code == 0
    assert json.loads(from_report.stdout) == json.loads(from_scan.stdout)


def test_report_writes_html(runner: CliRunner, scanned: tuple[Path, str]) -> None:
    folder, _ = scanned
    target = folder / "again.html"
    result = runner.invoke(app, ["report", str(folder / "scan"), "--html", str(target)], env=PIPED)
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(f"\nWrote {target}: the HTML report\n")
    assert target.read_text(encoding="utf-8") == (folder / "r.html").read_text(encoding="utf-8")


def test_piped_output_is_plain_and_has_no_progress(runner: CliRunner) -> None:
    result = runner.invoke(app, ["scan", str(SEEDS)], env=PIPED)
    assert result.exit_code == 0
    assert not ANSI.search(result.stdout)
    assert result.stderr == ""


def test_terminal_output_is_coloured_with_progress_unless_quiet(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    piped = runner.invoke(app, ["scan", str(SEEDS)], env=TERMINAL)
    assert piped.exit_code == 0
    assert ANSI.search(piped.stdout)
    assert piped.stderr == ""  # FORCE_COLOR colours the report; bars need standard error to be a terminal
    monkeypatch.setattr(dedup.progress, "_is_terminal", lambda stream: True)
    loud = runner.invoke(app, ["scan", str(SEEDS)], env=TERMINAL)
    assert loud.exit_code == 0
    assert "Fingerprinting" in loud.stderr
    quiet = runner.invoke(app, ["scan", str(SEEDS), "--quiet"], env=TERMINAL)
    assert quiet.exit_code == 0
    assert ANSI.search(quiet.stdout)
    assert quiet.stderr == ""


def test_width_follows_the_terminal(runner: CliRunner) -> None:
    result = runner.invoke(app, ["scan", str(SEEDS), "--quiet"], env=PIPED | {"COLUMNS": "60"})
    assert max(len(line) for line in result.stdout.splitlines()) <= 60


def test_report_of_a_missing_folder(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nothing"
    result = runner.invoke(app, ["report", str(missing)], env=PIPED)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {missing}: no such folder (expected the folder written by dedup scan --out)\n"


def test_html_into_a_folder_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", str(SEEDS), "--quiet", "--html", str(tmp_path)], env=PIPED)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {tmp_path}: is a folder; give a file name such as report.html\n"


@pytest.mark.parametrize("command", ["scan", "report"])
def test_every_command_has_help(runner: CliRunner, command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env=PIPED)
    assert result.exit_code == 0
    assert "--html" in result.stdout
