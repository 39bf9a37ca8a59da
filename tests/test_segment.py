"""Segmentation: blocks with offsets that map back to the original text."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import schema as S
from dedup.options import SegmentOptions
from dedup.segment import segment


def _blocks(texts: list[str], **options: object) -> pl.DataFrame:
    documents = pl.DataFrame({S.DOC_KEY: list(range(len(texts))), S.TEXT: texts})
    return segment(documents, SegmentOptions(**options))  # type: ignore[arg-type]


def _texts(texts: list[str], **options: object) -> list[list[str]]:
    blocks = _blocks(texts, **options)
    return [blocks.filter(pl.col(S.DOC_KEY) == i)[S.TEXT].to_list() for i in range(len(texts))]


LINE = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=40),
    st.sampled_from(
        [
            *("", "   ", "- item", "  • item", "1. first", "Heading", "\t", "\r", "\u00a0", "\u3000x"),
            *("```", "~~~~", "    code()", "| a | b |", "+---+", "Example::", "\tx = 1", "}"),
        ]
    ),
)
DOCUMENT = st.lists(LINE, max_size=12).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(DOCUMENT, min_size=1, max_size=4),
    st.sampled_from(["auto", "line", "paragraph"]),
    st.sampled_from(["run", "item"]),
)
def test_offsets_map_back_to_the_original_text(texts: list[str], split: str, lists: str) -> None:
    blocks = _blocks(texts, split=split, lists=lists)
    previous_end = {}
    for row in blocks.iter_rows(named=True):
        text = texts[row[S.DOC_KEY]]
        assert text[row[S.START] : row[S.END]] == row[S.TEXT]
        assert row[S.TEXT] == row[S.TEXT].strip() != ""
        assert row[S.LINE] == text.count("\n", 0, row[S.START]) + 1
        # Blocks are in order and never overlap.
        assert row[S.START] >= previous_end.get(row[S.DOC_KEY], 0)
        previous_end[row[S.DOC_KEY]] = row[S.END]


@settings(max_examples=200, deadline=None)
@given(st.lists(DOCUMENT, min_size=1, max_size=4))
def test_every_visible_character_is_in_a_block(texts: list[str]) -> None:
    blocks = _blocks(texts)
    for i, text in enumerate(texts):
        covered = sum(len(t) - sum(c.isspace() for c in t) for t in blocks.filter(pl.col(S.DOC_KEY) == i)[S.TEXT])
        visible = sum(1 for c in text if not (c.isspace() or ord(c) < 32 or c in "\u200b\ufeff"))
        assert covered >= visible


def test_one_paragraph_per_line_and_blank_line_layouts(seed_texts: dict[str, str]) -> None:
    per_line, blank_separated = _texts([seed_texts["000_e4840d95eb31815a.txt"], seed_texts["001_09200cf2f9f01141.txt"]])
    synopsis = [t for t in per_line if t.startswith("Steph geht")]
    assert len(synopsis) == 2
    assert synopsis == [t for t in blank_separated if t.startswith("Steph geht")]
    assert "Handlung und Hintergrund" in per_line and "Handlung und Hintergrund" in blank_separated


def test_a_list_run_with_its_headings_is_one_block(seed_texts: dict[str, str]) -> None:
    (blocks,) = _texts([seed_texts["000_e4840d95eb31815a.txt"]])
    cast = [t for t in blocks if t.startswith("Regisseur")]
    assert len(cast) == 1
    assert cast[0].endswith("- Richard Rousseau")
    assert "Besetzung und Crew" in blocks  # not a heading of an item: its own block


def test_list_items_one_by_one() -> None:
    (blocks,) = _texts(
        ["Darsteller\n- Marion Cotillard,\n* Matthias Schoenaerts\n  • Armand\n1. eins\n2) zwei"], lists="item"
    )
    assert blocks == ["Darsteller", "- Marion Cotillard,", "* Matthias Schoenaerts", "• Armand", "1. eins", "2) zwei"]


def test_hard_wrapped_prose_is_joined_into_paragraphs() -> None:
    wrapped = (
        "This paragraph was wrapped by an editor at about sixty\n"
        "characters, so one sentence runs over several lines and\n"
        "each line on its own would be a meaningless fragment of\n"
        "text.\n"
        "\n"
        "A second paragraph follows after a blank line and is also\n"
        "wrapped at the same width as the first one was wrapped.\n"
    )
    (auto,) = _texts([wrapped])
    (lines,) = _texts([wrapped], split="line")
    assert len(auto) == 2 and auto[0].endswith("fragment of\ntext.")
    assert len(lines) == 6


def test_paragraph_mode_splits_only_at_blank_lines() -> None:
    (blocks,) = _texts(["a\nb\n\nc"], split="paragraph")
    assert blocks == ["a\nb", "c"]


def test_windows_line_endings_and_indentation_are_not_part_of_blocks() -> None:
    (blocks,) = _texts(["  first line\r\n\r\n\tsecond\r\n"])
    assert blocks == ["first line", "second"]


@pytest.mark.parametrize("bad", [{"split": "sentences"}, {"lists": "tree"}])
def test_bad_options_are_rejected(bad: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="must be"):
        SegmentOptions(**bad)  # type: ignore[arg-type]


def test_a_text_that_ends_with_line_breaks_is_segmented() -> None:
    (first, second) = _texts(["One.\n\nTwo.\n", "Three.\n\n\n"])
    assert (first, second) == (["One.", "Two."], ["Three."])
    assert _blocks(["One.\n\nTwo.\n"])[S.LINE].to_list() == [1, 3]


CODE = """Some prose before the sample.

```python
import json
{
    "a": 1,

}
```

Prose between.

~~~~
~~~ not the end
~~~~
"""


def test_fenced_code_is_one_block_with_its_blank_lines() -> None:
    blocks = _texts([CODE])[0]
    assert blocks == [
        "Some prose before the sample.",
        '```python\nimport json\n{\n    "a": 1,\n\n}\n```',
        "Prose between.",
        "~~~~\n~~~ not the end\n~~~~",
    ]


def test_an_unclosed_fence_runs_to_the_end_of_the_document() -> None:
    assert _texts(["Text.\n\n```\nx = 1\n\ny = 2"])[0] == ["Text.", "```\nx = 1\n\ny = 2"]


def test_indented_code_after_a_blank_line_is_one_block() -> None:
    text = "Run this:\n\n    make\n    make install\n\n    make check\nThen read on.\n"
    assert _texts([text])[0] == ["Run this:", "make\n    make install\n\n    make check", "Then read on."]


def test_an_rst_literal_block_is_one_block() -> None:
    text = "An example::\n\n   >>> import json\n   >>> json.dumps([1, 2])\n\n   '[1, 2]'\n\nAfter it.\n"
    assert _texts([text])[0] == [
        "An example::",
        ">>> import json\n   >>> json.dumps([1, 2])\n\n   '[1, 2]'",
        "After it.",
    ]


def test_a_table_is_one_block() -> None:
    text = "Options:\n| name | default |\n|------|---------|\n| n    | 3       |\nThe end.\n"
    assert _texts([text], split="line")[0] == [
        "Options:",
        "| name | default |\n|------|---------|\n| n    | 3       |",
        "The end.",
    ]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["x = 1", "}", "{", "", "  return x", "- not an item"]), min_size=1, max_size=8))
def test_no_line_of_fenced_code_ever_stands_in_a_block_of_its_own(code: list[str]) -> None:
    body = "\n".join(code)
    text = f"Before.\n\n```\n{body}\n```\n\nAfter.\n"
    for options in ({"split": "auto"}, {"split": "line"}, {"split": "paragraph"}, {"lists": "item"}):
        assert _texts([text], **options)[0] == ["Before.", f"```\n{body}\n```", "After."]
