"""HTML code and tables are one block each, and ``clean`` takes cut blocks' elements out of a page, nothing else."""

from __future__ import annotations

import random
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st

import dedup
from dedup import schema as S
from dedup.clean import restore
from dedup.formats.html import block_sources, clean_page, read_page, remove_blocks
from dedup.options import CleanOptions

# Lines that code samples share: a clean that cuts code line by line takes these out of every sample but one.
CODE_LINES = ["{", "}", ">>> import json", "Module(", "    body=[", "    ]", "print(x)", "return 0;"]
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa", "lambda", "sigma", "omega"]


class _Pres(HTMLParser):
    """The text of every ``<pre>`` of a page, read with Python's own parser (not dedup's extraction)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pres: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "pre":
            self.depth += 1
            self.pres.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.pres[-1] += data


def pres(page: str) -> list[str]:
    parser = _Pres()
    parser.feed(page)
    parser.close()
    return parser.pres


def code_sample(rng: random.Random) -> str:
    lines = [rng.choice(CODE_LINES) for _ in range(rng.randint(2, 6))] + [f"# {prose(rng, rng.choice([2, 10]))}"]
    lines.insert(rng.randint(0, len(lines)), f"{rng.choice(WORDS)}_{rng.randint(0, 9)} = {rng.randint(0, 99)}")
    return "<pre>" + "\n".join(lines).replace("<", "&lt;").replace(">", "&gt;") + "\n</pre>"


def prose(rng: random.Random, n: int = 12) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def element(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return code_sample(rng)
    if kind == 1:
        rows = "".join(f"<tr><td>{rng.choice(WORDS)}</td><td>{rng.randint(0, 3)}</td></tr>" for _ in range(2))
        return f"<table>\n  {rows}\n</table>"
    if kind == 2:
        return f"<ul>\n  <li>{prose(rng, 4)}</li>\n  <li>{prose(rng, 3)} <b>{rng.choice(WORDS)}</b></li>\n</ul>"
    if kind == 3:
        return f"<div class='note'><p>{prose(rng, 3)}</p></div>"
    return f"<p>{prose(rng)}\n   {prose(rng, 4)}</p>"


def page(rng: random.Random, shared: list[str]) -> str:
    parts = [element(rng) for _ in range(rng.randint(2, 6))] + rng.sample(shared, rng.randint(0, len(shared)))
    rng.shuffle(parts)
    body = "\n".join(parts)
    return f"<!DOCTYPE html>\n<html>\n<head><title>t</title></head>\n<body>\n<h1>Title</h1>\n{body}\n</body>\n</html>\n"


def site(seed: int, folder: Path, n_pages: int = 6) -> dict[str, str]:
    rng = random.Random(seed)
    shared = [code_sample(rng) for _ in range(3)] + [f"<p>{prose(rng)}</p>" for _ in range(2)]
    pages = {f"page{n}.html": page(rng, shared) for n in range(n_pages)}
    folder.mkdir(parents=True, exist_ok=True)
    for name, html in pages.items():
        (folder / name).write_text(html, encoding="utf-8")
    return pages


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.booleans())
@example(4348, True)  # a page of nothing but repeats (its table's short cells too): not written
def test_clean_never_tears_a_pre_and_takes_out_whole_elements(tmp_path_factory, seed: int, cut_short: bool) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("site")
    pages = site(seed, root / "site")
    # With --cut-short every repeated short block goes too: a clean cutting code line by line would take
    # the braces out of every sample but one.
    options = CleanOptions(cut_short=cut_short)
    result = dedup.clean([root / "site"], root / "out", options, removed=root / "removed.parquet")
    audit = pl.read_parquet(root / "removed.parquet")
    for name, html in pages.items():
        cuts = audit.filter(pl.col(S.DOC_ID) == name).select(S.CUT_START, S.REMOVED).rows()
        if not (root / "out" / name).exists():  # it held nothing but repeats: not written, its text all in the audit
            assert restore("", cuts) == read_page(html).text, name
            continue
        cleaned = (root / "out" / name).read_text(encoding="utf-8")
        # Every <pre> of the cleaned page is one of the page's own, whole (judged by Python's parser).
        before, after = pres(html), pres(cleaned)
        assert all(pre in before for pre in after), name
        assert len(after) >= len(before) - audit.filter(pl.col(S.DOC_ID) == name).height
        # The cleaned page reads as the cleaned text, and the audit table puts every cut back.
        text = read_page(cleaned).text
        assert restore(text, cuts) == read_page(html).text, name
    # The output holds no repeat clean would cut: the long ones are gone (short ones stay by default).
    rescan = dedup.scan([root / "out"])
    assert rescan.clusters.filter(pl.lit(True) if cut_short else ~pl.col(S.SHORT)).height == 0
    assert result.stats.blocks_removed == audit.height


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.data())
def test_removing_any_blocks_leaves_the_others_as_they_were(seed: int, data: st.DataObject) -> None:
    rng = random.Random(seed)
    html = page(rng, [])
    read = read_page(html)
    spans = [tuple(read.spans[i : i + 2]) for i in range(0, len(read.spans), 4)]
    cut = data.draw(st.lists(st.sampled_from(spans), unique=True)) if spans else []
    kept = remove_blocks(html, block_sources(read, cut))
    paragraphs = [read.text[start:end] for start, end in spans if (start, end) not in cut]
    assert read_page(kept).text == "\n\n".join(paragraphs)
    # Only removed: what is left is the page's bytes in order, the <head> and the frame of the page untouched.
    assert kept.startswith("<!DOCTYPE html>\n<html>\n<head><title>t</title></head>\n<body>\n")
    assert kept.endswith("</body>\n</html>\n")
    remaining = iter(html)
    assert all(ch in remaining for ch in kept)


def test_a_pre_and_a_table_each_go_with_their_element_and_their_lines() -> None:
    html = (
        "<body>\n<p>Intro words here.</p>\n<pre>{\n  x\n}</pre>\n"
        "<table>\n<tr><td>a</td><td>1</td></tr>\n<tr><td>b</td><td>2</td></tr>\n</table>\n"
        "<ul><li>one <b>bold</b></li><li>two</li></ul>\n</body>"
    )
    read = read_page(html)
    assert read.text.split("\n\n") == [
        "Intro words here.",
        "```\n{\n  x\n}\n```",
        "| a | 1 |\n| b | 2 |",
        "one bold",
        "two",
    ]
    spans = [tuple(read.spans[i : i + 2]) for i in range(0, len(read.spans), 4)]
    assert remove_blocks(html, block_sources(read, [spans[1], spans[2]])) == (
        "<body>\n<p>Intro words here.</p>\n<ul><li>one <b>bold</b></li><li>two</li></ul>\n</body>"
    )
    assert remove_blocks(html, block_sources(read, [spans[3]])) == html.replace("<li>one <b>bold</b></li>", "")
    assert clean_page(html, [spans[3]]) == html.replace("<li>one <b>bold</b></li>", "")  # the same in one call
    # A cell of a table of layout is emptied, never removed: the other cells keep their columns.
    layout = "<table><tr><td><h2>Menu</h2></td><td>Body text</td></tr></table>"
    read = read_page(layout)
    assert read.text == "Menu\n\nBody text"
    assert (
        remove_blocks(layout, block_sources(read, [(6, 15)]))
        == "<table><tr><td><h2>Menu</h2></td><td></td></tr></table>"
    )
