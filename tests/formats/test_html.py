"""HTML pages -> paragraphs per block-level element; shared page chrome shows up as cross-document clusters."""

from __future__ import annotations

import re
from pathlib import Path
from unittest import mock

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dedup
from dedup import schema as S
from dedup.formats import html as html_module
from dedup.formats.html import html_to_text, meta_charset
from dedup.options import ReadOptions
from dedup.sources import ReadStats, read_documents
from tests.builders import peak_python_bytes

HEADER = (
    "<header><nav><ul><li><a href='/'>Home</a></li><li><a href='/shop'>Shop</a></li></ul></nav>"
    "<div class='banner'>We use cookies to improve your experience on this site; by browsing you accept them.</div>"
    "</header>"
)
FOOTER = (
    "<footer><p>Copyright 2024 Example Shop Limited, 12 High Street, Springfield. All rights reserved.</p>"
    "<p>Subscribe to our newsletter for weekly offers on garden tools and outdoor furniture.</p></footer>"
)
ARTICLES = [
    "The new cordless hedge trimmer cuts through thick branches and weighs less than two kilograms in total.",
    "Our guide to composting explains which kitchen scraps belong in the bin and which attract rodents.",
    "Spring planting starts when the soil warms up; tomatoes want nights above ten degrees before going out.",
    "A wooden bench lasts for decades if it is oiled every autumn and stored under cover during winter.",
]


def page(article: str) -> str:
    return (
        "<!DOCTYPE html><html><head><title>Shop</title><style>body{margin:0}</style>"
        "<script>var tracking = 'never text';</script></head><body>"
        f"{HEADER}<main><h1>Article</h1><p>{article}</p></main>{FOOTER}</body></html>"
    )


def test_block_elements_become_paragraphs() -> None:
    text, note = html_to_text(
        "<body><div>Direct <b>bold</b> text<p>A paragraph\n   wrapped   in the source.</p>tail</div>"
        "<ul><li>first item</li><li>second item</li></ul><h2>Heading</h2>"
        "<table><tr><td>cell one</td><th>cell two</th></tr></table>"
        "line one<br>line two<br><br><br>line three<pre>  keep\n    indent</pre></body>"
    )
    assert text.split("\n\n") == [
        "Direct bold text",
        "A paragraph wrapped in the source.",
        "tail",
        "first item",
        "second item",
        "Heading",
        "| cell one | cell two |",
        "line one",
        "line two",
        "line three",
        "```\n  keep\n    indent\n```",
    ]
    assert note == ""


def test_scripts_styles_and_templates_are_never_text() -> None:
    text, _ = html_to_text(
        "<head><title>Title</title><style>p{}</style></head><body><p>visible</p><script>var x = 1;</script>"
        "<noscript>enable scripts</noscript><template><p>template</p></template><!-- a comment --></body>"
    )
    assert text == "visible"


def test_page_chrome_is_kept_unless_dropped_on_request() -> None:
    html = page(ARTICLES[0])
    kept, _ = html_to_text(html)
    dropped, _ = html_to_text(html, drop_layout=True)
    assert kept.split("\n\n") == [
        "Home",
        "Shop",
        "We use cookies to improve your experience on this site; by browsing you accept them.",
        "Article",
        ARTICLES[0],
        "Copyright 2024 Example Shop Limited, 12 High Street, Springfield. All rights reserved.",
        "Subscribe to our newsletter for weekly offers on garden tools and outdoor furniture.",
    ]
    assert dropped.split("\n\n") == ["Article", ARTICLES[0]]


def test_pages_sharing_header_and_footer_give_cross_document_clusters(tmp_path: Path) -> None:
    for number, article in enumerate(ARTICLES):
        (tmp_path / f"page{number}.html").write_text(page(article), encoding="utf-8")
    result = dedup.scan([tmp_path])
    cross = result.clusters.filter(pl.col(S.SCOPE) == S.CROSS_DOC)
    boilerplate = {row[S.TEXT]: row[S.N_DOCS] for row in cross.iter_rows(named=True)}
    assert boilerplate == {
        "Home": 4,
        "Shop": 4,
        "Article": 4,
        "We use cookies to improve your experience on this site; by browsing you accept them.": 4,
        "Copyright 2024 Example Shop Limited, 12 High Street, Springfield. All rights reserved.": 4,
        "Subscribe to our newsletter for weekly offers on garden tools and outdoor furniture.": 4,
    }
    articles = result.blocks.filter(pl.col(S.TEXT).is_in(ARTICLES))
    assert articles.height == 4 and articles[S.CLUSTER].null_count() == 4


def test_blocks_have_offsets_into_the_extracted_text(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text(page(ARTICLES[1]), encoding="utf-8")
    result = dedup.scan([tmp_path])
    text, _ = html_to_text(page(ARTICLES[1]))
    for row in result.blocks.iter_rows(named=True):
        assert text[row[S.START] : row[S.END]] == row[S.TEXT]


def test_dropping_chrome_leaves_only_the_articles(tmp_path: Path) -> None:
    for number, article in enumerate(ARTICLES):
        (tmp_path / f"page{number}.html").write_text(page(article), encoding="utf-8")
    result = dedup.scan([tmp_path], dedup.ScanOptions(read=ReadOptions(html_drop_nav=True)))
    assert result.clusters[S.TEXT].to_list() == ["Article"]


def test_meta_charset_and_http_equiv_are_honoured(tmp_path: Path) -> None:
    russian = "Привет, это страница на русском языке."
    (tmp_path / "meta.html").write_bytes(
        f'<html><head><meta charset="windows-1251"></head><body><p>{russian}</p></body></html>'.encode("cp1251")
    )
    (tmp_path / "equiv.htm").write_bytes(
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=koi8-r"></head>'
        f"<body><p>{russian}</p></body></html>".encode("koi8-r")
    )
    stats = ReadStats()
    documents = list(read_documents([tmp_path], ReadOptions(), stats))
    assert [(d.doc_id, d.text) for d in documents] == [("equiv.htm", russian), ("meta.html", russian)]
    assert meta_charset(b"<meta http-equiv='content-type' content='text/html; charset=Shift_JIS'>") == "Shift_JIS"
    assert not stats.warnings


def test_deeply_nested_html_is_read_with_a_warning(tmp_path: Path) -> None:
    depth = 50_000  # far past Python's recursion limit and the tree builder's comfortable depth
    nested = "<div>" * depth + "<p>Deep inside the page.</p>" + "</div>" * depth
    (tmp_path / "deep.html").write_text(f"<html><body><p>Start.</p>{nested}<p>End.</p></body></html>")
    (tmp_path / "next.txt").write_text("The file after it is read too.")
    stats = ReadStats()
    documents = list(read_documents([tmp_path], ReadOptions(), stats))
    assert [d.text for d in documents] == ["Start.\n\nDeep inside the page.\n\nEnd.", "The file after it is read too."]
    assert [str(w) for w in stats.warnings] == [
        f"{tmp_path / 'deep.html'}: block elements nest {depth} deep (more than 4096): read with a tokenizer"
    ]


@pytest.mark.parametrize("drop_layout", [False, True])
def test_the_tokenizer_reads_a_page_as_the_tree_does(monkeypatch: pytest.MonkeyPatch, drop_layout: bool) -> None:
    html = page(ARTICLES[2]).replace("<main>", "<main><pre>a\n  b</pre><br>after break<table><td>cell")
    tree, _ = html_to_text(html, drop_layout)
    monkeypatch.setattr(html_module, "MAX_TREE_DEPTH", 0)
    tokenized, note = html_to_text(html, drop_layout)
    assert note and tokenized == tree


def test_a_page_without_visible_text_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "blank.html").write_text("<html><head><title>only a title</title></head><body> </body></html>")
    stats = ReadStats()
    assert list(read_documents([tmp_path], ReadOptions(), stats)) == []
    assert [str(s) for s in stats.skips] == [f"{tmp_path / 'blank.html'}: empty page (no visible text)"]


def test_near_duplicate_pages_in_chinese_japanese_and_thai_are_found(tmp_path: Path) -> None:
    chinese = "北京时间昨天晚上，国家气象中心发布了今年第一个暴雨预警，提醒南方各省市居民做好防范准备，尽量减少外出。"
    japanese = (
        "東京都は今日、新しい公園の建設計画を発表しました。公園には大きな池と子供のための遊び場が作られる予定です。"
    )
    thai = "กรุงเทพมหานครประกาศแผนการสร้างสวนสาธารณะแห่งใหม่ในวันนี้ โดยสวนจะมีสระน้ำขนาดใหญ่และสนามเด็กเล่นสำหรับเด็ก"
    edits = [("昨天晚上", "今天早上"), ("今日", "昨日"), ("วันนี้", "เมื่อวาน")]
    originals = [chinese, japanese, thai]
    edited = [text.replace(old, new) for text, (old, new) in zip(originals, edits, strict=True)]
    for name, texts in (("a.html", originals), ("b.html", edited)):
        (tmp_path / name).write_text("<html><body>" + "".join(f"<p>{t}</p>" for t in texts) + "</body></html>")
    result = dedup.scan([tmp_path])
    near = result.pairs.filter(pl.col(S.KIND) == S.NEAR)
    assert near.select(S.DOC_A, S.BLOCK_A, S.DOC_B, S.BLOCK_B).rows() == [
        ("a.html", 0, "b.html", 0),
        ("a.html", 1, "b.html", 1),
        ("a.html", 2, "b.html", 2),
    ]
    assert result.clusters[S.SHORT].to_list() == [False, False, False]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abé \n\t\xa0\u3000", max_size=60))
def test_white_space_is_collapsed_a_piece_at_a_time_as_split_would(text: str) -> None:
    with mock.patch.object(html_module, "_PIECE_CHARS", 7):  # pieces cut through words and runs of white space
        assert html_module._collapsed(text) == " ".join(text.split())
        lines = (line.rstrip() for line in text.split("\n"))
        assert html_module._preformatted(text) == "\n".join(line for line in lines if line.strip())


def test_a_paragraph_of_millions_of_words_costs_a_few_times_its_size() -> None:
    page = "<p>" + "word " * 2_000_000 + "</p>"  # 10 MB: 2 million strings of 50 bytes each, split
    (text, _), peak = peak_python_bytes(lambda: html_to_text(page))
    assert text == ("word " * 2_000_000).strip()
    assert peak < 8 * len(page)  # split() into words took 16 times it


def test_code_that_holds_lines_alone_in_its_block_is_one_fenced_block() -> None:
    text, _ = html_to_text(
        "<body><div class='highlight'><code>for x in xs:\n    print(x)\n</code></div>"
        "<p>Inline <code>x = 1</code> code and <code>two\nlines</code> in prose stay prose.</p>"
        "<pre>```\nfenced inside\n```</pre></body>"
    )
    assert text.split("\n\n") == [
        "```\nfor x in xs:\n    print(x)\n```",
        "Inline x = 1 code and two lines in prose stay prose.",
        "````\n```\nfenced inside\n```\n````",  # a longer fence than any the code holds
    ]


def _depth_step_by_step(html: str) -> int:
    """The nesting depth as the tags tell it, one tag at a time: an end tag with none open counts for nothing."""
    depth = deepest = 0
    for match in re.finditer(r"<(/?)(div|ul|section)[\s/>]", html, re.IGNORECASE):
        depth = max(depth - 1, 0) if match.group(1) else depth + 1
        deepest = max(deepest, depth)
    return deepest


_TAGS_AND_TEXT = st.lists(
    st.sampled_from(["<div>", "</DIV>", "<Ul class=x>", "</ul>", "<section/>", "</section >", "<p>", "a<", "é"]),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(_TAGS_AND_TEXT, st.integers(1, 30))
def test_nesting_depth_is_the_depth_tag_by_tag(pieces: list[str], piece_chars: int) -> None:
    html = "".join(pieces)
    with mock.patch.object(html_module, "_PIECE_CHARS", piece_chars):  # pages are searched a piece at a time
        assert html_module.nesting_depth(html) == _depth_step_by_step(html)
