"""Word-level diffs: exact round trips, and the seeds' doubled synopsis read as a person would."""

from __future__ import annotations

from itertools import pairwise

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dedup
from dedup import diff
from dedup import schema as S
from dedup.diff import DELETE, EQUAL, INSERT, side, tokens, word_diff

WORDS = st.lists(st.sampled_from(["Steph", "geht", "in", "ihrem", "Beruf", "auf", ".", ",", " ", "\n", "ä", "–"]))


def _synopses(seed_scan: dedup.ScanResult) -> tuple[str, str]:
    first, second = seed_scan.blocks.filter(pl.col(S.TEXT).str.starts_with("Steph geht"))[S.TEXT][:2]
    return first, second


def test_seed_synopsis_changes_are_the_ones_a_reader_sees(seed_scan: dedup.ScanResult) -> None:
    old, new = _synopses(seed_scan)
    changes = [(op, text.strip()) for op, text in word_diff(old, new) if op != EQUAL]
    assert changes == [
        (DELETE, "fünfjährigen"),
        (INSERT, "fünfjährigem"),
        (DELETE, "beide wieder"),
        (INSERT, "sie"),
        (DELETE, "instinktiv"),
        (DELETE, "sich"),
        (INSERT, "- und steht ihm bei, als er mit illegalen Kickboxkämpfen ein Zubrot findet"),
    ]


@given(st.lists(WORDS.map("".join), min_size=2, max_size=2))
def test_segments_give_both_texts_back(texts: list[str]) -> None:
    old, new = texts
    segments = word_diff(old, new)
    assert side(segments, "old") == old
    assert side(segments, "new") == new
    assert all(text for _, text in segments)
    for (op_a, _), (op_b, _) in pairwise(segments):
        assert op_a != op_b and (op_a, op_b) != (INSERT, DELETE)


def test_tokens_keep_every_character() -> None:
    text = "Er sagt: „Nein!“\n\t- und geht."
    assert "".join(tokens(text)) == text
    assert tokens("wird.") == ["wird", "."]


@given(st.text())
def test_tokens_of_any_text_join_to_it(text: str) -> None:
    """Every character is white space, a word character or neither: no text loses one to the tokens."""
    assert "".join(tokens(text)) == text


def test_equal_texts_are_one_segment() -> None:
    assert word_diff("gleich bleibt gleich", "gleich bleibt gleich") == [(EQUAL, "gleich bleibt gleich")]


def test_very_long_texts_are_replaced_whole_not_aligned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diff, "MAX_TOKENS", 3)
    assert word_diff("eins zwei drei", "eins zwei vier") == [(DELETE, "eins zwei drei"), (INSERT, "eins zwei vier")]
