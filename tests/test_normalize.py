"""Normalization: the matching form of a text, idempotent, never used for output."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.normalize import normalize, normalize_series


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("„ Der Geschmack von Rost und Knochen“ im Kino", "der geschmack von rost und knochen im kino"),
        ("  • Martine Cassinelli,\n  - Pascal Caucheteux", "martine cassinelli pascal caucheteux"),
        ("    1. Mit seiner sechsten Regiearbeit", "mit seiner sechsten regiearbeit"),
        ("2) zweitens", "zweitens"),
        ("STRASSE Straße", "strasse strasse"),
        ("ﬁne Ｆｕｌｌ－ｗｉｄｔｈ", "fine full width"),
        ("don’t “quote” — dash – x", "don t quote dash x"),
        ("zero\u200bwidth soft\u00adhyphen", "zerowidth softhyphen"),
        ("tabs\tand\r\nnewlines  \u00a0 nbsp", "tabs and newlines nbsp"),
        ("漢字 テキスト", "漢字 テキスト"),
        ("***", ""),
    ],
)
def test_examples(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@settings(max_examples=1000, deadline=None)
@given(st.text())
def test_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_single_spaces_and_no_edges(text: str) -> None:
    result = normalize(text)
    assert "  " not in result
    assert result == result.strip()


def test_batch_equals_one_by_one() -> None:
    texts = ["A  b", "Ä-ö", "", "x\ny"]
    assert normalize_series(pl.Series(texts)).to_list() == [normalize(t) for t in texts]


def test_two_bullet_styles_of_the_seed_cast_list_match(seed_texts: dict[str, str]) -> None:
    dash = "Produzent\n- Martine Cassinelli,\n- Pascal Caucheteux"
    bullet = "Produzent\n  • Martine Cassinelli,\n  • Pascal Caucheteux"
    assert dash in seed_texts["000_e4840d95eb31815a.txt"]
    assert bullet in seed_texts["001_09200cf2f9f01141.txt"]
    assert normalize(dash) == normalize(bullet)
