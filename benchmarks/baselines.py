"""rensa and datasketch against dedup, on the same blocks, the same shingles and the same banding.

Each system gets the distinct normalized non-short blocks of a corpus (dedup's segmentation and
normalization, done before and outside the timing) and is timed in CPU seconds from the texts to
connected components: shingling, MinHash, LSH, components. Used by ``benchmarks/run.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

NUM_PERM = 128


def baseline_blocks(corpus: Path) -> tuple[list[str], int]:
    """The distinct normalized non-short blocks of the corpus, and how many non-short blocks there are.

    dedup's own segmentation and normalization, so every system gets the same texts. Exact repeats
    are left out, as anyone would with a hash set before MinHash: with every copy, rensa's and
    datasketch's LSH would pair the members of a crawl's clusters of thousands of blocks all to all.
    """
    import dedup
    from dedup import schema as S
    from dedup.normalize import near_form, normalize_texts
    from dedup.stage import fingerprint_batch

    texts = pl.read_ndjson(corpus, schema={"id": pl.String, "text": pl.String})["text"]
    options = dedup.ScanOptions()
    docs = pl.DataFrame({S.DOC_KEY: np.arange(len(texts)), S.TEXT: texts})
    blocks = fingerprint_batch(docs, options).filter(~pl.col(S.SHORT))
    near = near_form(normalize_texts(blocks[S.TEXT])).to_series("near")
    distinct = near.filter(blocks[S.EXACT_HASH].is_first_distinct())
    return distinct.to_list(), blocks.height


def word_shingles(text: str, n: int = 3) -> list[str]:
    """dedup's word 3-gram shingles of a text in the near form (one shingle for fewer than ``n`` words),
    without the shingles that hold no letter (an ASCII letter or any character beyond ASCII), which carry
    no weight in dedup either."""
    words = text.split(" ")
    shingles = [text] if len(words) < n else [" ".join(words[k : k + n]) for k in range(len(words) - n + 1)]
    return [shingle for shingle in shingles if any(c.isalpha() or not c.isascii() for c in shingle)]


def components(n: int, pairs: list[tuple[int, int]]) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not pairs:
        return np.arange(n)
    left, right = np.array(pairs).T
    graph = coo_matrix((np.ones(left.size), (left, right)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def cpu_seconds(work: Callable[[], int]) -> tuple[float, int]:
    """CPU seconds of all threads of this process spent in ``work``, and what it returned."""
    started = time.process_time()
    value = work()
    return time.process_time() - started, value


def run_rensa(texts: list[str], threshold: float, bands: int) -> dict[str, Any] | None:
    try:
        import rensa
    except ImportError:
        print("rensa is not installed: skipped (pip install rensa)", flush=True)
        return None

    def work() -> int:
        minhashes = rensa.RMinHash.from_token_sets([word_shingles(t) for t in texts], NUM_PERM, 1)
        lsh = rensa.RMinHashLSH(threshold, NUM_PERM, bands)
        lsh.insert_many(minhashes)
        found = lsh.query_all(minhashes)
        pairs = [(key, other) for key, others in enumerate(found) for other in others if other > key]
        components(len(texts), pairs)
        return len(pairs)

    cpu, pairs = cpu_seconds(work)
    return {"cpu_s": cpu, "blocks": len(texts), "candidate_pairs": pairs, "banding": [bands, NUM_PERM // bands]}


def run_datasketch(texts: list[str], threshold: float, bands: int, rows: int, at_most: int) -> dict[str, Any]:
    """datasketch on the first ``at_most`` blocks; CPU seconds scaled per block to all of them if fewer."""
    import xxhash
    from datasketch import MinHash, MinHashLSH

    sample = texts[:at_most]

    def work() -> int:
        minhashes = MinHash.bulk(
            ([s.encode("utf-8") for s in word_shingles(t)] for t in sample),
            num_perm=NUM_PERM,
            hashfunc=xxhash.xxh32_intdigest,
        )
        lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, params=(bands, rows))
        with lsh.insertion_session() as session:
            for key, minhash in enumerate(minhashes):
                session.insert(key, minhash)
        pairs = [(key, other) for key, m in enumerate(minhashes) for other in lsh.query(m) if other > key]
        components(len(sample), pairs)
        return len(pairs)

    cpu, pairs = cpu_seconds(work)
    return {
        "cpu_s": cpu * len(texts) / len(sample),
        "measured_cpu_s": cpu,
        "blocks": len(texts),
        "measured_blocks": len(sample),
        "scaled": len(sample) < len(texts),
        "candidate_pairs_measured": pairs,
        "banding": [bands, rows],
    }


def run_dedup_stages(texts: list[str], threshold: float) -> dict[str, Any]:
    """dedup's fingerprint + LSH + verify + cluster alone, on the same blocks, after loading its kernels."""
    import dedup
    from dedup import candidates

    options = dedup.ScanOptions(lsh=dedup.LSHOptions(threshold=threshold))
    bands, rows = candidates.banding(options.lsh, options.minhash.num_perm)
    series = pl.Series(texts)
    _dedup_stages(series[:2000], options, bands, rows)
    cpu, _ = cpu_seconds(lambda: _dedup_stages(series, options, bands, rows))
    return {"cpu_s": cpu, "blocks": len(texts), "cpu_us_per_block": cpu / len(texts) * 1e6}


def _dedup_stages(series: pl.Series, options: Any, bands: int, rows: int) -> int:
    from dedup import candidates, cluster, fingerprint

    # As in a scan: raw shingle hashes for MinHash; verification sorts only the blocks in candidate pairs.
    sets = fingerprint.shingle_hashes(series, options.shingle)
    keys = candidates.band_keys(fingerprint.signatures(sets, options.minhash), bands, rows)
    left, right = candidates.candidate_pairs(keys, np.arange(len(series)), options.lsh.max_bucket_pairs)
    jaccard, containment = cluster.similarities(sets, left, right)
    keep = cluster.accepted(jaccard, containment, options.lsh)
    cluster.CentreAssignment(len(series)).add(left[keep], right[keep], jaccard[keep], containment[keep])
    return int(left.size)


def baselines(corpus: Path, dedup_scan: dict[str, Any], threshold: float, datasketch_blocks: int) -> dict:
    """rensa and datasketch against dedup's whole scan (CPU seconds) and its matching stages alone."""
    from dedup import candidates
    from dedup.options import LSHOptions

    bands, rows = candidates.banding(LSHOptions(threshold=threshold), NUM_PERM)
    texts, non_short = baseline_blocks(corpus)
    print(f"  {len(texts):,} distinct non-short blocks of {non_short:,}", flush=True)
    measured: dict[str, Any] = {
        "blocks": len(texts),
        "non_short_blocks": non_short,
        "given": "distinct normalized non-short blocks (dedup's segmentation and normalization, untimed)",
        "dedup_scan_cpu_s": dedup_scan.get("cpu_s"),
        "dedup_stages": run_dedup_stages(texts, threshold),
    }
    print("  rensa …", flush=True)
    measured["rensa"] = run_rensa(texts, threshold, bands)
    print(f"  datasketch on {min(len(texts), datasketch_blocks):,} blocks …", flush=True)
    measured["datasketch"] = run_datasketch(texts, threshold, bands, rows, datasketch_blocks)
    for name in ("rensa", "datasketch"):
        if measured[name] and dedup_scan.get("cpu_s"):
            measured[f"{name}_over_dedup_scan"] = measured[name]["cpu_s"] / dedup_scan["cpu_s"]
        if measured[name]:
            measured[f"{name}_over_dedup_stages"] = measured[name]["cpu_s"] / measured["dedup_stages"]["cpu_s"]
    return measured
