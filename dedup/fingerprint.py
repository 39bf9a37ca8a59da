"""Exact keys, shingle sets and MinHash signatures for whole batches of blocks.

Everything here runs on a batch laid out as one UTF-8 buffer (``Utf8Texts``;
a polars Series is converted) through the compiled kernels in ``dedup._kernels``.

Signatures are datasketch's: for the same ``num_perm``, ``seed``, ``scheme``
and ``hashfunc=xxhash.xxh32_intdigest``, ``MinHash.update_batch`` over the
UTF-8 bytes of the shingles gives the same ``hashvalues`` (tests check this).
A word shingle is the words joined by one space, a character shingle the
characters; a block with fewer units than ``n`` is one shingle, itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl

from dedup import _kernels
from dedup._arrow import Utf8Texts, as_utf8, gather_spans
from dedup.options import MinHashOptions, ShingleOptions

EXACT_SEED = np.uint64(0)
SHINGLE_SEED = np.uint64(0)  # xxhash.xxh32_intdigest's default seed


@dataclass(frozen=True, slots=True)
class ShingleSets:
    """Sorted, distinct 32-bit shingle hashes of many blocks, CSR-style.

    Block ``i`` owns ``values[offsets[i]:offsets[i + 1]]``.
    """

    values: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return self.offsets.size - 1

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    def take(self, mask: np.ndarray) -> ShingleSets:
        """The sets where ``mask`` is true."""
        if mask.all():
            return self
        return ShingleSets(*gather_spans(self.values, self.offsets[:-1][mask], self.offsets[1:][mask]))


Texts = pl.Series | Utf8Texts


def exact_keys(normalized: Texts) -> np.ndarray:
    """XXH64 of every normalized text: equal keys mean equal matching forms."""
    batch = as_utf8(normalized)
    return _kernels.xxh64_blocks(batch.data, batch.offsets, EXACT_SEED)


@dataclass(frozen=True, slots=True)
class ShinglePlan:
    """How each text is shingled, and how long it counts as (words or characters)."""

    by_char: np.ndarray
    units: np.ndarray


def shingle_plan(normalized: Texts, options: ShingleOptions) -> ShinglePlan:
    """Character shingles for ``kind="char"`` and for text written without spaces.

    Text is written without spaces when at least ``spaceless_share`` of its
    characters are Han, Hiragana, Katakana, Thai, Lao, Khmer or Myanmar.
    """
    batch = as_utf8(normalized)
    words, chars, spaceless_chars = _kernels.text_counts(batch.data, batch.offsets)
    spaceless = (chars > 0) & (spaceless_chars >= options.spaceless_share * chars)
    by_char = np.full(words.size, options.kind == "char") | spaceless
    units = np.where(spaceless, chars - (words - 1).clip(min=0), words)
    return ShinglePlan(by_char, units)


def shingle_sets(normalized: Texts, options: ShingleOptions, plan: ShinglePlan | None = None) -> ShingleSets:
    """The set of shingle hashes of every normalized text."""
    batch = as_utf8(normalized)
    data, offsets = batch.data, batch.offsets
    by_char = (plan or shingle_plan(batch, options)).by_char
    n = np.where(by_char, options.char_n, options.n).astype(np.int64)
    counts = _kernels.count_shingles(data, offsets, by_char, n)
    hash_offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=hash_offsets[1:])
    hashes = _kernels.hash_shingles(
        data, offsets, by_char, n, hash_offsets, SHINGLE_SEED, _kernels.chunk_bounds(counts.size)
    )
    values, set_offsets = _kernels.sort_unique_segments(hashes, hash_offsets)
    return ShingleSets(values, set_offsets)


@cache
def permutations(options: MinHashOptions) -> tuple[np.ndarray, np.ndarray]:
    """The permutation parameters (a, b) datasketch draws for these options."""
    generator = np.random.RandomState(options.seed)
    if options.scheme == "legacy":
        prime = np.uint64((1 << 61) - 1)
        # datasketch draws a then b for each permutation in turn.
        pairs = [
            (generator.randint(1, prime, dtype=np.uint64), generator.randint(0, prime, dtype=np.uint64))
            for _ in range(options.num_perm)
        ]
        a, b = np.array(pairs, dtype=np.uint64).T
        return np.ascontiguousarray(a), np.ascontiguousarray(b)
    # affine32: odd multipliers, so that every permutation is a bijection.
    a = generator.randint(0, 1 << 31, options.num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, options.num_perm, dtype=np.uint32)
    return a, b


def signatures(sets: ShingleSets, options: MinHashOptions) -> np.ndarray:
    """MinHash signatures, one uint32 row of ``num_perm`` values per set."""
    a, b = permutations(options)
    if options.scheme == "legacy":
        return _kernels.minhash_legacy(sets.values, sets.offsets, a, b)
    return _kernels.minhash_affine32(sets.values, sets.offsets, a, b)
