"""``dedup show``: what dedup read from a document, block by block, each with its place in the file."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dedup.cli import app
from tests.test_locations import PAGE, SHARED

runner = CliRunner()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("site").mkdir()
    Path("site/2to3.html").write_text(PAGE, encoding="utf-8")
    Path("site/copy.html").write_text(PAGE.replace("<h1>", "\n\n<h1>"), encoding="utf-8")
    return tmp_path


def test_a_page_is_shown_block_by_block_with_the_line_each_starts_on(site: Path) -> None:
    result = runner.invoke(app, ["show", "site/2to3.html"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "site/2to3.html (site/2to3.html): 9 blocks, 423 characters"
    headers = [line for line in lines if line.startswith("[")]
    assert [header.split()[0] for header in headers] == [f"[{n}]" for n in range(9)]
    page = PAGE.split("\n")
    for header in headers:
        _, line, column = header.split()[1].rsplit(":", 2)
        text = lines[lines.index(header) + 1].strip()
        source = html.unescape(page[int(line) - 1][int(column) - 1 :])
        first = "def greet" if text.startswith("```") else text.removeprefix("| ")  # code or a table's first cell
        assert source.startswith(first[:4]), (header, source)
    # The <pre> is one block, fenced, with its lines as they were.
    start = lines.index("[4] site/2to3.html:15:6")
    assert lines[start + 1 : start + 6] == [
        "    ```",
        "    def greet(name):",
        '        print "Hello, {0}!".format(name)',
        '    print "What\'s your name?"',
        "    ```",
    ]


def test_a_document_is_found_by_its_id_among_the_inputs(site: Path) -> None:
    with Path("pages.jsonl").open("w") as handle:
        handle.write(json.dumps({"id": "a", "text": "First record."}) + "\n")
        handle.write(json.dumps({"id": "b", "text": f"Second record.\n\n{SHARED}"}) + "\n")
    result = runner.invoke(app, ["show", "b", "pages.jsonl", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["doc_id"] == "b"
    assert [(b["block"], b["place"], b["text"]) for b in shown["blocks"]] == [
        (0, "pages.jsonl:2", "Second record."),
        (1, "pages.jsonl:2", SHARED),
    ]
    by_name = runner.invoke(app, ["show", "copy.html", "site"])
    assert by_name.output.startswith("copy.html (site/copy.html): 9 blocks")


def test_a_missing_document_is_an_error_that_names_the_documents_there(site: Path) -> None:
    result = runner.invoke(app, ["show", "nothere.html", "site"])
    assert result.exit_code == 2
    assert result.output == "Error: no document 'nothere.html' in site; its documents are '2to3.html', 'copy.html'\n"


def test_a_saved_scan_shows_the_cluster_each_block_joined(site: Path) -> None:
    assert runner.invoke(app, ["scan", "site", "--out", "scanned", "-q"]).exit_code == 0
    result = runner.invoke(app, ["show", "copy.html", "--scan", "scanned"])
    assert result.exit_code == 0, result.output
    headers = [line for line in result.output.splitlines() if line.startswith("[")]
    assert headers[1] == "[1] site/copy.html:12:5  exact cluster #1, short"
    assert headers[4] == "[4] site/copy.html:17:6  exact cluster #4"
    same = runner.invoke(app, ["show", "site/copy.html", "--scan", "scanned"])
    assert same.output == result.output
    missing = runner.invoke(app, ["show", "other.html", "--scan", "scanned"])
    assert missing.output == (
        "Error: no document 'other.html' in the scan scanned; its documents include '2to3.html', 'copy.html'\n"
    )
