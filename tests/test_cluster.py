"""Verification on real shingle sets, and clusters around centres."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import cluster
from dedup.cluster import CentreAssignment, accepted, cluster_numbers, read_similarities, similarities
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


def _edges(n: int, raw: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct edges (left < right) over n nodes, sorted, from any pairs."""
    edges = sorted({(min(a % n, b % n), max(a % n, b % n)) for a, b in raw if a % n != b % n})
    left = np.array([a for a, _ in edges], dtype=np.int64)
    right = np.array([b for _, b in edges], dtype=np.int64)
    return left, right


def _reference_centres(n: int, left: np.ndarray, right: np.ndarray) -> list[int]:
    """The rule in plain Python: in node order, a node not yet taken that has a larger neighbour becomes a
    centre and takes its neighbours not yet taken."""
    neighbours: dict[int, list[int]] = {}
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        neighbours.setdefault(a, []).append(b)
    centre = [-1] * n
    for node in range(n):
        if centre[node] >= 0 or node not in neighbours:
            continue
        centre[node] = node
        for other in neighbours[node]:
            if centre[other] < 0:
                centre[other] = node
    return centre


GRAPHS = st.tuples(st.integers(1, 40), st.lists(st.tuples(st.integers(0, 39), st.integers(0, 39)), max_size=80))


@settings(max_examples=200, deadline=None)
@given(GRAPHS, st.integers(1, 5))
def test_centres_follow_the_rule_in_any_number_of_runs(graph: tuple[int, list[tuple[int, int]]], runs: int) -> None:
    n, raw = graph
    left, right = _edges(n, raw)
    similarity = (left * 1000 + right).astype(np.float64)  # tells which edge a member joined by
    assignment = CentreAssignment(n)
    for part in np.array_split(np.arange(left.size), runs):  # the pairs stream in sorted runs
        assignment.add(left[part], right[part], similarity[part], -similarity[part])
    assert assignment.centre.tolist() == _reference_centres(n, left, right)
    members = np.flatnonzero(assignment.members)
    edges = set(zip(left.tolist(), right.tolist(), strict=True))
    for member in members.tolist():
        centre = int(assignment.centre[member])
        assert centre < member and centre == assignment.centre[centre]  # a centre stands for itself
        assert (centre, member) in edges  # every member has a verified pair with its centre: no chains
        assert assignment.jaccard[member] == centre * 1000 + member


def test_a_chain_is_split_around_its_first_node() -> None:
    # 0~1, 1~2, 2~3: 0 takes 1; 2 is not paired with 0, so it starts a cluster of its own and takes 3.
    assignment = CentreAssignment(5)
    left, right = np.array([0, 1, 2]), np.array([1, 2, 3])
    assignment.add(left, right, np.ones(3), np.ones(3))
    assert assignment.centre.tolist() == [0, 0, 2, 2, -1]
    assert assignment.components_split() == 1
    assert assignment.clustered.tolist() == [True, True, True, True, False]


def test_a_centre_whose_partners_are_taken_stays_alone() -> None:
    # 0 takes 1 and 2; 1~2 comes up when both are taken, so 1 stays a member and nothing else happens.
    assignment = CentreAssignment(3)
    assignment.add(np.array([0, 0, 1]), np.array([1, 2, 2]), np.ones(3), np.ones(3))
    assert assignment.centre.tolist() == [0, 0, 0]
    assert assignment.components_split() == 0


def test_a_held_node_takes_nothing_and_counts_as_a_cluster_of_its_own() -> None:
    # 0 is held (an index member): 0~2 does nothing, 1 takes 2; the component {0, 1, 2} is two clusters.
    assignment = CentreAssignment(3)
    assignment.hold(np.array([0]))
    assignment.add(np.array([0, 1]), np.array([2, 2]), np.ones(2), np.ones(2))
    assert assignment.centre.tolist() == [3, 1, 1]
    assert assignment.members.tolist() == [False, False, True]
    assert assignment.clustered.tolist() == [False, True, True]
    assert assignment.components_split() == 1


def test_cluster_numbers_put_copies_and_near_texts_together_in_read_order() -> None:
    # Distinct texts 0..5: 1 and 4 occur twice; near nodes are texts 2, 3, 5, where 3 joined 2 (its centre).
    count = np.array([1, 2, 1, 1, 2, 1])
    near_distinct = np.array([2, 3, 5])
    assignment = CentreAssignment(3)
    assignment.add(np.array([0]), np.array([1]), np.array([0.9]), np.array([0.9]))
    numbers = cluster_numbers(count, near_distinct, assignment)
    assert numbers.cluster_of.tolist() == [-1, 0, 1, 1, 2, -1]
    assert numbers.representatives.tolist() == [1, 2, 4]
    assert numbers.near.tolist() == [False, True, False]
