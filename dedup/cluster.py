"""Verification of candidate pairs and clustering of verified pairs.

A candidate pair is kept as a near repeat when the Jaccard similarity of its
real shingle sets reaches the threshold, or when one set is mostly contained in
the other (an extended copy of a paragraph). Clusters are the connected
components of the graph of exact and near pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from dedup import _kernels
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
    paired = np.unique(np.concatenate((left, right)))
    return take(paired).distinct_sets(), np.searchsorted(paired, left), np.searchsorted(paired, right)


def accepted(jaccard: np.ndarray, containment: np.ndarray, options: LSHOptions) -> np.ndarray:
    """Which verified pairs are near repeats."""
    return (jaccard >= options.threshold) | (containment >= options.containment)


def components(n_nodes: int, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cluster labels of the nodes that have at least one edge.

    Returns:
        (nodes, labels): the clustered nodes in increasing order, and for each a
        cluster number; clusters are numbered by their smallest node, so the
        numbering follows the input order and is deterministic.
    """
    if left.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return _kernels.component_labels(n_nodes, left.astype(np.int64, copy=False), right.astype(np.int64, copy=False))
