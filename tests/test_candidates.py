"""LSH banding: the S-curve, parameter choice (datasketch is the oracle), and pairs."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch.lsh import _optimal_param
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.candidates import banding, candidate_pairs, candidate_probability, optimal_bands
from dedup.options import LSHOptions


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.8, 0.9])
@pytest.mark.parametrize("num_perm", [64, 128])
def test_equal_weights_choose_what_datasketch_chooses(threshold: float, num_perm: int) -> None:
    assert optimal_bands(threshold, num_perm, 0.5) == _optimal_param(threshold, num_perm, 0.5, 0.5)


def test_default_banding_favours_recall() -> None:
    bands, rows = banding(LSHOptions(threshold=0.8), 128)
    assert (bands, rows) == (16, 8)
    assert candidate_probability(0.8, bands, rows) > candidate_probability(0.8, 9, 13)


def test_s_curve_is_the_banding_formula() -> None:
    assert candidate_probability(1.0, 20, 5) == 1.0
    assert candidate_probability(0.0, 20, 5) == 0.0
    assert candidate_probability(0.5, 2, 1) == pytest.approx(0.75)


def test_explicit_banding_is_kept() -> None:
    assert banding(LSHOptions(bands=4, rows=2), 128) == (4, 2)
    with pytest.raises(ValueError, match="give bands and rows together"):
        LSHOptions(bands=4)


def test_pairs_share_a_band_key() -> None:
    keys = np.array([[1, 10], [2, 10], [1, 30], [4, 40]], dtype=np.uint64)
    left, right = candidate_pairs(keys, np.array([0, 1, 2, 3]), max_bucket_pairs=64)
    assert list(zip(left.tolist(), right.tolist(), strict=True)) == [(0, 1), (0, 2)]


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 120), st.integers(1, 6), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_pairs_are_every_pair_sharing_a_key(n: int, bands: int, distinct_keys: int, salt: int) -> None:
    rng = np.random.default_rng(salt)
    # Keys below 2**40 lose none of their bits beside a row number (n <= 120 needs 7).
    keys = (rng.integers(0, distinct_keys, (n, bands)).astype(np.uint64) * np.uint64(salt + 1)) % np.uint64(2**40)
    left, right = candidate_pairs(keys, np.arange(n), max_bucket_pairs=n * n)
    expected = sorted({(a, b) for a in range(n) for b in range(a + 1, n) if (keys[a] == keys[b]).any()})
    assert list(zip(left.tolist(), right.tolist(), strict=True)) == expected
    # Bucketed two bands at a time: the same pairs.
    threaded = candidate_pairs(keys, np.arange(n), max_bucket_pairs=n * n, threads=2)
    assert list(zip(threaded[0].tolist(), threaded[1].tolist(), strict=True)) == expected


def test_large_buckets_are_chained_but_stay_connected() -> None:
    keys = np.zeros((100, 1), dtype=np.uint64)
    left, right = candidate_pairs(keys, np.arange(100), max_bucket_pairs=10)
    assert left.size < 100 * 99 // 2
    linked = {0}
    for a, b in sorted(zip(left.tolist(), right.tolist(), strict=True)):
        if a in linked:
            linked.add(b)
    assert linked == set(range(100))


def test_threshold_as_percentage_is_rejected_with_a_hint() -> None:
    with pytest.raises(ValueError, match="did you pass a percentage"):
        LSHOptions(threshold=80)
