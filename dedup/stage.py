"""The per-batch stage: a table of documents in, a table of fingerprinted blocks out.

Everything a block's matching needs that depends on its batch alone happens here, in this order:
segment (blocks and their offsets), normalize (the matching form), exact keys (XXH64 of the matching
form), shingle hashes, MinHash signatures and LSH band keys. The function is pure: it reads nothing
but its arguments, writes nothing, and keeps no state, so any runner can map it over partitions of a
corpus (the local runner over batches on threads, a Spark runner inside ``mapInArrow``) and combine
the tables by their keys, ``(doc_key, block)``.

Only the first block of each exact key in the batch is shingled; it takes part in near matching
(``near_candidate``: shingles, a signature and band keys) when it has enough distinct content
shingles (``ScanOptions.near_min_shingles``), and is *short* otherwise, as are its copies. The
corpus-wide steps keep the first occurrence of each key in the whole corpus, which is always the
first one in its batch, so the result does not depend on how the corpus was cut into batches.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import polars as pl

from dedup import candidates, fingerprint
from dedup import schema as S
from dedup._arrow import first_of_each, list_series
from dedup.locations import block_places
from dedup.normalize import near_form, normalize_texts
from dedup.options import ScanOptions
from dedup.segment import segment_with_texts


@cache
def _banding(options: ScanOptions) -> tuple[int, int]:
    return candidates.banding(options.lsh, options.minhash.num_perm)


def fingerprint_batch(documents: pl.DataFrame, options: ScanOptions) -> pl.DataFrame:
    """Segment, normalize and fingerprint a batch of documents.

    Args:
        documents: a table with at least ``doc_key`` (Int64) and ``text`` (String), as in
            ``schema.BATCH_DOCUMENTS_SCHEMA``; ``source_line`` and ``anchors`` place the blocks in their
            files (``dedup.locations``; without them each document is a record at line 1); other columns
            are ignored.
        options: the scan options (segmentation, shingles, MinHash, LSH banding, ``min_shingles``).

    Returns:
        One row per block, in document and block order, with the columns of
        ``schema.BATCH_BLOCKS_SCHEMA``. ``shingles``, ``signature`` and ``band_keys`` are set for the
        ``near_candidate`` blocks and null for the others.
    """
    blocks, block_texts = segment_with_texts(documents.select(S.DOC_KEY, S.TEXT), options.segment)
    blocks = blocks.with_columns(*block_places(documents, blocks))
    exact_forms = normalize_texts(block_texts)
    exact = fingerprint.exact_keys(exact_forms)
    matchable = np.diff(exact_forms.offsets) > 0  # a block of nothing but white space and markers matches nothing
    first_in_batch = np.zeros(exact.size, dtype=bool)
    first_in_batch[first_of_each(exact)[1]] = True
    # Shingles of the first block of each text in the batch; a later copy would only repeat them.
    shingled = matchable & first_in_batch
    near = near_form(exact_forms, shingled)
    plan = fingerprint.shingle_plan(near, options.shingle)
    # Raw hashes, in text order: MinHash does not care, and verification sorts only the blocks it pairs.
    shingle_sets = fingerprint.shingle_hashes(near, options.shingle, plan)
    least = np.where(plan.by_char, options.near_min_shingles(True), options.near_min_shingles(False))
    long_enough = shingle_sets.distinct_counts() >= least
    short = np.ones(exact.size, dtype=bool)
    short[shingled] = ~long_enough
    short[~shingled] = _copied(short, exact, shingled)[~shingled]
    near_candidate = np.zeros(exact.size, dtype=bool)
    near_candidate[shingled] = long_enough
    sets = shingle_sets.take(long_enough)
    signatures = fingerprint.signatures(sets, options.minhash)
    bands, rows = _banding(options)
    keys = candidates.band_keys(signatures, bands, rows)
    num_perm = signatures.shape[1]
    return blocks.with_columns(
        pl.Series(S.EXACT_HASH, exact, dtype=pl.UInt64),
        pl.Series(S.MATCHABLE, matchable),
        pl.Series(S.SHORT, short),
        pl.Series(S.NEAR_CANDIDATE, near_candidate),
        list_series(S.SHINGLES, sets.values, sets.offsets, near_candidate, pl.List(pl.UInt32)),
        list_series(
            S.SIGNATURE, signatures.ravel(), _strided(near_candidate, num_perm), near_candidate, pl.List(pl.UInt32)
        ),
        list_series(S.BAND_KEYS, keys.ravel(), _strided(near_candidate, bands), near_candidate, pl.List(pl.UInt64)),
    ).select(list(S.BATCH_BLOCKS_SCHEMA))


def _copied(values: np.ndarray, exact: np.ndarray, firsts: np.ndarray) -> np.ndarray:
    """Each block's value taken from the first block of its exact key in the batch (``firsts``)."""
    keys, where = exact[firsts], np.flatnonzero(firsts)
    order = np.argsort(keys, kind="stable")
    found = where[order][np.searchsorted(keys[order], exact)]
    return values[found]


def _strided(rows: np.ndarray, width: int) -> np.ndarray:
    """Offsets of fixed-width lists, one per true entry of ``rows``."""
    return np.arange(np.count_nonzero(rows) + 1, dtype=np.int64) * width
