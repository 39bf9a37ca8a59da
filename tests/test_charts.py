"""Inline SVG charts: well-formed, one mark per value, every label escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np

from dedup import charts
from dedup.htmlreport import size_bins

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything not well-formed, unescaped text included


def test_bar_chart_stacks_series_and_escapes_labels() -> None:
    svg = charts.bar_chart(
        "sizes",
        'Sizes "of" <things>',
        ["2", "<3>", "4 & more"],
        [("exact", [5, 0, 1], "#000"), ("near", [2, 3, 0], "#111")],
        "blocks",
        "clusters",
    )
    root = _parse(svg)
    assert root.get("data-chart") == "sizes" and root.get("aria-label") == 'Sizes "of" <things>'
    bars = [rect for rect in root.iter(f"{SVG}rect") if rect.get("class") == "bar"]
    assert [bar.find(f"{SVG}title").text for bar in bars] == [
        "2: 5 exact",
        "2: 2 near",
        "<3>: 3 near",
        "4 & more: 1 exact",
    ]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "<3>" in texts and "4 & more" in texts
    totals = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "total"]
    assert totals == ["7", "3", "1"]
    heights = {bar.find(f"{SVG}title").text: float(bar.get("height")) for bar in bars}
    assert heights["2: 5 exact"] == 5 * heights["4 & more: 1 exact"]


def test_share_bars_are_proportional() -> None:
    root = _parse(charts.share_bars("share", "Share", [("a<b", 1.0), ("c", 0.25)], "#f00"))
    bars = [rect for rect in root.iter(f"{SVG}rect") if rect.get("class") == "bar"]
    assert float(bars[0].get("width")) == 4 * float(bars[1].get("width"))
    assert bars[0].find(f"{SVG}title").text == "a<b: 100.0%"


def test_heatmap_has_a_cell_per_nonzero_share() -> None:
    matrix = np.array([[0.0, 0.98, 0.0], [0.34, 0.0, 0.0], [0.0, 0.01, 0.0]])
    root = _parse(charts.heatmap("containment", "Containment", ["x<1>", "y", "z"], matrix))
    cells = [rect.find(f"{SVG}title").text for rect in root.iter(f"{SVG}rect") if rect.get("class") == "cell"]
    assert cells == ["x<1> in y: 98%", "y in x<1>: 34%", "z in y: 1%"]


def test_size_bins_double_after_four() -> None:
    assert size_bins(2) == [(2, 2), (3, 3), (4, 4)]
    assert size_bins(17) == [(2, 2), (3, 3), (4, 4), (5, 8), (9, 16), (17, 32)]
