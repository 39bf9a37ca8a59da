"""LSH banding: which pairs of blocks are worth verifying.

Signatures are cut into ``bands`` bands of ``rows`` values; two blocks whose
signatures agree on all rows of at least one band become a candidate pair.
For a pair with Jaccard similarity ``j`` that happens with probability
``1 - (1 - j**rows)**bands`` (the S-curve). The banding is chosen for a
threshold the way datasketch does, by minimising the weighted areas of false
positives (below the threshold) and false negatives (above it); our default
weighs misses far more, because verification removes false candidates and
nothing brings back a missed pair.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np

from dedup import _kernels
from dedup._arrow import distinct_sorted
from dedup.options import LSHOptions

BAND_SEED = np.uint64(0x5EED)
_GRID = 2001  # points of the integration grid on [0, 1]


def candidate_probability(jaccard: float | np.ndarray, bands: int, rows: int) -> float | np.ndarray:
    """Probability that a pair with this Jaccard similarity becomes a candidate."""
    return 1.0 - (1.0 - np.asarray(jaccard, dtype=np.float64) ** rows) ** bands


def _area(curve: float | np.ndarray, grid: np.ndarray) -> float:
    """The trapezoid-rule area under a curve sampled on the grid."""
    if grid.size < 2:
        return 0.0
    values = np.asarray(curve)
    return float(np.sum((values[1:] + values[:-1]) * np.diff(grid)) / 2.0)


def false_positive_area(threshold: float, bands: int, rows: int) -> float:
    """Area under the S-curve below the threshold."""
    grid = np.linspace(0.0, threshold, _GRID)
    return _area(candidate_probability(grid, bands, rows), grid)


def false_negative_area(threshold: float, bands: int, rows: int) -> float:
    """Area above the S-curve from the threshold to 1."""
    grid = np.linspace(threshold, 1.0, _GRID)
    return _area(1.0 - candidate_probability(grid, bands, rows), grid)


@cache
def optimal_bands(threshold: float, num_perm: int, false_negative_weight: float) -> tuple[int, int]:
    """The (bands, rows) with bands × rows <= num_perm and the least weighted error."""
    fp_weight = 1.0 - false_negative_weight
    best, best_error = (1, 1), float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            error = fp_weight * false_positive_area(threshold, bands, rows) + false_negative_weight * (
                false_negative_area(threshold, bands, rows)
            )
            if error < best_error:
                best, best_error = (bands, rows), error
    return best


def banding(options: LSHOptions, num_perm: int) -> tuple[int, int]:
    """The banding in force: the one given, or the optimal one for the threshold."""
    if options.bands is not None and options.rows is not None:
        return options.bands, options.rows
    return optimal_bands(options.threshold, num_perm, options.false_negative_weight)


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """A 64-bit key per block and band; equal keys mean equal band values."""
    return _kernels.band_keys(np.ascontiguousarray(signatures), bands, rows, BAND_SEED)


def band_pairs(column: np.ndarray, max_bucket_pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of rows (left < right) whose keys agree in one band: every pair of a bucket of up to
    ``max_bucket_pairs`` rows, a chain and a star to its first row for a larger bucket (see
    ``_kernels.bucket_pairs``).

    Args:
        column: the band's key of every row.
    """
    n_rows = column.size
    if n_rows < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # One sort of 64-bit values: the key in the high bits, the row number in the low ones, so a bucket
    # is a run of equal keys with its rows in order. The key loses as many high bits as the row number
    # needs; keys that then agree put two rows in one bucket, an extra candidate that verification drops
    # (n^2 / 2^(65 - row_bits) of them per band, expected, for random 64-bit keys).
    row_bits = max(1, (n_rows - 1).bit_length())
    bucketed = np.sort((column << np.uint64(row_bits)) | np.arange(n_rows, dtype=np.uint64))
    return _kernels.bucket_pairs(bucketed, row_bits, max_bucket_pairs)


def candidate_pairs(
    keys: np.ndarray, ids: np.ndarray, max_bucket_pairs: int, threads: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct pairs (left < right) of ids that share a key in any band, all in memory.

    Args:
        keys: band keys, one row per item and one column per band.
        ids: the id of every row, increasing.
        max_bucket_pairs: buckets larger than this are chained, not paired all-to-all.
        threads: bands bucketed at once (numpy's sort and the kernel release the GIL).
    """
    with ThreadPoolExecutor(max_workers=threads) as pool:
        found = list(pool.map(lambda band: band_pairs(keys[:, band], max_bucket_pairs), range(keys.shape[1])))
    left = np.concatenate([np.zeros(0, np.int64), *(pairs[0] for pairs in found)])
    right = np.concatenate([np.zeros(0, np.int64), *(pairs[1] for pairs in found)])
    left, right = distinct_pairs(left, right, 0, max(ids.size, 1))
    return ids[left], ids[right]


def distinct_pairs(left: np.ndarray, right: np.ndarray, low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct pairs, sorted by (left, right), for left in [low, high) and right < 2**63.

    One sort of 64-bit values when ``left - low`` and ``right`` fit in one (always, short of billions
    of nodes), a lexicographic sort otherwise.
    """
    if left.size == 0:
        return left, right
    left_bits = max(1, int(high - low - 1).bit_length())
    right_bits = max(1, int(right.max()).bit_length())
    if left_bits + right_bits <= 64:
        packed = distinct_sorted(((left - low).astype(np.uint64) << np.uint64(right_bits)) | right.astype(np.uint64))
        return (packed >> np.uint64(right_bits)).astype(np.int64) + low, (
            packed & np.uint64((1 << right_bits) - 1)
        ).astype(np.int64)
    order = np.lexsort((right, left))
    left, right = left[order], right[order]
    keep = np.ones(left.size, dtype=bool)
    keep[1:] = (left[1:] != left[:-1]) | (right[1:] != right[:-1])
    return left[keep], right[keep]
