"""The terminal report: plain when piped, coloured on a terminal, fitted to the width, the same from saved files."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console

import dedup
from dedup import schema as S
from dedup.diff import DELETE, INSERT, word_diff
from dedup.locations import shown_path
from dedup.report import STYLE, diff_text, render_report
from tests.conftest import DOUBLED, INTRO, SEEDS

ANSI = re.compile(r"\x1b\[[0-9;]*m")
CLAUSE = "- und steht ihm bei, als er mit illegalen Kickboxkämpfen ein Zubrot findet"


def _render(result: dedup.ScanResult, width: int = 100, colour: bool = False, top: int = 10) -> str:
    out = StringIO()
    console = Console(
        file=out,
        width=width,
        force_terminal=colour,
        color_system="truecolor" if colour else None,
        highlight=False,
    )
    render_report(result, console, top=top)
    return out.getvalue()


def _line_of(seed_texts: dict[str, str], name: str, start: str) -> str:
    """``file:line:1`` of the line that starts with ``start``, found by reading the seed itself."""
    lines = seed_texts[name].splitlines()
    return _at(name, next(n for n, line in enumerate(lines, 1) if line.lstrip().startswith(start)))


def _at(name: str, line: int) -> str:
    """How the report names line ``line`` of a seed: its path from the working folder, the line, column 1."""
    return f"{shown_path(str(SEEDS / name))}:{line}:1"


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_plain_report_has_no_escape_codes_and_shows_the_summary(seed_scan: dedup.ScanResult) -> None:
    text = _render(seed_scan)
    assert "\x1b" not in text
    summary = seed_scan.summary()
    lines = text.splitlines()
    assert lines[0] == f"Scanned     {summary['documents']} documents (3 files), {summary['blocks']} blocks"
    assert lines[1] == (
        f"Clusters    {summary['exact_clusters']} exact, {summary['near_clusters']} near, "
        f"{summary['short_clusters']} of short lines; {summary['cross_doc_clusters']} span documents"
    )
    assert lines[2] == (
        f"Duplicated  {summary['dup_chars']:,} of {summary['chars']:,} characters ({summary['dup_fraction']:.1%})"
    )


def test_plain_report_shows_what_the_seeds_repeat(seed_scan: dedup.ScanResult, seed_texts: dict[str, str]) -> None:
    flat = _flat(_render(seed_scan, width=100))
    intro = f"at {_line_of(seed_texts, INTRO, 'De rouille')}, {_line_of(seed_texts, DOUBLED, 'De rouille')}"
    cast = f"at {_line_of(seed_texts, INTRO, 'Regisseur')}, {_line_of(seed_texts, DOUBLED, 'Regisseur')}"
    assert intro in flat and cast in flat
    synopsis = [
        _at(INTRO, 4),
        _at(INTRO, 5),
        _at(DOUBLED, 11),
        _at(DOUBLED, 13),
    ]  # the four paragraphs, read off the seeds
    assert all("Steph geht in ihrem Beruf a" in line for line in _seed_lines(seed_texts, synopsis))
    assert "at " + ", ".join(synopsis) in flat
    # The near pair, word by word: the changed ending, the dropped word, the appended clause.
    assert f"{_at(INTRO, 4)} ~ {_at(INTRO, 5)}" in flat
    assert "[-fünfjährigen-]{+fünfjährigem+}" in flat
    assert "Sie nimmt [-instinktiv-] Kontakt" in flat
    assert f"bemitleiden wird {{+{CLAUSE}+}}." in flat
    containment = seed_scan.documents.filter(pl.col(S.DOC_ID) == INTRO)[S.CONTAINMENT][0]
    assert f"{INTRO} is {containment:.0%} contained in {DOUBLED}" in flat


def _seed_lines(seed_texts: dict[str, str], places: list[str]) -> list[str]:
    found = []
    for place in places:
        path, line, _ = place.rsplit(":", 2)
        found.append(seed_texts[Path(path).name].splitlines()[int(line) - 1])
    return found


@pytest.mark.parametrize("width", [50, 80, 140])
def test_lines_fit_the_width_without_trailing_spaces(seed_scan: dedup.ScanResult, width: int) -> None:
    for line in _render(seed_scan, width=width).splitlines():
        assert len(line) <= width, line
        assert line == line.rstrip(), line


def test_a_path_longer_than_the_line_stays_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "a-folder-whose-name-is-longer-than-a-narrow-terminal-line"
    folder.mkdir()
    paragraph = "Every page of this site ends with the same paragraph about its licence and its authors."
    for name in ("first", "second"):
        (folder / f"{name}.md").write_text(f"A page called {name}, about {name} things.\n\n{paragraph}\n")
    monkeypatch.chdir(tmp_path)
    width = 40
    lines = _render(dedup.scan([folder]), width=width).splitlines()
    for name in ("first", "second"):
        place = f"{folder.name}/{name}.md:3:1"
        assert any(line.strip().removesuffix(",") == place for line in lines), place
    for line in lines:  # only a line of one word (a place) is longer than the width
        assert len(line) <= width or len(line.split()) == 1, line


def test_a_place_with_spaces_is_not_broken_at_them() -> None:
    paragraph = "This paragraph stands on every page of the collection and is found as a repeat."
    texts = [f"Page {n} opens with words of its own, for it alone.\n\n{paragraph}" for n in range(14)]
    result = dedup.scan(pl.DataFrame({"id": [f"d{n}" for n in range(14)], "text": texts}))
    lines = [line.strip() for line in _render(result, width=40).splitlines()]
    at = next(n for n, line in enumerate(lines) if line.startswith("at <DataFrame>"))
    # Eight places, a line each at this width: every line holds whole ones, never a "row N" cut from its table.
    shown = [line.removeprefix("at ") for line in lines[at : at + 8]]
    assert shown[:7] == [f"<DataFrame>, row {n}," for n in range(1, 8)]
    assert shown[7] == "<DataFrame>, row 8, … 6 more"


def test_colour_report_highlights_instead_of_marking(seed_scan: dedup.ScanResult) -> None:
    coloured = _render(seed_scan, colour=True)
    assert ANSI.search(coloured)
    plain = ANSI.sub("", coloured)
    assert "[-" not in plain and "{+" not in plain
    assert "fünfjährigenfünfjährigem" in _flat(plain)  # deletion then insertion, told apart by colour alone


def test_diff_text_styles_exactly_the_changes(seed_scan: dedup.ScanResult) -> None:
    old, new = seed_scan.blocks.filter(pl.col(S.TEXT).str.starts_with("Steph geht"))[S.TEXT][:2]
    text = diff_text(word_diff(old, new), plain=False)
    styled = [(str(span.style), text.plain[span.start : span.end]) for span in text.spans]
    assert styled == [
        (STYLE[DELETE], "fünfjährigen"),
        (STYLE[INSERT], "fünfjährigem"),
        (STYLE[DELETE], "beide wieder"),
        (STYLE[INSERT], "sie"),
        (STYLE[DELETE], "instinktiv"),
        (STYLE[DELETE], "sich"),
        (STYLE[INSERT], CLAUSE),
    ]


def test_diff_text_cuts_long_sameness_to_context() -> None:
    old = "eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf"
    new = old.replace("sechs", "6")
    assert diff_text(word_diff(old, new), plain=True, context=2).plain == "… vier fünf [-sechs-]{+6+} sieben acht …"


def test_report_from_saved_files_is_the_same(seed_scan: dedup.ScanResult, tmp_path: Path) -> None:
    seed_scan.write(tmp_path / "scan")
    loaded = dedup.load(tmp_path / "scan")
    assert _render(loaded) == _render(seed_scan)
    assert _render(loaded, colour=True) == _render(seed_scan, colour=True)


def test_top_limits_every_section(seed_scan: dedup.ScanResult) -> None:
    text = _render(seed_scan, top=1)
    long_clusters = seed_scan.clusters.filter(~pl.col(S.SHORT)).height
    assert f"Largest clusters (1 of {long_clusters})" in text
    assert len(re.findall(r"^#\d+ ", text, flags=re.MULTILINE)) == 1


def test_styles_stay_on_their_words(seed_scan: dedup.ScanResult) -> None:
    lines = _render(seed_scan, colour=True).splitlines()
    bold, reset = "\x1b[1m", "\x1b[0m"
    assert lines[0].startswith(f"{bold}Scanned     {reset}3 documents")  # the label is bold, the value is not
    at_line = next(line for line in lines if ANSI.sub("", line).lstrip().startswith("at "))
    assert ANSI.sub("", at_line.split(reset, 1)[0]).strip() == "at"  # "at" is dim, the places have their own style


def test_escapes_and_bidi_overrides_in_names_and_texts_are_shown_escaped(tmp_path: Path) -> None:
    hostile = "a\x1b[31mred\u202e.txt"
    text = "A paragraph with enough words in it to be a block of its own \u202eand more words here.\n"
    for name in (hostile, "b.txt"):
        (tmp_path / name).write_text(text, encoding="utf-8")
    out = StringIO()
    render_report(dedup.scan([tmp_path]), Console(file=out, width=200, color_system=None), top=5)
    shown = out.getvalue()
    assert "\x1b" not in shown and "\u202e" not in shown
    assert "a\\x1b[31mred\\u202e.txt" in shown
