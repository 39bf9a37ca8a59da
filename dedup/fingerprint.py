"""Exact keys, shingle sets and MinHash signatures for whole batches of blocks.

Everything here runs on a batch laid out as one UTF-8 buffer (``Utf8Texts``;
a polars Series is converted) through the compiled kernels in ``dedup._kernels``.

Signatures are datasketch's: for the same ``num_perm``, ``seed``, ``scheme``
and ``hashfunc=xxhash.xxh32_intdigest``, ``MinHash.update_batch`` over the
UTF-8 bytes of the shingles gives the same ``hashvalues`` (tests check this).
Shingles are made from the near form (``dedup.normalize.near_form``): a word
shingle is ``n`` words joined by one space, a character shingle ``n``
characters (code and tables are shingled by characters of their exact form);
a block with fewer units than ``n`` is one shingle, itself. A
shingle of nothing but digits carries no weight and is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl

from dedup import _kernels
from dedup._arrow import Utf8Texts, as_utf8, gather_spans, offsets_of
from dedup.normalize import verbatim
from dedup.options import MinHashOptions, ShingleOptions

EXACT_SEED = np.uint64(0)
SHINGLE_SEED = np.uint64(0)  # xxhash.xxh32_intdigest's default seed


@dataclass(frozen=True, slots=True)
class ShingleSets:
    """Shingle hashes of many blocks, CSR-style: block ``i`` owns ``values[offsets[i]:offsets[i + 1]]``.

    ``distinct``: each block's hashes are sorted and without repeats, a set, as
    verification needs them. Otherwise they are in text order with repeats, as
    hashed: MinHash does not care, and sorting only the blocks that end up in a
    candidate pair is far cheaper than sorting every block (``distinct_sets``).
    """

    values: np.ndarray
    offsets: np.ndarray
    distinct: bool = True

    def __len__(self) -> int:
        return self.offsets.size - 1

    @property
    def sizes(self) -> np.ndarray:
        """Hashes per block: the set sizes when ``distinct``."""
        return np.diff(self.offsets)

    def take(self, rows: np.ndarray) -> ShingleSets:
        """The blocks picked by a boolean mask or by block numbers, in that order."""
        if rows.dtype == np.bool_ and rows.all():
            return self
        starts, ends = self.offsets[:-1][rows], self.offsets[1:][rows]
        values, offsets = gather_spans(self.values, starts, ends)
        return ShingleSets(values, offsets, distinct=self.distinct)

    def distinct_counts(self) -> np.ndarray:
        """How many distinct hashes each block holds (its set's size), without sorting them."""
        if self.distinct:
            return self.sizes
        return _kernels.distinct_counts(self.values, self.offsets)

    def distinct_sets(self) -> ShingleSets:
        """Every block's hashes sorted, repeats dropped."""
        if self.distinct:
            return self
        return ShingleSets(*_kernels.sort_unique_segments(self.values, self.offsets))


class KeyOrdinals:
    """Exact keys numbered in order of first appearance, over any number of calls: an open-addressing
    table in two numpy arrays, kept at most half full and doubled when it would not be (about 32 bytes
    per key). The corpus state of a scan keeps its distinct texts in one, the readers their document ids."""

    def __init__(self, capacity: int = 1 << 16) -> None:
        self._keys = np.zeros(capacity, dtype=np.uint64)
        self._ordinals = np.full(capacity, -1, dtype=np.int64)
        self.count = 0

    def __call__(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ordinal of every key, and whether it is the key's first appearance (a new ordinal)."""
        self._reserve(self.count + keys.size)
        ordinals, new, self.count = _kernels.key_ordinals(
            keys.astype(np.uint64, copy=False), self._keys, self._ordinals, self.count
        )
        return ordinals, new

    def _reserve(self, entries: int) -> None:
        capacity = self._keys.size
        while 2 * entries > capacity:
            capacity *= 2
        if capacity == self._keys.size:
            return
        taken = self._ordinals >= 0
        old_keys, old_ordinals = self._keys[taken], self._ordinals[taken]
        self._keys = np.zeros(capacity, dtype=np.uint64)
        self._ordinals = np.full(capacity, -1, dtype=np.int64)
        _kernels.first_occurrence(old_keys, old_ordinals, self._keys, self._ordinals)


Texts = pl.Series | Utf8Texts


def exact_keys(exact: Texts) -> np.ndarray:
    """XXH64 of every text in the exact form: equal keys mean equal exact forms."""
    batch = as_utf8(exact)
    return _kernels.xxh64_blocks(batch.data, batch.offsets, EXACT_SEED)


@dataclass(frozen=True, slots=True)
class ShinglePlan:
    """How each text is shingled, how long it counts as (words or characters), and what its shingles run over.

    ``shingled``: the units the shingles are made of, every character (spaces too) when by character,
    else the words. ``verbatim``: code and tables, in which every shingle counts, not only those that
    hold a letter.
    """

    by_char: np.ndarray
    units: np.ndarray
    shingled: np.ndarray
    verbatim: np.ndarray

    def take(self, mask: np.ndarray) -> ShinglePlan:
        """The plans of the texts where ``mask`` is true."""
        return ShinglePlan(self.by_char[mask], self.units[mask], self.shingled[mask], self.verbatim[mask])


def shingle_plan(near: Texts, options: ShingleOptions) -> ShinglePlan:
    """Character shingles for ``kind="char"``, for text written without spaces, and for code and tables.

    Text is written without spaces when at least ``spaceless_share`` of its
    characters are Han, Hiragana, Katakana, Thai, Lao, Khmer or Myanmar. The
    near form of code and tables is their exact form (``normalize.verbatim``):
    their symbols and digits are content and their tokens are not separated by
    spaces (``f(x)+1``), so they are compared by characters, every shingle
    counting (``[1, 2, 3]`` and ``[1, 2, 4]`` differ there as the exact form says).
    """
    batch = as_utf8(near)
    words, chars, spaceless_chars = _kernels.text_counts(batch.data, batch.offsets)
    spaceless = (chars > 0) & (spaceless_chars >= options.spaceless_share * chars)
    code = verbatim(batch)
    by_char = np.full(words.size, options.kind == "char") | spaceless | code
    units = np.where(spaceless, chars - (words - 1).clip(min=0), words)
    return ShinglePlan(by_char, units, shingled=np.where(by_char, chars, words), verbatim=code)


def shingle_hashes(near: Texts, options: ShingleOptions, plan: ShinglePlan | None = None) -> ShingleSets:
    """The XXH32 of every content shingle of texts in the near form, in text order (not yet ``distinct``).

    A shingle made of nothing but digits (``1 2 3``) carries no weight in near matching and is left out,
    except in code and tables (``ShinglePlan.verbatim``), where every shingle is content.
    """
    batch = as_utf8(near)
    plan = plan or shingle_plan(batch, options)
    n = np.where(plan.by_char, options.char_n, options.n).astype(np.int64)
    # A text shorter than n is one shingle, an empty one none.
    shingles = np.where(plan.shingled == 0, 0, np.maximum(plan.shingled - n + 1, 1))
    hashes, offsets = _kernels.hash_shingles(
        batch.data, batch.offsets, plan.by_char, ~plan.verbatim, n, offsets_of(shingles), SHINGLE_SEED
    )
    return ShingleSets(hashes, offsets, distinct=False)


def shingle_sets(near: Texts, options: ShingleOptions, plan: ShinglePlan | None = None) -> ShingleSets:
    """The set of content shingle hashes of every text in the near form."""
    return shingle_hashes(near, options, plan).distinct_sets()


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
    """MinHash signatures, one uint32 row of ``num_perm`` values per block (repeated hashes change nothing)."""
    a, b = permutations(options)
    if options.scheme == "legacy":
        return _kernels.minhash_legacy(sets.values, sets.offsets, a, b)
    return _kernels.minhash_affine32(sets.values, sets.offsets, a, b)
