"""Normalization: the matching form of a text, idempotent, never used for output."""

from __future__ import annotations

import unicodedata

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.normalize import (
    VERBATIM_OPENINGS,
    WORD_JOINERS,
    near_form,
    near_words,
    normalize,
    normalize_series,
    normalize_texts,
    verbatim,
)


@pytest.mark.parametrize(
    ("raw", "exact", "near"),
    [
        ("„ Der Geschmack“ im Kino", "„ der geschmack“ im kino", "der geschmack im kino"),
        (
            "  • Martine Cassinelli,\n  - Pascal Caucheteux",
            "martine cassinelli, pascal caucheteux",
            "martine cassinelli pascal caucheteux",
        ),
        (
            "    1. Mit seiner sechsten Regiearbeit",
            "mit seiner sechsten regiearbeit",
            "mit seiner sechsten regiearbeit",
        ),
        ("2) zweitens", "zweitens", "zweitens"),
        ("1234. no item", "1234. no item", "1234 no item"),
        ("-5 degrees", "-5 degrees", "5 degrees"),
        ("STRASSE Straße", "strasse strasse", "strasse strasse"),
        ("ﬁne Ｆｕｌｌ－ｗｉｄｔｈ", "fine full-width", "fine full-width"),
        ("don’t “quote” — dash", "don’t “quote” — dash", "don’t quote dash"),
        (
            "See a-1, sub.example.com/x (user_name): 3,5.",
            "see a-1, sub.example.com/x (user_name): 3,5.",
            "see a-1 sub.example.com/x user_name 3 5",
        ),
        ("foo.bar(x); --flag ...", "foo.bar(x); --flag ...", "foo.bar x flag"),
        ('print "Hi, {0}!".format(name)', 'print "hi, {0}!".format(name)', "print hi 0 format name"),
        ("zero\u200bwidth soft\u00adhyphen", "zerowidth softhyphen", "zerowidth softhyphen"),
        ("tabs\tand\r\nnewlines  \u00a0 nbsp", "tabs and newlines nbsp", "tabs and newlines nbsp"),
        ("expr * expr", "expr * expr", "expr expr"),
        ("++ var", "++ var", "var"),
        ("漢字 テキスト", "漢字 テキスト", "漢字 テキスト"),
        ("***", "***", ""),
        # Code and tables keep their exact form: their punctuation, symbols and digits are content.
        ("```\nsetup(name='foo',\n      version='1.0')\n```", *["``` setup(name='foo', version='1.0') ```"] * 2),
        ("~~~\nx = [1, 2]\n~~~", *["~~~ x = [1, 2] ~~~"] * 2),
        ("| 37.4. Roles |\n| Prev | Up |", *["| 37.4. roles | | prev | up |"] * 2),
        ("+---+---+\n| a | b |", *["+---+---+ | a | b |"] * 2),
    ],
)
def test_examples(raw: str, exact: str, near: str) -> None:
    assert normalize(raw) == exact
    assert near_words(raw) == near


def test_operators_digits_and_symbols_are_content() -> None:
    forms = {normalize(t) for t in ("expr * expr", "expr / expr", "expr % expr", "expr + expr")}
    assert len(forms) == 4
    assert normalize("++ var") != normalize("-- var")
    assert normalize("x = 10") != normalize("x = 11")


# Each example is a batch of texts: one polars call checks many texts.
TEXT_BATCHES = st.lists(st.text(), min_size=1, max_size=50)
# Texts that may open like code or a table (or nearly: a lone backtick, "+ " which is a list marker).
OPENINGS = st.sampled_from([*VERBATIM_OPENINGS, "`", "``", "+", "+ ", " |", "-|", ""])


@settings(max_examples=150, deadline=None)
@given(TEXT_BATCHES)
def test_idempotent(texts: list[str]) -> None:
    once = normalize_series(pl.Series(texts, dtype=pl.String))
    assert normalize_series(once).to_list() == once.to_list()


@settings(max_examples=100, deadline=None)
@given(TEXT_BATCHES)
def test_single_spaces_and_no_edges(texts: list[str]) -> None:
    for result in normalize_series(pl.Series(texts, dtype=pl.String)):
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


ASCII = st.text(alphabet=st.characters(max_codepoint=127), max_size=60)
PIECES = ["1. ", "12) ", " 3.\t", "1234. ", "a", "B", "\n", " ", "-", "x.y", "9"]
LISTISH = st.lists(st.sampled_from(PIECES), max_size=15)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(ASCII, LISTISH.map("".join)), min_size=1, max_size=40))
def test_ascii_fast_path_equals_the_unicode_path(texts: list[str]) -> None:
    from dedup.normalize import _unicode_path

    series = pl.Series(texts, dtype=pl.String)
    assert normalize_series(series).to_list() == _unicode_path(series).to_list()


SIMPLE_RANGE = st.characters(max_codepoint=0x3100, blacklist_categories=("Cs",))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=SIMPLE_RANGE, max_size=40), min_size=1, max_size=40))
def test_fast_path_equals_the_unicode_path_below_u3000(texts: list[str]) -> None:
    from dedup.normalize import _unicode_path

    series = pl.Series(texts, dtype=pl.String)
    assert normalize_series(series).to_list() == _unicode_path(series).to_list()


def test_every_character_below_u3000_alone_and_in_context() -> None:
    from dedup.normalize import _unicode_path

    chars = [chr(c) for c in range(0x3000) if not 0xD800 <= c <= 0xDFFF]
    contexts = ("{}", "Ab{}cD", "1.{}x", "{}{}", "x\n{}2) y", "{}\u0301", "12{} x", "1.{} a\n7{}")
    texts = [context.replace("{}", c) for c in chars for context in contexts]
    series = pl.Series(texts, dtype=pl.String)
    fast, reference = normalize_series(series).to_list(), _unicode_path(series).to_list()
    assert [t for t, a, b in zip(texts, fast, reference, strict=True) if a != b] == []


def test_mixed_batches_keep_their_order() -> None:
    texts = ["Plain ASCII.", "Straße", "1. eins", "Ｆｕｌｌ", ""]
    assert normalize_series(pl.Series(texts)).to_list() == ["plain ascii.", "strasse", "eins", "full", ""]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(OPENINGS, st.text(alphabet=SIMPLE_RANGE, max_size=40)).map("".join), min_size=1, max_size=40))
def test_near_form_fast_path_equals_the_unicode_path(texts: list[str]) -> None:
    from dedup.normalize import _near_unicode_path

    exact = normalize_texts(pl.Series(texts, dtype=pl.String)).to_series("t")
    assert near_form(exact).to_series("t").to_list() == _near_unicode_path(exact).to_list()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(OPENINGS, st.text(), st.booleans()), min_size=1, max_size=40))
def test_near_form_of_some_rows_is_the_near_form_of_those_rows(rows: list[tuple[str, str, bool]]) -> None:
    """Read in place (the stage takes the first copy of each text only): the same as copied out first, on the
    fast path and the Unicode one (``st.text()`` reaches beyond the simple characters)."""
    exact = normalize_texts(pl.Series([opening + text for opening, text, _ in rows], dtype=pl.String))
    wanted = np.array([taken for _, _, taken in rows])
    in_place = near_form(exact, wanted)
    copied = near_form(exact.take(wanted))
    assert in_place.to_series("t").to_list() == copied.to_series("t").to_list()
    assert in_place.offsets.tolist() == copied.offsets.tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(OPENINGS, st.text()).map("".join), min_size=1, max_size=50))
def test_near_form_is_idempotent_and_words_hold_only_joining_punctuation_inside(texts: list[str]) -> None:
    exact = normalize_texts(pl.Series(texts, dtype=pl.String))
    near = near_form(exact).to_series("t")
    assert near_form(near).to_series("t").to_list() == near.to_list()
    # Code and tables are their exact form; the near form of other text never looks like them.
    code = verbatim(exact)
    assert verbatim(near).tolist() == code.tolist()
    assert near.filter(pl.Series(code)).to_list() == exact.to_series("t").filter(pl.Series(code)).to_list()
    words = [word for text in near.filter(pl.Series(~code)) for word in text.split(" ") if word]
    assert not any(unicodedata.category(word[i])[0] in "PS" for word in words for i in (0, -1))
    inside = [c for word in words for c in word if unicodedata.category(c)[0] in "PS"]
    assert set(inside) <= set(WORD_JOINERS)


WORDS = st.lists(st.text(alphabet="abcxyzÄöß012.,;:*/+%()", min_size=1, max_size=6), min_size=1, max_size=6)
SPACING = st.sampled_from([" ", "  ", "\t", "\u00a0", " \u200b", "\u3000"])
MARKERS = st.sampled_from(["", "- ", "• ", "* ", "1. ", "12) ", "  – "])


@settings(max_examples=200, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=4), st.data())
def test_exact_forms_agree_exactly_up_to_space_case_markers_and_compatibility(
    lines: list[list[str]], data: st.DataObject
) -> None:
    """Two renderings of the same lines (other spacing, case, bullets, full-width letters) share their exact
    form; changing one punctuation mark, symbol or digit of the content never does."""
    lines = [["line", *words] for words in lines]  # no line starts with what could be a marker

    def render(words: list[str]) -> str:
        line = data.draw(MARKERS) + "".join(word + data.draw(SPACING) for word in words)
        if data.draw(st.booleans()):
            line = line.upper()
        if data.draw(st.booleans()):  # full-width forms are compatibility forms of ASCII
            line = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in line)
        return line

    first = "\n".join(render(words) for words in lines)
    second = "\n".join(render(words) for words in lines)
    assert normalize(first) == normalize(second)
    content = normalize(first)
    for position, char in enumerate(content):
        if char in ".,;:*/+%()0123456789":
            changed = content[:position] + ("#" if char != "#" else "$") + content[position + 1 :]
            assert normalize(changed) != content


def test_near_form_of_every_character_below_u3000_equals_the_unicode_path() -> None:
    from dedup.normalize import _near_unicode_path

    chars = [chr(c) for c in range(0x3000) if not 0xD800 <= c <= 0xDFFF]
    exact = normalize_texts(pl.Series([t for c in chars for t in (c, f"a{c}b", f"{c}{c} x")])).to_series("t")
    fast, reference = near_form(exact).to_series("t").to_list(), _near_unicode_path(exact).to_list()
    assert [t for t, a, b in zip(exact, fast, reference, strict=True) if a != b] == []
