"""Exact keys, shingle sets and MinHash signatures for whole batches of blocks.

Everything here runs on a batch laid out as one UTF-8 buffer (see
``utf8_buffer``) through the compiled kernels in ``dedup._kernels``.

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


def utf8_buffer(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of all texts in one buffer, and the offsets of each text."""
    array = texts.rechunk().to_arrow(compat_level=pl.CompatLevel.oldest())
    _validity, offsets_buf, data_buf = array.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, dtype=np.uint8)
    return data, offsets


def exact_keys(normalized: pl.Series) -> np.ndarray:
    """XXH64 of every normalized text: equal keys mean equal matching forms."""
    data, offsets = utf8_buffer(normalized)
    return _kernels.xxh64_blocks(data, offsets, EXACT_SEED)


def word_counts(normalized: pl.Series) -> np.ndarray:
    """Words of every normalized text (words are separated by single spaces)."""
    counts = normalized.str.count_matches(" ", literal=True).to_numpy().astype(np.int64) + 1
    return np.where(normalized.str.len_bytes().to_numpy() == 0, 0, counts)


def shingle_sets(normalized: pl.Series, options: ShingleOptions) -> ShingleSets:
    """The set of shingle hashes of every normalized text."""
    data, offsets = utf8_buffer(normalized)
    words = word_counts(normalized)
    chars = normalized.str.len_chars().to_numpy().astype(np.float64)
    spaceless = chars > options.char_fallback_word_len * np.maximum(words, 1)
    by_char = np.full(words.size, options.kind == "char") | spaceless
    n = np.where(by_char, options.char_n, options.n).astype(np.int64)
    counts = _kernels.count_shingles(data, offsets, by_char, n)
    hash_offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=hash_offsets[1:])
    hashes = _kernels.hash_shingles(data, offsets, by_char, n, hash_offsets, SHINGLE_SEED)
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
