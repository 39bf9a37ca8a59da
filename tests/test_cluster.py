"""Verification on real shingle sets and connected components."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import cluster
from dedup.cluster import accepted, components, read_similarities, similarities
from dedup.fingerprint import shingle_hashes, shingle_sets
from dedup.options import LSHOptions, ShingleOptions
from tests.shingles import containment, jaccard, reference_shingles

TEXTS = st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=12).map(" ".join)


@settings(max_examples=100, deadline=None)
@given(st.lists(TEXTS, min_size=2, max_size=6))
def test_similarities_equal_set_arithmetic(texts: list[str]) -> None:
    sets = shingle_sets(pl.Series(texts), ShingleOptions())
    left, right = np.triu_indices(len(texts), k=1)
    got_j, got_c = similarities(sets, left, right)
    for k, (i, j) in enumerate(zip(left, right, strict=True)):
        a, b = reference_shingles(texts[i]), reference_shingles(texts[j])
        assert got_j[k] == pytest.approx(jaccard(a, b))
        assert got_c[k] == pytest.approx(containment(a, b))


@settings(max_examples=50, deadline=None)
@given(st.lists(TEXTS, min_size=2, max_size=6))
def test_similarities_of_raw_shingle_hashes_are_those_of_the_sets(texts: list[str]) -> None:
    left, right = np.triu_indices(len(texts), k=1)
    raw = shingle_hashes(pl.Series(texts), ShingleOptions())
    assert not raw.distinct
    expected = similarities(shingle_sets(pl.Series(texts), ShingleOptions()), left, right)
    np.testing.assert_array_equal(similarities(raw, left, right), expected)


@settings(max_examples=50, deadline=None)
@given(st.lists(TEXTS, min_size=2, max_size=8), st.integers(1, 4))
def test_similarities_read_in_shares_on_threads_are_those_read_at_once(texts: list[str], threads: int) -> None:
    left, right = np.triu_indices(len(texts), k=1)
    raw = shingle_hashes(pl.Series(texts), ShingleOptions())
    expected = similarities(raw, left, right)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cluster, "MIN_PAIRS_PER_THREAD", 1)  # split even these few pairs
        got = read_similarities(raw.take, left, right, threads=threads)
    np.testing.assert_array_equal(got, expected)


def test_acceptance_by_jaccard_or_containment() -> None:
    options = LSHOptions(threshold=0.7, containment=0.9)
    keep = accepted(np.array([0.75, 0.5, 0.5]), np.array([0.8, 0.95, 0.6]), options)
    assert keep.tolist() == [True, True, False]


def test_components_are_numbered_by_first_node() -> None:
    nodes, labels = components(10, np.array([7, 2, 3]), np.array([8, 3, 5]))
    assert nodes.tolist() == [2, 3, 5, 7, 8]
    assert labels.tolist() == [0, 0, 0, 1, 1]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40), st.lists(st.tuples(st.integers(0, 39), st.integers(0, 39)), max_size=60))
def test_components_are_the_connected_parts_of_the_graph(n: int, edges: list[tuple[int, int]]) -> None:
    edges = [(a % n, b % n) for a, b in edges]
    left, right = (
        (np.array(side, dtype=np.int64) for side in zip(*edges, strict=True))
        if edges
        else (
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
        )
    )
    nodes, labels = components(n, left, right)
    # The reference: grow each component from its smallest node, in node order.
    neighbours: dict[int, set[int]] = {}
    for a, b in edges:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    expected: dict[int, int] = {}
    for start in sorted(neighbours):
        if start in expected:
            continue
        number, todo = len(set(expected.values())), [start]
        while todo:
            node = todo.pop()
            if node not in expected:
                expected[node] = number
                todo.extend(neighbours[node])
    assert dict(zip(nodes.tolist(), labels.tolist(), strict=True)) == expected
