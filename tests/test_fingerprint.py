"""Signatures are datasketch's: same num_perm, seed, scheme and hash function, same values."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import xxhash
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.cluster import similarities
from dedup.fingerprint import exact_keys, shingle_hashes, shingle_plan, shingle_sets, signatures
from dedup.normalize import VERBATIM_OPENINGS, near_form, normalize_series, normalize_texts
from dedup.options import MinHashOptions, ShingleOptions
from tests.shingles import reference_shingles

WORDS = st.sampled_from(["steph", "ali", "der", "die", "fünfjährigen", "kino", "ß", "a", "x", "3", "12", "5x"])
TEXTS = st.lists(WORDS, max_size=30).map(" ".join)


def _datasketch(shingles: set[str], options: MinHashOptions) -> np.ndarray:
    minhash = MinHash(
        num_perm=options.num_perm, seed=options.seed, scheme=options.scheme, hashfunc=xxhash.xxh32_intdigest
    )
    minhash.update_batch([s.encode("utf-8") for s in shingles])
    return minhash.hashvalues


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(TEXTS, min_size=1, max_size=8),
    num_perm=st.sampled_from([16, 64, 128, 256]),
    seed=st.integers(0, 2**31),
    scheme=st.sampled_from(["affine32", "legacy"]),
    kind=st.sampled_from(["word", "char"]),
    n=st.integers(1, 5),
)
def test_signatures_equal_datasketch(
    texts: list[str], num_perm: int, seed: int, scheme: str, kind: str, n: int
) -> None:
    options = MinHashOptions(num_perm=num_perm, seed=seed, scheme=scheme)  # type: ignore[arg-type]
    shingle_options = ShingleOptions(kind=kind, n=n, char_n=n, spaceless_share=1.0)  # type: ignore[arg-type]
    sets = shingle_sets(pl.Series(texts), shingle_options)
    ours = signatures(sets, options)
    for row, text in zip(ours, texts, strict=True):
        expected = _datasketch(reference_shingles(text, n, by_char=kind == "char"), options)
        assert row.tolist() == expected.tolist()


# Code and tables: text that opens with a fence, a table bar or a grid border, symbols and digits throughout.
CODE = st.tuples(
    st.sampled_from(VERBATIM_OPENINGS),
    st.lists(st.sampled_from(["x", "=", "[1,", "2]", "f(x)", "+", "|", "42", "ß", "---", "()"]), max_size=25),
).map(lambda parts: parts[0] + " ".join(parts[1]))


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(CODE, min_size=1, max_size=8), scheme=st.sampled_from(["affine32", "legacy"]))
def test_code_and_tables_are_signed_as_datasketch_by_every_character_shingle_of_their_exact_form(
    texts: list[str], scheme: str
) -> None:
    options = MinHashOptions(scheme=scheme)  # type: ignore[arg-type]
    near = near_form(normalize_texts(pl.Series(texts)))
    assert near.to_series("t").to_list() == normalize_series(pl.Series(texts)).to_list()
    plan = shingle_plan(near, ShingleOptions())
    assert plan.by_char.all() and plan.verbatim.all()
    ours = signatures(shingle_sets(near, ShingleOptions(), plan), options)
    for row, text in zip(ours, near.to_series("t"), strict=True):
        expected = _datasketch(reference_shingles(text, 5, by_char=True, letters_only=False), options)
        assert row.tolist() == expected.tolist()


def test_digits_and_symbols_weigh_in_code_and_tables_not_in_prose() -> None:
    texts = ["```\nbuf = Buffer.from([1, 2, 3, 4])\n```", "```\nbuf = Buffer.from([5, 6, 7, 8])\n```"]
    near = near_form(normalize_texts(pl.Series(texts)))
    jaccard, _ = similarities(shingle_sets(near, ShingleOptions()), np.array([0]), np.array([1]))
    assert jaccard[0] == pytest.approx(21 / 49)  # 35 character shingles each, 21 shared: not a near repeat
    # Counted as in prose, the shingles without a letter ("[1, 2", "3, 4]") would leave 21 and 19 shared.
    a, b = (reference_shingles(text, 5, by_char=True) for text in near.to_series("t"))
    assert len(a & b) / len(a | b) == pytest.approx(19 / 23)


def test_shingle_sets_hold_the_distinct_shingle_hashes() -> None:
    texts = ["a b c a b c", "one", ""]
    sets = shingle_sets(pl.Series(texts), ShingleOptions())
    for i, text in enumerate(texts):
        expected = sorted({xxhash.xxh32_intdigest(s.encode()) for s in reference_shingles(text)})
        assert sets.values[sets.offsets[i] : sets.offsets[i + 1]].tolist() == expected


@pytest.mark.parametrize("text", ["今日はいい天気ですね明日も晴れるでしょう", "วันนี้อากาศดีมากและพรุ่งนี้ก็จะดีเช่นกัน"])
def test_spaceless_text_falls_back_to_character_shingles(text: str) -> None:
    options = ShingleOptions(char_n=3)
    sets = shingle_sets(pl.Series([text]), options)
    assert sets.sizes[0] == len(reference_shingles(text, 3, by_char=True)) > 1
    assert shingle_plan(pl.Series([text]), options).units[0] == len(text)


def test_text_with_spaces_keeps_word_shingles() -> None:
    plan = shingle_plan(pl.Series(["kritikerrezensionen", "der wilde schlag meines herzens"]), ShingleOptions())
    assert plan.by_char.tolist() == [False, False]
    assert plan.units.tolist() == [1, 5]


def test_exact_keys_equal_exactly_when_exact_forms_are_equal() -> None:
    raw = pl.Series(["- Marion Cotillard,", "  • MARION  Cotillard,", "Marion Cotillard!", "Marion Cotillar,"])
    keys = exact_keys(normalize_series(raw))
    assert keys[0] == keys[1]
    assert len({keys[0], keys[2], keys[3]}) == 3


def test_shingles_of_numbers_alone_carry_no_weight() -> None:
    sets = shingle_sets(
        pl.Series(["0 1 2 3 4 5 6 7 30 37", "json dumps 1 2 3 4 5 6 7 separators", "42"]), ShingleOptions()
    )
    assert sets.sizes.tolist() == [0, 3, 0]  # "json dumps 1", "dumps 1 2" and "6 7 separators" hold a word
    assert sets.sizes[1] == len(reference_shingles("json dumps 1 2 3 4 5 6 7 separators"))


def test_word_counts() -> None:
    assert shingle_plan(pl.Series(["", "a", "a b c"]), ShingleOptions()).units.tolist() == [0, 1, 3]


def test_bad_minhash_options_are_rejected() -> None:
    with pytest.raises(ValueError, match="num_perm must be in"):
        MinHashOptions(num_perm=1)
    with pytest.raises(ValueError, match="scheme must be affine32 or legacy"):
        MinHashOptions(scheme="affine64")  # type: ignore[arg-type]


def test_a_plan_of_other_texts_is_refused_not_written_past() -> None:
    plan = shingle_plan(pl.Series(["a b"]), ShingleOptions())
    with pytest.raises(ValueError, match="shingle counts do not match"):
        shingle_hashes(pl.Series(["a b c d e f"]), ShingleOptions(), plan)
