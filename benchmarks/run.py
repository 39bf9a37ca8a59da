"""Benchmark dedup against datasketch and rensa, for speed, memory and quality.

    python benchmarks/run.py --size 100MB --large 400MB --out benchmarks/results/

What it measures, on corpora from ``benchmarks/corpus.py`` (generated once,
kept in benchmarks/corpora/):

1. dedup end to end (read JSONL, segment, normalize, exact + MinHash
   fingerprints, LSH, verification, clusters, Parquet out), in a child process
   per run: wall and CPU seconds per stage, MB/s, blocks/s, peak RSS; on two
   cores and on one core; and on the large corpus for memory and scaling.
2. On a sample of the corpus, the same blocks and shingles (dedup's
   segmentation and normalization, untimed) through datasketch
   (``MinHash.update_batch`` per block + ``MinHashLSH``) and rensa's batch API
   (``RMinHash.from_token_sets``, ``RMinHashLSH.insert_many``, ``query_all``),
   against dedup's own fingerprint + LSH + verify + cluster stages: CPU
   seconds per block, and the ratios.
3. Quality on 2,000 query blocks: exact Jaccard by brute force (sparse matrix
   products) against every block, then recall of near pairs (0.8 <= J < 1) and
   identical pairs (J = 1), and precision of the verified pairs.

Results go to ``<out>/<corpus>.json`` and ``<out>/<corpus>.png``. Speed is
reported, never asserted: machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.corpus import make_corpus, parse_size  # noqa: E402

CORPORA = ROOT / "benchmarks" / "corpora"
THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "POLARS_MAX_THREADS", "OMP_NUM_THREADS")


def corpus_path(size: int, seed: int) -> Path:
    """The corpus file of this size, generated on first use."""
    path = CORPORA / f"{size // 10**6}MB-seed{seed}.jsonl"
    if not path.exists():
        started = time.perf_counter()
        make_corpus(size, seed=seed).write_jsonl(path)
        print(f"generated {path.name} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


# ------------------------------------------------------------ dedup end to end


def child_scan(corpus: Path, threshold: float, out: Path) -> dict[str, Any]:
    """Run inside the child process: one full scan, with its measurements."""
    import dedup

    options = dedup.ScanOptions(lsh=dedup.LSHOptions(threshold=threshold))
    wall, cpu = time.perf_counter(), time.process_time()
    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int | None) -> None:
        # Phases: until the first batch is folded in (start-up: loading the kernels, the first reads),
        # the batches, the tail (LSH, verification, clusters, the tables built and written to Parquet:
        # blocks.parquet streams out while the other tables are built, as `dedup scan --out` does).
        if stage == "fingerprint" and done > 0:
            marks.setdefault("first_batch", time.perf_counter() - wall)
        if stage == "lsh":
            marks.setdefault("batches_done", time.perf_counter() - wall)

    result = dedup.scan([corpus], options, progress=progress, out=out)
    scanned = time.perf_counter() - wall
    seconds = dict(result.stats.seconds)
    cpu_seconds = dict(result.stats.cpu_seconds)
    return {
        "phases_wall_s": {
            "start_up": marks["first_batch"],
            "batches": marks["batches_done"] - marks["first_batch"],
            "tail": scanned - marks["batches_done"],
        },
        "wall_s": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "stage_wall_s": seconds,
        "stage_cpu_s": cpu_seconds,
        "documents": result.stats.documents,
        "blocks": result.stats.blocks,
        "near_blocks": result.stats.near_blocks,
        "candidate_pairs": result.stats.candidate_pairs,
        "verified_pairs": result.stats.verified_pairs,
        "bands": result.stats.bands,
        "rows": result.stats.rows,
    }


def run_dedup(corpus: Path, threshold: float, cores: int, out: Path) -> dict[str, Any]:
    """A scan in a fresh process limited to ``cores`` CPUs."""
    env = dict(os.environ)
    for name in THREAD_VARIABLES:
        env[name] = str(cores)
    code = (
        "import json, os, sys; from pathlib import Path; "
        f"os.sched_setaffinity(0, set(range({cores}))); "
        "from benchmarks.run import child_scan; "
        f"print(json.dumps(child_scan(Path({str(corpus)!r}), {threshold}, Path({str(out)!r}))))"
    )
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    measured["process_wall_s"] = time.perf_counter() - started
    mb = corpus.stat().st_size / 1e6
    measured["mb"] = mb
    measured["mb_per_s"] = mb / measured["wall_s"]
    measured["mb_per_cpu_s"] = mb / measured["cpu_s"]
    measured["blocks_per_s"] = measured["blocks"] / measured["wall_s"]
    return measured


def median_run(corpus: Path, threshold: float, cores: int, out: Path, repeat: int) -> dict[str, Any]:
    """``repeat`` scans; the one with the median wall time, with every run's wall time beside it."""
    runs = sorted((run_dedup(corpus, threshold, cores, out) for _ in range(repeat)), key=lambda run: run["wall_s"])
    chosen = runs[len(runs) // 2]
    chosen["wall_s_runs"] = [run["wall_s"] for run in runs]
    return chosen


# ------------------------------------------------------------------ baselines


def sample_blocks(corpus: Path, sample_bytes: int) -> tuple[list[str], pl.DataFrame]:
    """Normalized non-short blocks of the first ``sample_bytes`` of the corpus, and their shingles."""
    import dedup
    from dedup import schema as S
    from dedup.fingerprint import shingle_plan
    from dedup.normalize import normalize_series
    from dedup.segment import segment

    lines = []
    size = 0
    with corpus.open(encoding="utf-8") as handle:
        for line in handle:
            lines.append(json.loads(line)["text"])
            size += len(line)
            if size >= sample_bytes:
                break
    options = dedup.ScanOptions()
    docs = pl.DataFrame({S.DOC_INDEX: np.arange(len(lines)), S.TEXT: lines})
    normalized = normalize_series(segment(docs, options.segment)[S.TEXT])
    units = shingle_plan(normalized, options.shingle).units
    kept = normalized.filter(pl.Series(units >= options.min_words)).unique(maintain_order=True)
    return lines, pl.DataFrame({"normalized": kept})


def word_shingles(text: str, n: int = 3) -> list[str]:
    words = text.split(" ")
    if len(words) < n:
        return [text]
    return [" ".join(words[k : k + n]) for k in range(len(words) - n + 1)]


def components(n: int, pairs: list[tuple[int, int]]) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not pairs:
        return np.arange(n)
    left, right = np.array(pairs).T
    graph = coo_matrix((np.ones(left.size), (left, right)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _per_block(cpu_s: float, blocks: int, banding: list[int], candidate_pairs: int | None = None) -> dict[str, Any]:
    """One baseline's measurement, in the same shape for every system."""
    return {
        "cpu_s": cpu_s,
        "blocks": blocks,
        "cpu_us_per_block": cpu_s / blocks * 1e6,
        "candidate_pairs": candidate_pairs,
        "banding": banding,
    }


def run_datasketch(texts: list[str], threshold: float, num_perm: int, bands: int, rows: int) -> dict[str, Any]:
    import xxhash
    from datasketch import MinHash, MinHashLSH

    cpu = time.process_time()
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    signatures = []
    for key, text in enumerate(texts):
        minhash = MinHash(num_perm=num_perm, hashfunc=xxhash.xxh32_intdigest)
        minhash.update_batch([s.encode("utf-8") for s in word_shingles(text)])
        lsh.insert(key, minhash)
        signatures.append(minhash)
    pairs = [(key, other) for key, m in enumerate(signatures) for other in lsh.query(m) if other > key]
    components(len(texts), pairs)
    return _per_block(time.process_time() - cpu, len(texts), [lsh.b, lsh.r], len(pairs))


def run_rensa(texts: list[str], threshold: float, num_perm: int, bands: int) -> dict[str, Any] | None:
    try:
        import rensa
    except ImportError:
        print("rensa is not installed: skipped (pip install rensa)", flush=True)
        return None
    cpu = time.process_time()
    minhashes = rensa.RMinHash.from_token_sets([word_shingles(t) for t in texts], num_perm, 1)
    lsh = rensa.RMinHashLSH(threshold, num_perm, bands)
    lsh.insert_many(minhashes)
    found = lsh.query_all(minhashes)
    pairs = [(key, other) for key, others in enumerate(found) for other in others if other > key]
    components(len(texts), pairs)
    return _per_block(time.process_time() - cpu, len(texts), [bands, num_perm // bands], len(pairs))


def run_dedup_stages(texts: list[str], threshold: float) -> dict[str, Any]:
    """dedup's fingerprint + LSH + verify + cluster on the same normalized blocks."""
    import dedup
    from dedup import candidates

    options = dedup.ScanOptions(lsh=dedup.LSHOptions(threshold=threshold))
    bands, rows = candidates.banding(options.lsh, options.minhash.num_perm)
    series = pl.Series(texts)
    _dedup_stages(series[:2000], options, bands, rows)  # load every compiled kernel before timing
    return _per_block(_dedup_stages(series, options, bands, rows), len(texts), [bands, rows])


def _dedup_stages(series: pl.Series, options: Any, bands: int, rows: int) -> float:
    from dedup import candidates, cluster, fingerprint

    cpu = time.process_time()
    # As in a scan: raw shingle hashes for MinHash; verification sorts only the blocks in candidate pairs.
    sets = fingerprint.shingle_hashes(series, options.shingle)
    keys = candidates.band_keys(fingerprint.signatures(sets, options.minhash), bands, rows)
    left, right = candidates.candidate_pairs(keys, np.arange(len(series)), options.lsh.max_bucket_pairs)
    jaccard, containment = cluster.similarities(sets, left, right)
    keep = cluster.accepted(jaccard, containment, options.lsh)
    cluster.components(len(series), left[keep], right[keep])
    return time.process_time() - cpu


# -------------------------------------------------------------------- quality


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
    from dedup.normalize import normalize_series

    blocks = pl.read_parquet(scan_dir / "blocks.parquet")
    long_blocks = blocks.filter(~pl.col(S.SHORT))
    sets = shingle_sets(normalize_series(long_blocks[S.TEXT]), dedup.ShingleOptions())
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


def s_curve(bands: int, rows: int) -> dict[str, float]:
    from dedup.candidates import candidate_probability

    return {f"{j:.2f}": round(float(candidate_probability(j, bands, rows)), 4) for j in np.arange(0.5, 1.0001, 0.05)}


# ---------------------------------------------------------------------- chart


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    speed = results["baselines"]
    names = [n for n in ("dedup", "rensa", "datasketch") if speed.get(n)]
    per_block = [speed[n]["cpu_us_per_block"] for n in names]
    left.barh(names, per_block, color=["#2b7", "#e93", "#69c"][: len(names)])
    left.set_xscale("log")
    left.set_xlabel("CPU µs per block (log scale): MinHash + LSH + clusters")
    for y, value in enumerate(per_block):
        left.text(value, y, f" {value:,.1f}", va="center")
    stages = results["dedup"]["two_cores"]["stage_cpu_s"]
    order = sorted(stages, key=stages.get, reverse=True)
    right.barh(order, [stages[s] for s in order], color="#2b7")
    right.invert_yaxis()
    right.set_xlabel(f"CPU seconds per stage, dedup on {results['corpus']['mb']:.0f} MB")
    figure.suptitle(
        f"dedup {results['dedup']['two_cores']['mb_per_s']:.1f} MB/s wall on 2 cores; "
        f"near-pair recall {results['quality']['near_recall']:.3f}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)


# ----------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=parse_size, default=parse_size("100MB"), help="main corpus size")
    parser.add_argument("--large", type=parse_size, default=None, help="a larger corpus for memory and scaling")
    parser.add_argument("--sample", type=parse_size, default=parse_size("10MB"), help="bytes for the baselines")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="scans per measurement; the median is reported")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    corpus = corpus_path(args.size, args.seed)
    results: dict[str, Any] = {
        "command": " ".join(["python", "benchmarks/run.py", *sys.argv[1:]]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "corpus": {"file": corpus.name, "mb": corpus.stat().st_size / 1e6, "threshold": args.threshold},
        "dedup": {},
    }
    with tempfile.TemporaryDirectory(prefix="dedup-bench-") as scratch:
        scan_dir = Path(scratch) / "scan"
        print("dedup, 2 cores …", flush=True)
        results["dedup"]["two_cores"] = median_run(corpus, args.threshold, 2, scan_dir, args.repeat)
        print("dedup, 1 core …", flush=True)
        results["dedup"]["one_core"] = median_run(corpus, args.threshold, 1, Path(scratch) / "one", args.repeat)
        two, one = results["dedup"]["two_cores"], results["dedup"]["one_core"]
        results["dedup"]["speedup_two_cores"] = one["wall_s"] / two["wall_s"]
        results["dedup"]["speedup_two_cores_by_phase"] = {
            phase: one["phases_wall_s"][phase] / two["phases_wall_s"][phase] for phase in two["phases_wall_s"]
        }
        bands, rows = two["bands"], two["rows"]
        results["s_curve"] = {"bands": bands, "rows": rows, "p_candidate": s_curve(bands, rows)}
        print("quality …", flush=True)
        results["quality"] = quality(scan_dir, args.threshold, args.queries, args.seed)
        if args.large:
            large = corpus_path(args.large, args.seed)
            print(f"dedup on {large.name} …", flush=True)
            big = median_run(large, args.threshold, 2, Path(scratch) / "large", args.repeat)
            results["dedup"]["large"] = big
            print(f"dedup on {large.name}, 1 core …", flush=True)
            big_one = median_run(large, args.threshold, 1, Path(scratch) / "large-one", args.repeat)
            results["dedup"]["large_one_core"] = big_one
            results["dedup"]["speedup_two_cores_large"] = big_one["wall_s"] / big["wall_s"]
            results["dedup"]["time_ratio_large"] = big["wall_s"] / two["wall_s"]
            results["dedup"]["size_ratio_large"] = big["mb"] / two["mb"]
            results["dedup"]["rss_bytes_per_block"] = (
                (big["peak_rss_mb"] - two["peak_rss_mb"]) * 2**20 / (big["blocks"] - two["blocks"])
            )

    print("baselines on the sample …", flush=True)
    _, sample = sample_blocks(corpus, args.sample)
    texts = sample["normalized"].to_list()
    baselines = {"sample_blocks": len(texts), "dedup": run_dedup_stages(texts, args.threshold)}
    baselines["rensa"] = run_rensa(texts, args.threshold, 128, bands)
    baselines["datasketch"] = run_datasketch(texts, args.threshold, 128, bands, rows)
    ours = baselines["dedup"]["cpu_us_per_block"]
    baselines["datasketch_over_dedup"] = baselines["datasketch"]["cpu_us_per_block"] / ours
    if baselines["rensa"]:
        baselines["rensa_over_dedup"] = baselines["rensa"]["cpu_us_per_block"] / ours
    results["baselines"] = baselines

    args.out.mkdir(parents=True, exist_ok=True)
    stem = corpus.stem
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    chart(results, args.out / f"{stem}.png")
    print(json.dumps(results, indent=2))
    print(f"wrote {args.out / (stem + '.json')} and {stem}.png")


if __name__ == "__main__":
    main()
