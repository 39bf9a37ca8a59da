"""How right a scan is: recall and precision against exact Jaccard, and the corpus truth's copies found.

Used by ``benchmarks/run.py`` on the scan folder a ``dedup scan --out`` wrote.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from benchmarks.corpus import truth_paths


def quality(scan_dir: Path, threshold: float, queries: int, seed: int) -> dict[str, Any]:
    """Recall and precision against exact Jaccard over all blocks.

    Exact all-pairs search by sparse matrix products with prefix filtering: a
    block B with Jaccard(A, B) >= t must share one of the |A| - ceil(t |A|) + 1
    rarest shingles of A, so multiplying only those prefixes finds every such
    pair (complete, not sampled), and each is then verified on the full sets.
    """
    from scipy.sparse import csr_matrix

    import dedup
    from dedup import _kernels
    from dedup import schema as S
    from dedup.fingerprint import shingle_sets
    from dedup.normalize import near_form, normalize_texts

    blocks = pl.read_parquet(scan_dir / "blocks.parquet")
    long_blocks = blocks.filter(~pl.col(S.SHORT))
    sets = shingle_sets(near_form(normalize_texts(long_blocks[S.TEXT])), dedup.ShingleOptions())
    _, columns = np.unique(sets.values, return_inverse=True)
    frequency = np.bincount(columns)
    n_columns = int(columns.max()) + 1
    matrix = csr_matrix((np.ones(columns.size, np.float32), columns, sets.offsets), shape=(len(sets), n_columns))
    sizes = sets.sizes.astype(np.float64)
    cluster = long_blocks[S.CLUSTER].fill_null(-1).to_numpy()
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(sets), size=min(queries, len(sets)), replace=False))

    # Prefixes of the queries: their rarest shingles.
    prefix_rows, prefix_cols = [], []
    for row, query in enumerate(chosen):
        own = columns[sets.offsets[query] : sets.offsets[query + 1]]
        keep = int(own.size - np.ceil(threshold * own.size)) + 1
        rare = own[np.argsort(frequency[own], kind="stable")[:keep]]
        prefix_rows.append(np.full(rare.size, row))
        prefix_cols.append(rare)
    prefix = csr_matrix(
        (
            np.ones(sum(r.size for r in prefix_rows), np.float32),
            (np.concatenate(prefix_rows), np.concatenate(prefix_cols)),
        ),
        shape=(chosen.size, n_columns),
    )
    found = (prefix @ matrix.T).tocoo()
    left, right = chosen[found.row], found.col.astype(np.int64)
    # Cluster mates of the queries too, to measure the precision of clusters.
    by_cluster = pl.DataFrame({"row": np.arange(len(sets)), "cluster": cluster}).filter(pl.col("cluster") >= 0)
    mates = (
        pl.DataFrame({"row": chosen, "cluster": cluster[chosen]})
        .filter(pl.col("cluster") >= 0)
        .join(by_cluster, on="cluster", suffix="_mate")
    )
    left = np.concatenate((left, mates["row"].to_numpy()))
    right = np.concatenate((right, mates["row_mate"].to_numpy()))
    pairs = np.unique(np.stack((left, right)), axis=1)
    pairs = pairs[:, pairs[0] != pairs[1]]
    shared = _kernels.intersect_sizes(sets.values, sets.offsets, pairs[0], pairs[1]).astype(np.float64)
    jaccard = shared / (sizes[pairs[0]] + sizes[pairs[1]] - shared)
    containment = shared / np.minimum(sizes[pairs[0]], sizes[pairs[1]])
    together = (cluster[pairs[0]] >= 0) & (cluster[pairs[0]] == cluster[pairs[1]])
    near = (jaccard >= threshold) & (jaccard < 1.0)
    same = jaccard >= 1.0
    verified = pl.read_parquet(scan_dir / "pairs.parquet").filter(pl.col(S.KIND) == S.NEAR)
    precise = verified.filter((pl.col(S.JACCARD) >= threshold) | (pl.col(S.CONTAINMENT) >= 0.8)).height
    return {
        "query_blocks": int(chosen.size),
        "method": "exact Jaccard, sparse products with prefix filtering (complete for J >= threshold)",
        "near_pairs": int(near.sum()),
        "near_recall": float((near & together).sum() / near.sum()) if near.sum() else None,
        "identical_pairs": int(same.sum()),
        "identical_recall": float((same & together).sum() / same.sum()) if same.sum() else None,
        "verified_near_pairs": verified.height,
        "verified_precision": precise / verified.height if verified.height else None,
        "cluster_pairs": int(together.sum()),
        "cluster_pair_precision": float(
            (together & ((jaccard >= threshold) | (containment >= 0.8))).sum() / together.sum()
        )
        if together.sum()
        else None,
    }


def members_below_floor(scan_dir: Path, threshold: float, containment: float) -> dict[str, Any]:
    """Every distinct text of every near cluster against its cluster's representative, on exact shingle
    sets recomputed here: how many fall below both the threshold and the containment floor (0 by design)."""
    import dedup
    from dedup import cluster as clustering
    from dedup import schema as S
    from dedup.fingerprint import shingle_sets
    from dedup.normalize import near_form, normalize_texts

    near = pl.read_parquet(scan_dir / "clusters.parquet").filter(pl.col(S.KIND) == S.NEAR)
    members = (
        pl.scan_parquet(scan_dir / "blocks.parquet")
        .select(S.CLUSTER, S.EXACT_HASH, S.TEXT)
        .filter(pl.col(S.CLUSTER).is_in(near[S.CLUSTER].implode()))
        .unique([S.CLUSTER, S.EXACT_HASH], keep="first", maintain_order=True)
        .collect()
        .join(near.select(S.CLUSTER, pl.col(S.TEXT).alias("representative")), on=S.CLUSTER)
    )
    texts = pl.concat([members[S.TEXT], members["representative"]])
    sets = shingle_sets(near_form(normalize_texts(texts)), dedup.ShingleOptions())
    rows = np.arange(members.height)
    jaccard, contained = clustering.similarities(sets, rows, rows + members.height)
    below = (jaccard < threshold) & (contained < containment)
    return {
        "near_clusters": near.height,
        "distinct_members": members.height,
        "below_floor": int(below.sum()),
        "lowest_jaccard": float(jaccard.min()) if jaccard.size else None,
    }


def truth_recall(scan_dir: Path, corpus: Path) -> dict[str, Any]:
    """Per kind of copy in the corpus truth: the share that the scan put in its source block's cluster.

    Exact copies should all be found except lines of punctuation only (dedup matches nothing in
    them); near copies with 0-10% of their words edited fall on both sides of the threshold. The light
    profile's boilerplate names no source block and is left out.
    """
    from dedup import schema as S

    clusters = pl.read_parquet(scan_dir / "blocks.parquet", columns=[S.DOC_ID, S.BLOCK, S.CLUSTER]).select(
        pl.col(S.DOC_ID).str.strip_prefix("doc-").cast(pl.Int32).alias("doc"),
        pl.col(S.BLOCK).cast(pl.Int32).alias("block"),
        pl.col(S.CLUSTER).alias("cluster"),
    )
    copies = pl.read_parquet(truth_paths(corpus)[0]).filter(pl.col("source_doc") >= 0)
    joined = copies.join(clusters, on=["doc", "block"]).join(
        clusters.rename({"doc": "source_doc", "block": "source_block", "cluster": "source_cluster"}),
        on=["source_doc", "source_block"],
    )
    found = pl.col("cluster").is_not_null() & (pl.col("cluster") == pl.col("source_cluster"))
    by_kind = joined.group_by("kind").agg(pl.len().alias("copies"), found.mean().alias("found")).sort("kind")
    return {row["kind"]: {"copies": row["copies"], "found": row["found"]} for row in by_kind.iter_rows(named=True)}


def s_curve(bands: int, rows: int) -> dict[str, float]:
    from dedup.candidates import candidate_probability

    return {f"{j:.2f}": round(float(candidate_probability(j, bands, rows)), 4) for j in np.arange(0.5, 1.0001, 0.05)}
