"""The HTML report's content: self-contained, every cluster and diff in its data, all text escaped."""

from __future__ import annotations

import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dedup
from dedup import htmlreport
from dedup import schema as S
from dedup.diff import word_diff
from dedup.htmlreport import render_html, report_data, write_html
from tests.conftest import DOUBLED, INTRO

HOSTILE = (
    "<script>window.pwned = 1</script> <img src=x onerror=alert(1)> \"double\" & 'single' </script><!-- -->"
    " and enough words to be long"
)


def _embedded(page: str) -> dict:
    match = re.search(r'<script id="dedup-data" type="application/json">(.*?)</script>', page, flags=re.DOTALL)
    assert match is not None
    return json.loads(match.group(1))


def _new_text(old: str, diff: list[list]) -> str:
    """Apply a compact diff to the representative's text, as the page's script does (UTF-16 positions)."""
    units, at, parts = old.encode("utf-16-le"), 0, []
    for op, payload in diff:
        if op == "+":
            parts.append(payload)
            continue
        if op == "=":
            parts.append(units[2 * at : 2 * (at + payload)].decode("utf-16-le"))
        at += payload
    return "".join(parts)


def test_page_is_self_contained_with_all_charts(seed_scan: dedup.ScanResult) -> None:
    page = render_html(seed_scan)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing fetched when it opens
    assert "@import" not in page and "url(http" not in page
    for chart in ("cluster-sizes", "similarities", "duplicated-share", "containment"):
        assert f'data-chart="{chart}"' in page
    assert f"{INTRO}</span> is <b>" in page and f'contained in <span class="doc">{DOUBLED}</span>' in page


def test_data_holds_every_cluster_with_its_occurrences(seed_scan: dedup.ScanResult) -> None:
    data = _embedded(render_html(seed_scan))
    assert data == json.loads(json.dumps(report_data(seed_scan), ensure_ascii=False))
    assert [c["id"] for c in data["clusters"]] == seed_scan.clusters[S.CLUSTER].to_list()
    blocks = seed_scan.blocks.filter(pl.col(S.CLUSTER).is_not_null())
    for cluster in data["clusters"]:
        mine = blocks.filter(pl.col(S.CLUSTER) == cluster["id"])
        triples = list(zip(*[iter(cluster["occurrences"])] * 3, strict=True))
        assert [(data["documents"][d], line) for d, line, _ in triples] == list(
            mine.select(S.DOC_ID, S.LINE).iter_rows()
        )
        assert cluster["blocks"] == mine.height


def test_near_cluster_diffs_rebuild_each_variant(seed_scan: dedup.ScanResult) -> None:
    data = report_data(seed_scan)
    (near,) = [c for c in data["clusters"] if c["kind"] == S.NEAR]
    synopses = seed_scan.blocks.filter(pl.col(S.CLUSTER) == near["id"])[S.TEXT].to_list()
    assert near["text"] == synopses[0]
    assert [_new_text(near["text"], diff) for diff in near["diffs"]] == [synopses[1]]
    assert ["+", " - und steht ihm bei, als er mit illegalen Kickboxkämpfen ein Zubrot findet"] in near["diffs"][0]
    variants = near["occurrences"][2::3]
    assert variants == [0, 1, 0, 1]  # the doubled synopsis: first and second version in each document


def test_positions_count_utf16_units_like_javascript() -> None:
    old = "Emoji 😀 vor dem Wort alt und danach"
    new = "Emoji 😀 vor dem Wort neu und danach"
    diff = htmlreport.compact_diff(word_diff(old, new))
    assert _new_text(old, diff) == new


@given(st.text(), st.text())
def test_positions_of_any_text_rebuild_it(old: str, new: str) -> None:
    """ASCII segments are counted by their length, the others by their UTF-16 code units."""
    assert _new_text(old, htmlreport.compact_diff(word_diff(old, new))) == new


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_JSON_VALUES)
def test_page_data_is_the_json_standard_library_would_write(data: object) -> None:
    """orjson writes the page's data; escaped for the script element, it reads back as the data, and is what
    ``json.dumps`` wrote before it, byte for byte."""
    written = htmlreport._json_for_script({"data": data})
    assert not re.search("[<>&]", written)
    assert json.loads(written) == {"data": data}
    standard = json.dumps({"data": data}, ensure_ascii=False, separators=(",", ":"))
    assert written == standard.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def test_hostile_text_and_names_are_escaped(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    for name in ('a<i>"x".txt', "c&d.txt"):
        (pages / name).write_text(f"{HOSTILE}\n\nSomething else entirely in {name}\n", encoding="utf-8")
    with dedup.scan([pages]) as result:
        page = render_html(result)
        data = report_data(result)
    parsed = _Parsed(page)
    assert parsed.tags["script"] == 2  # the data and the page's own script, nothing from the documents
    assert parsed.tags["img"] == parsed.tags["i"] == 0  # the page uses neither; the documents' ones stay text
    assert 'a<i>"x".txt' in parsed.texts and "c&d.txt" in parsed.texts
    assert "window.pwned" not in page.replace("\\u003cscript\\u003ewindow.pwned", "")
    assert _embedded(page) == json.loads(json.dumps(data, ensure_ascii=False))
    assert any(c["text"] == HOSTILE for c in data["clusters"])


class _Parsed(HTMLParser):
    """Tag counts and text pieces of a page, as a browser's parser sees them."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.texts: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1

    def handle_data(self, data: str) -> None:
        self.texts.append(data)


def test_heatmap_only_for_a_few_hundred_documents(seed_scan: dedup.ScanResult, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(htmlreport, "MAX_HEATMAP_DOCS", 2)
    page = render_html(seed_scan)
    assert 'data-chart="containment"' not in page
    assert "drawn for up to 2 documents; this scan has 3." in page


def test_occurrences_are_capped_and_the_rest_counted(
    seed_scan: dedup.ScanResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(htmlreport, "MAX_OCCURRENCES", 1)
    for cluster in report_data(seed_scan)["clusters"]:
        assert len(cluster["occurrences"]) == 3 and cluster["blocks"] >= 2


def test_only_the_largest_clusters_are_embedded_and_the_rest_counted(
    seed_scan: dedup.ScanResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(htmlreport, "MAX_CLUSTERS", 3)
    data = report_data(seed_scan)
    largest = seed_scan.clusters.sort([S.N_CHARS, S.CLUSTER], descending=[True, False]).head(3)
    assert [c["id"] for c in data["clusters"]] == sorted(largest[S.CLUSTER].to_list())
    assert data["total"] == seed_scan.clusters.height
    named = {data["documents"][d] for c in data["clusters"] for d in c["occurrences"][::3]}
    assert set(data["documents"]) == named  # only the documents the embedded clusters stand in


def test_write_html_names_the_file_it_cannot_write(seed_scan: dedup.ScanResult, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "report.html"
    with pytest.raises(dedup.OutputError, match=re.escape(f"{target}: cannot write")):
        write_html(seed_scan, target)
