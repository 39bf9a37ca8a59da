"""Every block is placed in its original file: the line (and column) a person opens, or the record."""

from __future__ import annotations

import csv
import html as html_lib
import io
import json
import re
from pathlib import Path
from unittest import mock

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import dedup
from dedup import schema as S
from dedup.cli import app
from dedup.formats import html as html_module
from dedup.formats.html import Page, read_page
from dedup.htmlreport import report_data
from dedup.locations import place, shown_path
from dedup.sources import Document, DocumentFrame, batches
from dedup.stage import fingerprint_batch

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa", "lambda", "sigma", "omega"]


def first_visible(block_text: str) -> str:
    """The first line of a block as it stands in the source: the code of a fenced block, else the text."""
    lines = block_text.split("\n")
    if lines[0].startswith("```"):
        return lines[1].strip()
    if lines[0].startswith("| "):
        return lines[0][2:].split(" |")[0]
    return lines[0]


def assert_blocks_point_at_their_text(source: Path, blocks: pl.DataFrame) -> None:
    """The line and column of every block hold its first words (entities decoded) in the file."""
    lines = source.read_text(encoding="utf-8").split("\n")
    assert blocks.height > 0
    for row in blocks.iter_rows(named=True):
        line = html_lib.unescape(re.sub(r"<[^>]*>", "", lines[row[S.SOURCE_LINE] - 1][row[S.SOURCE_COLUMN] - 1 :]))
        words = first_visible(row[S.TEXT]).split()[:2]
        assert " ".join(line.split()).startswith(" ".join(words)), (row, line)


PAGE = """<!DOCTYPE html>
<html>
<head>
  <title>Converting with 2to3</title>
  <style>p { margin: 0 }</style>
  <script>if (a < b && c > d) { show("<p>not text</p>"); }</script>
</head>
<body>
  <nav><a href="/">Home</a> | <a href="/docs">Docs</a></nav>
  <h1>2to3 &mdash; Automated translation</h1>
  <p>2to3 is a Python program that reads Python 2.x source code
     and applies a series of <em>fixers</em> to transform it.</p>
  <!-- a comment with <p>markup</p> -->
  <p>Here is a sample:</p>
<pre>def greet(name):
    print "Hello, {0}!".format(name)

print "What's your name?"
</pre>
  <table>
    <tr><th>Fixer</th><th>What it does</th></tr>
    <tr><td>print</td><td>Converts the <code>print</code> statement</td></tr>
  </table>
  <ul>
    <li>&lt;stdin&gt; is read when no file is given</li>
    <li>Fixers can be <b>listed</b> with <code>-l</code></li>
  </ul>
  <footer><p>&copy; Copyright 2001 Python Software Foundation.</p></footer>
</body>
</html>
"""


def test_blocks_of_a_page_name_the_line_and_column_in_the_html_file(tmp_path: Path) -> None:
    (tmp_path / "2to3.html").write_text(PAGE, encoding="utf-8")
    result = dedup.scan([tmp_path])
    blocks = result.blocks
    assert_blocks_point_at_their_text(tmp_path / "2to3.html", blocks)
    lines = {row[S.TEXT].split("\n")[0][:12]: row[S.SOURCE_LINE] for row in blocks.iter_rows(named=True)}
    assert lines == {"Home | Docs": 9, "2to3 — Autom": 10, "2to3 is a Py": 11, "Here is a sa": 14, "```": 15,
                     "| Fixer | Wh": 21, "<stdin> is r": 25, "Fixers can b": 26, "© Copyright ": 28}  # fmt: skip


def test_a_text_file_is_placed_by_its_own_lines_and_columns(tmp_path: Path) -> None:
    text = "Title line\n\n    indented paragraph of words\n\r\n  third block\n\n- item one\n- item two\n"
    (tmp_path / "notes.md").write_text(text, encoding="utf-8", newline="")
    blocks = dedup.scan([tmp_path]).blocks
    for row in blocks.iter_rows(named=True):
        line = text.split("\n")[row[S.SOURCE_LINE] - 1]
        assert line[row[S.SOURCE_COLUMN] - 1 :].startswith(row[S.TEXT].split("\n")[0])
    assert blocks.select(S.SOURCE_LINE, S.SOURCE_COLUMN).rows() == [(1, 1), (3, 5), (5, 3), (7, 1)]


def test_records_are_placed_by_their_line_row_or_number(tmp_path: Path) -> None:
    texts = ["The first record holds a sentence long enough.", "The second record holds other words entirely."]
    with (tmp_path / "pages.jsonl").open("w") as handle:
        handle.write("\n")  # a blank line: records are numbered by the line they are on
        for number, text in enumerate(texts):
            handle.write(json.dumps({"id": f"r{number}", "text": f"{text}\n\nA second paragraph {number}."}) + "\n")
    with (tmp_path / "export.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerow(["c0", "A cell over\ntwo lines."])  # the next record starts a line later
        writer.writerow(["c1", texts[1]])
    result = dedup.scan([tmp_path])
    blocks = result.blocks.join(result.documents.select(S.DOC_ID, S.SOURCE), on=S.DOC_ID)
    placed = {(row[S.DOC_ID], row[S.BLOCK]): (row[S.SOURCE_LINE], row[S.SOURCE_COLUMN]) for row in blocks.to_dicts()}
    assert placed == {
        ("c0", 0): (2, None),
        ("c0", 1): (2, None),
        ("c1", 0): (4, None),
        ("r0", 0): (2, None),
        ("r0", 1): (2, None),
        ("r1", 0): (3, None),
        ("r1", 1): (3, None),
    }
    csv_lines = (tmp_path / "export.csv").read_text().split("\n")
    assert csv_lines[4 - 1].startswith("c1,")


def test_places_read_as_a_person_opens_them() -> None:
    assert place("site/2to3.html", 847, 5) == "site/2to3.html:847:5"
    assert place("pages.jsonl.zst", 17, None) == "pages.jsonl.zst:17"
    assert place("export.parquet", 7, None) == "export.parquet, row 7"
    assert place("items.json", 3, None) == "items.json, item 3"
    assert place("<memory>", 2, None) == "<memory>, item 2"  # dedup.scan(["text", ...])
    assert place("<DataFrame 1>", 5, None) == "<DataFrame 1>, row 5"
    assert (
        place("crawl.warc.gz", 12, None, "https://example.org/a") == "crawl.warc.gz, record 12 (https://example.org/a)"
    )


def test_files_are_shown_relative_to_the_working_folder_only_when_inside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, elsewhere = tmp_path / "work", tmp_path / "data"
    (work / "site").mkdir(parents=True)
    elsewhere.mkdir()
    monkeypatch.chdir(work)
    assert shown_path(str(work / "site" / "a.html")) == "site/a.html"
    assert shown_path("site/a.html") == "site/a.html"
    assert shown_path(str(elsewhere / "b.html")) == (elsewhere / "b.html").as_posix()
    assert shown_path("../data/b.html") == (elsewhere / "b.html").as_posix()
    assert shown_path(str(tmp_path)) == tmp_path.as_posix()  # the parent itself is outside too
    assert shown_path("..data.html") == "..data.html"  # a name that begins with two dots is inside


MARKUP = st.sampled_from(["<p>{}</p>", "<div>{}</div>", "<li>{}</li>", "<h2>{}</h2>", "{}<br>", "<p><b>{}</b></p>"])
SPACING = st.sampled_from(["", "\n", "\n  ", "  ", "\r\n", "\n<!-- note -->\n"])
PHRASE = st.lists(st.sampled_from([*WORDS, "&amp;", "&lt;x&gt;", "naïve", "日本"]), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(MARKUP, PHRASE, SPACING), min_size=1, max_size=12))
def test_every_paragraph_anchor_points_at_its_text_in_any_page(parts: list[tuple[str, list[str], str]]) -> None:
    body = "".join(markup.format(" ".join(words)) + spacing for markup, words, spacing in parts)
    html = f"<html><head><title>t</title></head><body>\n{body}</body></html>"
    tree = read_page(html)
    with mock.patch.object(html_module, "MAX_TREE_DEPTH", -1):  # the tokenizer, for pages nested too deep
        tokenized = read_page(html)
    assert tokenized.text == tree.text
    lines = html.replace("\r\n", "\n").split("\n")  # \r\n counts as one line end, as in any editor
    for page in (tree, tokenized):
        assert_anchors_point_at_their_paragraphs(page, lines)


def assert_anchors_point_at_their_paragraphs(page: Page, lines: list[str]) -> None:
    for offset, _, line, column in zip(*[iter(page.anchors)] * 4, strict=True):
        paragraph = page.text[offset:].split("\n")[0]
        source = html_lib.unescape(re.sub(r"<[^>]*>", "", lines[line - 1][column - 1 :]))
        assert " ".join(source.split()).startswith(paragraph.split()[0]), (paragraph, lines[line - 1], column)


# ---------------------------------------------------------------- findings name the place a person opens

SHARED = "A paragraph that two pages share word for word, long enough to be counted as a real repeat here."


def check_places(paths: list[Path], monkeypatch: pytest.MonkeyPatch, folder: Path) -> list[str]:
    """The places ``dedup check`` names, in its text output, before the ``:`` of each message."""
    monkeypatch.chdir(folder)
    result = CliRunner().invoke(app, ["check", *[str(p.relative_to(folder)) for p in paths]])
    assert result.exit_code == 1, result.output
    return [line.split(": ", 1)[0] for line in result.output.splitlines()[:-2]]


def test_check_names_the_line_and_column_of_a_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "2to3.html").write_text(PAGE, encoding="utf-8")
    copy = PAGE.replace("<p>Here is a sample:</p>", f"<p>Other words.</p>\n\n\n  <p>{SHARED}</p>")
    (site / "copy.html").write_text(copy.replace("2to3 is a Python", "2to3 was a Python"), encoding="utf-8")
    places = check_places([site], monkeypatch, tmp_path)
    # A near copy; the <pre> and the table, three lines down (a table is long enough by its characters).
    assert places == ["site/copy.html:11:6", "site/copy.html:18:6", "site/copy.html:24:13"]
    for where in places:
        file, line, column = where.rsplit(":", 2)
        source = (tmp_path / file).read_text().split("\n")[int(line) - 1][int(column) - 1 :]
        assert source.strip() and not source.startswith("<"), where


def test_check_names_the_record_of_jsonl_csv_and_warc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with (tmp_path / "pages.jsonl").open("w") as handle:
        for number in range(3):
            text = SHARED if number == 2 else WORDS[number] + " is a word that stands alone here"
            handle.write(json.dumps({"id": f"j{number}", "text": text}) + "\n")
    with (tmp_path / "export.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerow(["c0", "A cell over\ntwo lines, with nothing else in it."])
        writer.writerow(["c1", SHARED])
    with (tmp_path / "crawl.warc").open("wb") as handle:
        writer = WARCWriter(handle, gzip=False)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        body = f"<html><body><p>{SHARED}</p></body></html>".encode()
        record = writer.create_warc_record(
            "https://x.example/a", "response", payload=io.BytesIO(body), http_headers=http
        )
        writer.write_record(record)
        record.raw_stream.close()  # warcio leaves the buffer of the record open
    places = check_places(
        [tmp_path / "pages.jsonl", tmp_path / "export.csv", tmp_path / "crawl.warc"], monkeypatch, tmp_path
    )
    assert places == ["export.csv:4", "crawl.warc, record 1 (https://x.example/a)"]
    assert SHARED in (tmp_path / "export.csv").read_text().split("\n")[4 - 1]
    assert SHARED in (tmp_path / "pages.jsonl").read_text().split("\n")[3 - 1]
    result = CliRunner().invoke(app, ["check", "pages.jsonl", "export.csv", "crawl.warc", "--format", "json"])
    occurrences = json.loads(result.output)["findings"][0]["occurrences"]
    assert [o["place"] for o in occurrences] == [
        "pages.jsonl:3",
        "export.csv:4",
        "crawl.warc, record 1 (https://x.example/a)",
    ]


def test_json_lines_piped_in_are_placed_by_their_line() -> None:
    lines = [json.dumps({"id": f"j{n}", "text": WORDS[n] + " stands alone in this line"}) for n in range(2)]
    lines += [json.dumps({"id": f"s{n}", "text": SHARED}) for n in range(2)]
    result = CliRunner().invoke(app, ["check", "-", "--format", "json"], input="\n".join(lines) + "\n")
    occurrences = json.loads(result.output)["findings"][0]["occurrences"]
    assert [o["place"] for o in occurrences] == ["<stdin>:3", "<stdin>:4"]  # as the README says (it was "row 3")


def test_reports_name_the_places_in_the_html_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("site").mkdir()
    Path("site/2to3.html").write_text(PAGE, encoding="utf-8")
    Path("site/copy.html").write_text(PAGE.replace("<h1>", "\n\n<h1>"), encoding="utf-8")  # two lines down
    result = dedup.scan(["site"])
    data = report_data(result)
    code = next(c for c in data["clusters"] if c["text"].startswith("```"))
    assert code["places"] == ["site/2to3.html:15:6", "site/copy.html:17:6"]
    out = CliRunner().invoke(app, ["scan", "site"]).output
    assert "site/2to3.html:10:7, site/copy.html:12:5" in " ".join(out.split())  # the <h1>, no longer indented


def test_a_frame_of_records_made_without_anchors_joins_a_batch_of_files() -> None:
    records = pl.DataFrame(
        {S.DOC_ID: ["r1"], S.TEXT: ["A record."], S.SOURCE: ["in-memory"], S.SOURCE_LINE: [4]},
        schema={S.DOC_ID: pl.String, S.TEXT: pl.String, S.SOURCE: pl.String, S.SOURCE_LINE: pl.Int64},
    )
    page = Document("p.html", "Title\n\nBody text.", "p.html", 1, (0, 1, 3, 5, 7, 3, 4, 9))
    frame = DocumentFrame(records, 9)
    (batch,) = batches([frame, page], 1 << 20)
    assert batch[S.ANCHORS].to_list() == [None, [0, 1, 3, 5, 7, 3, 4, 9]]
    assert [d.anchors for d in frame.documents()] == [None]
    blocks = fingerprint_batch(batch.with_row_index(S.DOC_KEY).cast({S.DOC_KEY: pl.Int64}), dedup.ScanOptions())
    assert blocks.select(S.DOC_KEY, S.SOURCE_LINE, S.SOURCE_COLUMN).rows() == [(0, 4, None), (1, 3, 5), (1, 4, 9)]
