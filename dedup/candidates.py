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

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np

from dedup import _kernels
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


def candidate_pairs(
    keys: np.ndarray | Sequence[np.ndarray], ids: np.ndarray, max_bucket_pairs: int, threads: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct pairs (left < right) of ids that share a key in any band.

    Args:
        keys: band keys, one row per item and one column per band; or such arrays in row order
            (one per batch), which are never joined into one.
        ids: the id of every row, increasing.
        max_bucket_pairs: buckets larger than this are chained, not paired all-to-all.
        threads: bands bucketed at once (numpy's sort and the kernel release the GIL).
    """
    chunks = [keys] if isinstance(keys, np.ndarray) else list(keys)
    n_rows = sum(chunk.shape[0] for chunk in chunks)
    if n_rows < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # Each band is one sort of 64-bit values: the key in the high bits, the row number in the low ones, so
    # a bucket is a run of equal keys with its rows in order. The key loses as many high bits as the row
    # number needs (at most 32); keys that then agree put two rows in one bucket, an extra candidate that
    # verification drops (n^2 / 2^(65 - row_bits) of them per band, expected, for random 64-bit keys).
    row_bits = max(1, (n_rows - 1).bit_length())
    shift = np.uint64(row_bits)
    rows = np.arange(n_rows, dtype=np.uint64)

    def band_pairs(band: int) -> tuple[np.ndarray, np.ndarray]:
        column = np.concatenate([chunk[:, band] for chunk in chunks])
        bucketed = np.sort((column << shift) | rows)
        return _kernels.bucket_pairs(bucketed, row_bits, max_bucket_pairs)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        found = list(pool.map(band_pairs, range(chunks[0].shape[1])))
    left = np.concatenate([pairs[0] for pairs in found])
    right = np.concatenate([pairs[1] for pairs in found])
    packed = np.unique((left.astype(np.uint64) << np.uint64(32)) | right.astype(np.uint64))
    rows_left = (packed >> np.uint64(32)).astype(np.int64)
    rows_right = (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)
    return ids[rows_left], ids[rows_right]
