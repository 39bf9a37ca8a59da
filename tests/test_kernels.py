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


def test_key_ordinals_remember_across_calls() -> None:
    from dedup.fingerprint import KeyOrdinals

    ordinals = KeyOrdinals()
    found, new = ordinals(np.array([5, 7, 5], np.uint64))
    assert found.tolist() == [0, 1, 0] and new.tolist() == [True, True, False]
    found, new = ordinals(np.array([7, 9], np.uint64))
    assert found.tolist() == [1, 2] and new.tolist() == [False, True]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(0, 40), max_size=300), max_size=6))
def test_key_ordinals_match_a_dict_while_the_table_grows(batches: list[list[int]]) -> None:
    from dedup.fingerprint import KeyOrdinals

    ordinals, seen = KeyOrdinals(capacity=4), {}
    for batch in batches:
        # Keys with equal low bits collide in the table: probing must still tell them apart.
        keys = np.array([(k % 5) | (k << 40) for k in batch], dtype=np.uint64)
        expected = [seen.setdefault(int(k), len(seen)) for k in keys]
        assert ordinals(keys)[0].tolist() == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 5), max_size=40), max_size=8))
def test_distinct_counts_are_the_sizes_of_the_sets(segments: list[list[int]]) -> None:
    values = np.array([v for segment in segments for v in segment], dtype=np.uint32)
    offsets = np.cumsum([0, *(len(segment) for segment in segments)]).astype(np.int64)
    assert _kernels.distinct_counts(values, offsets).tolist() == [len(set(segment)) for segment in segments]


_ARRAY_DTYPES = st.sampled_from([np.int64, np.uint64, np.int32, np.uint32])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**31 - 1) | st.integers(0, 6), max_size=300), _ARRAY_DTYPES)
def test_distinct_sorted_is_what_np_unique_gives(values: list[int], dtype: type) -> None:
    from dedup._arrow import distinct_sorted

    array = np.array(values, dtype=dtype)
    found = distinct_sorted(array)
    assert found.dtype == array.dtype
    assert found.tolist() == np.unique(array).tolist()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**31 - 1) | st.integers(0, 6), max_size=300), _ARRAY_DTYPES)
def test_first_of_each_finds_the_first_occurrences(values: list[int], dtype: type) -> None:
    from dedup._arrow import first_of_each

    array = np.array(values, dtype=dtype)
    distinct, first = first_of_each(array)
    expected = {value: values.index(value) for value in values}
    assert distinct.tolist() == sorted(expected)
    assert first.tolist() == [expected[value] for value in distinct.tolist()]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-3, 40), max_size=200), st.lists(st.integers(-3, 40), max_size=50))
def test_in_sorted_is_what_np_isin_gives(values: list[int], members: list[int]) -> None:
    from dedup._arrow import in_sorted

    array, ordered = np.array(values, dtype=np.int64), np.sort(np.array(members, dtype=np.int64))
    assert in_sorted(array, ordered).tolist() == np.isin(array, ordered).tolist()
