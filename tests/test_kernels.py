"""The compiled hash functions agree bit for bit with the xxhash package."""

from __future__ import annotations

import numpy as np
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import _kernels


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 2**32 - 1))
def test_xxh32_matches_xxhash(data: bytes, seed: int) -> None:
    buffer = np.frombuffer(data, dtype=np.uint8)
    assert _kernels.xxh32(buffer, 0, len(data), np.uint64(seed)) == xxhash.xxh32_intdigest(data, seed=seed)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 2**64 - 1))
def test_xxh64_matches_xxhash(data: bytes, seed: int) -> None:
    buffer = np.frombuffer(data, dtype=np.uint8)
    assert _kernels.xxh64(buffer, 0, len(data), np.uint64(seed)) == xxhash.xxh64_intdigest(data, seed=seed)


@given(st.binary(min_size=1, max_size=64), st.integers(0, 63))
def test_hash_of_a_slice_is_the_hash_of_those_bytes(data: bytes, cut: int) -> None:
    cut = min(cut, len(data))
    padded = np.frombuffer(b"xyz" + data + b"tail", dtype=np.uint8)
    assert _kernels.xxh64(padded, 3, 3 + cut, np.uint64(0)) == xxhash.xxh64_intdigest(data[:cut])


def test_first_occurrence_remembers_across_calls() -> None:
    from numba import types
    from numba.typed import Dict

    table = Dict.empty(key_type=types.uint64, value_type=types.int64)
    first = _kernels.first_occurrence(np.array([5, 7, 5], np.uint64), np.array([0, 1, 2]), table)
    second = _kernels.first_occurrence(np.array([7, 9], np.uint64), np.array([3, 4]), table)
    assert first.tolist() == [0, 1, 0]
    assert second.tolist() == [1, 4]
