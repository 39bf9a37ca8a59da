"""Verification of candidate pairs, and clusters around centres.

A candidate pair is kept as a near repeat when the Jaccard similarity of its
real shingle sets reaches the threshold, or when one set is mostly contained in
the other (an extended copy of a paragraph).

Clusters are built so that every member is a verified near repeat of the
cluster's representative, never only of some neighbour: A~B and B~C do not put
A and C together unless A~C too. The nodes are distinct texts in read order;
the verified pairs stream in sorted by their first node, and a node that is not
yet taken when its pairs come up becomes a *centre* and takes every node it is
paired with that is not taken yet (``CentreAssignment``). A centre is the first
occurrence of its cluster, its representative. Exact copies of a text always
share its cluster. Connected components would chain unrelated texts through
shared runs of numbers or boilerplate; how many components the centres split is
counted and reported.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from dedup import _kernels
from dedup._arrow import distinct_sorted
from dedup.fingerprint import ShingleSets
from dedup.options import LSHOptions

# Below this many pairs per thread, verifying in parts costs more than it saves.
MIN_PAIRS_PER_THREAD = 5_000


def similarities(sets: ShingleSets, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Jaccard |A∩B| / |A∪B| and containment |A∩B| / min(|A|, |B|) of each pair of blocks.

    Only the blocks that appear in a pair are read (``sets`` may be memory-mapped) and made distinct.
    """
    if left.size == 0:
        return np.zeros(0), np.zeros(0)
    if not sets.distinct:
        sets, left, right = paired_sets(sets.take, left, right)
    shared = _kernels.intersect_sizes(sets.values, sets.offsets, left, right).astype(np.float64)
    sizes = sets.sizes
    size_a, size_b = sizes[left], sizes[right]
    union = size_a + size_b - shared
    smaller = np.minimum(size_a, size_b)
    jaccard = np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)
    containment = np.divide(shared, smaller, out=np.zeros_like(shared), where=smaller > 0)
    return jaccard, containment


def read_similarities(
    take: Callable[[np.ndarray], ShingleSets], left: np.ndarray, right: np.ndarray, threads: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """``similarities`` of pairs whose sets are read with ``take`` (see ``paired_sets``).

    On ``threads`` threads, each reading the sets of a contiguous share of the pairs: reading, sorting
    and intersecting all release the GIL, and the shares seldom hold the same blocks.
    """
    shares = min(threads, left.size // MIN_PAIRS_PER_THREAD)
    if shares <= 1:
        return similarities(*paired_sets(take, left, right))
    parts = np.array_split(np.arange(left.size), shares)
    with ThreadPoolExecutor(max_workers=shares, thread_name_prefix="dedup-verify") as pool:
        done = list(pool.map(lambda part: similarities(*paired_sets(take, left[part], right[part])), parts))
    return np.concatenate([jaccard for jaccard, _ in done]), np.concatenate([containment for _, containment in done])


def paired_sets(
    take: Callable[[np.ndarray], ShingleSets], left: np.ndarray, right: np.ndarray
) -> tuple[ShingleSets, np.ndarray, np.ndarray]:
    """The distinct sets of only the blocks in some pair, read with ``take`` (increasing block numbers),
    and the pairs renumbered into them: sorting and reading every block's hashes would cost far more."""
    paired = distinct_sorted(np.concatenate((left, right)))
    return take(paired).distinct_sets(), np.searchsorted(paired, left), np.searchsorted(paired, right)


def accepted(jaccard: np.ndarray, containment: np.ndarray, options: LSHOptions) -> np.ndarray:
    """Which verified pairs are near repeats."""
    return (jaccard >= options.threshold) | (containment >= options.containment)


class CentreAssignment:
    """Near clusters around centres, built from verified pairs that stream in sorted order.

    Feed every verified pair once, sorted by (left, right) with left < right, in any number of runs
    (``add``); node numbers are in read order, so a centre is the first occurrence of its cluster.
    """

    def __init__(self, nodes: int) -> None:
        self.centre = np.full(nodes, -1, dtype=np.int64)
        self.jaccard = np.zeros(nodes)  # of each member's pair with its centre
        self.containment = np.zeros(nodes)
        self._parent = np.arange(nodes, dtype=np.int64)  # connected components, to count the splits
        self._linked = np.zeros(nodes, dtype=bool)

    def hold(self, nodes: np.ndarray) -> None:
        """Mark nodes as taken by a centre outside these nodes (an index's members): they never take others."""
        self.centre[nodes] = self.centre.size

    def within(self, first: int, count: int) -> CentreAssignment:
        """The assignment of the nodes ``first`` to ``first + count - 1`` alone, renumbered from 0: a node
        whose centre lies outside them is left unassigned (its cluster is elsewhere)."""
        part = CentreAssignment(count)
        centre = self.centre[first : first + count]
        inside = (centre >= first) & (centre < first + count)
        part.centre[inside] = centre[inside] - first
        part.jaccard[inside] = self.jaccard[first : first + count][inside]
        part.containment[inside] = self.containment[first : first + count][inside]
        part._linked[:] = self._linked[first : first + count] & inside
        return part

    def add(self, left: np.ndarray, right: np.ndarray, jaccard: np.ndarray, containment: np.ndarray) -> None:
        """The next run of verified pairs, continuing the sorted order of the runs before."""
        _kernels.centres(left, right, self.centre, jaccard, containment, self.jaccard, self.containment)
        _kernels.union_edges(self._parent, self._linked, left, right)

    @property
    def members(self) -> np.ndarray:
        """The nodes that joined a centre other than themselves (a held node's centre is outside them: it is
        no member here, and ``clustered`` must not index its centre)."""
        size = self.centre.size
        return (self.centre >= 0) & (self.centre < size) & (self.centre != np.arange(size))

    @property
    def clustered(self) -> np.ndarray:
        """The nodes in a near cluster: members and the centres that have any."""
        members = self.members
        clustered = members.copy()
        clustered[self.centre[members]] = True
        return clustered

    def components_split(self) -> int:
        """How many connected components of the verified pairs are not exactly one cluster."""
        linked = np.flatnonzero(self._linked)
        if not linked.size:
            return 0
        component = _kernels.roots(self._parent)[linked]
        clustered = self.clustered[linked]
        # Each node's cluster is its centre; a node left alone is a cluster of its own. A component is more
        # than one cluster when its nodes' labels differ: their least and greatest differ (one sort by
        # component, not a sort of (component, label) pairs, which numpy does slowly as records).
        label = np.where(clustered, self.centre[linked], -2 - linked)
        order = np.argsort(component, kind="stable")
        by_component, labels = component[order], label[order]
        starts = np.flatnonzero(np.r_[True, by_component[1:] != by_component[:-1]])
        split = np.minimum.reduceat(labels, starts) != np.maximum.reduceat(labels, starts)
        return int(np.count_nonzero(split))


def cluster_keys(count: np.ndarray, near_distinct: np.ndarray, centres: CentreAssignment) -> np.ndarray:
    """The key of every distinct text's cluster, -1 for none: the distinct number of the text that represents it.

    A text is in a cluster when it occurs more than once (its copies are an exact cluster) or when it
    is in a near cluster (its cluster is then its centre's).

    Args:
        count: how many blocks have each distinct text.
        near_distinct: the distinct number of each near node.
        centres: the near clusters over the near nodes.
    """
    key = np.full(count.size, -1, dtype=np.int64)
    repeated = np.flatnonzero(count >= 2)
    key[repeated] = repeated
    clustered = np.flatnonzero(centres.clustered)
    key[near_distinct[clustered]] = near_distinct[centres.centre[clustered]]
    return key


def cluster_numbers(count: np.ndarray, near_distinct: np.ndarray, centres: CentreAssignment) -> ClusterNumbers:
    """The cluster of every distinct text, numbered in order of first occurrence (see ``cluster_keys``)."""
    return numbered(cluster_keys(count, near_distinct, centres))


def numbered(key: np.ndarray) -> ClusterNumbers:
    """Clusters numbered in order of their representatives, from each distinct text's key (-1: none).

    A key is a distinct text's number (below ``key.size``): the representatives are marked, not sorted.
    """
    has_cluster = key >= 0
    represents = np.zeros(key.size, dtype=bool)
    represents[key[has_cluster]] = True
    representatives = np.flatnonzero(represents)  # a cluster's smallest distinct number: its first occurrence
    number_of = np.cumsum(represents) - 1  # each representative's cluster number
    cluster_of = np.full(key.size, -1, dtype=np.int64)
    cluster_of[has_cluster] = number_of[key[has_cluster]]
    texts = np.bincount(cluster_of[has_cluster], minlength=representatives.size)
    return ClusterNumbers(cluster_of=cluster_of, representatives=representatives, near=texts >= 2)


@dataclass(frozen=True, slots=True)
class ClusterNumbers:
    """Clusters of distinct texts.

    Attributes:
        cluster_of: the cluster of every distinct text, -1 for none.
        representatives: the distinct text that represents each cluster (its first occurrence).
        near: whether each cluster holds more than one distinct text (a near cluster) or one (exact).
    """

    cluster_of: np.ndarray
    representatives: np.ndarray
    near: np.ndarray

    def __len__(self) -> int:
        return self.representatives.size
