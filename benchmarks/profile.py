"""Profile of the hot path: each batch stage alone, on one thread, in ns per byte of document text.

    python benchmarks/profile.py --profile light --size 100MB --docs 20000 --out benchmarks/results/

The first ``--docs`` documents of the corpus are one batch; every stage runs three times on it (after
a run that loads the kernels) and the fastest is reported. Reading is timed over the whole corpus file.
Writes ``<out>/profile-<corpus>.json`` and prints the table that ``benchmarks/README.md`` shows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("POLARS_MAX_THREADS", "1")  # one thread, like a batch worker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from benchmarks.corpus import PROFILES, parse_size  # noqa: E402
from benchmarks.run import corpus_path  # noqa: E402


def fastest(stage: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """The best of ``repeat`` timed runs after one untimed run, and the stage's result."""
    result = stage()
    best = min(_timed(stage) for _ in range(repeat))
    return best, result


def _timed(stage: Callable[[], Any]) -> float:
    started = time.perf_counter()
    stage()
    return time.perf_counter() - started


def read_seconds(corpus: Path) -> float:
    import dedup
    from dedup import sources

    started = time.process_time()
    stats = sources.ReadStats()
    for _ in sources.batches(sources.read_runs([corpus], dedup.ReadOptions(), stats), 8_000_000):
        pass
    return time.process_time() - started


def profile(corpus: Path, n_docs: int) -> dict[str, Any]:
    import dedup
    from dedup import candidates, fingerprint
    from dedup import schema as S
    from dedup.normalize import near_form, normalize_texts
    from dedup.segment import segment_with_texts

    with corpus.open(encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for _, line in zip(range(n_docs), handle, strict=False)]
    batch = pl.DataFrame({S.DOC_KEY: np.arange(len(texts)), S.TEXT: texts})
    text_bytes = int(batch[S.TEXT].str.len_bytes().sum())
    options = dedup.ScanOptions(lsh=dedup.LSHOptions(threshold=0.8))
    bands, rows = candidates.banding(options.lsh, options.minhash.num_perm)

    seconds: dict[str, float] = {}
    seconds["segment"], (blocks, block_texts) = fastest(lambda: segment_with_texts(batch, options.segment))
    seconds["normalize"], normalized = fastest(lambda: normalize_texts(block_texts))
    seconds["near form"], near = fastest(lambda: near_form(normalized))
    seconds["shingle counts"], plan = fastest(lambda: fingerprint.shingle_plan(near, options.shingle))
    seconds["exact keys"], _ = fastest(lambda: fingerprint.exact_keys(normalized))
    seconds["shingle hashes"], hashes = fastest(lambda: fingerprint.shingle_hashes(near, options.shingle, plan))
    seconds["MinHash"], signatures = fastest(lambda: fingerprint.signatures(hashes, options.minhash))
    seconds["band keys"], _ = fastest(lambda: candidates.band_keys(signatures, bands, rows))
    seconds["read (JSON lines to batches)"] = read_seconds(corpus) * text_bytes / corpus.stat().st_size
    return {
        "command": " ".join(["python", "benchmarks/profile.py", *sys.argv[1:]]),
        "corpus": corpus.name,
        "documents": len(texts),
        "text_bytes": text_bytes,
        "blocks": blocks.height,
        "shingles": int(hashes.values.size),
        "ns_per_byte": {stage: s / text_bytes * 1e9 for stage, s in seconds.items()},
        "ns_per_shingle": seconds["shingle hashes"] / hashes.values.size * 1e9,
        "ns_per_shingle_and_permutation": seconds["MinHash"] / hashes.values.size / options.minhash.num_perm * 1e9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=PROFILES, default="light")
    parser.add_argument("--size", type=parse_size, default=parse_size("100MB"), help="corpus size")
    parser.add_argument("--docs", type=int, default=20_000, help="documents in the profiled batch")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    corpus = corpus_path(args.profile, args.size, args.seed)
    measured = profile(corpus, args.docs)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"profile-{corpus.stem}.json").write_text(json.dumps(measured, indent=2) + "\n")
    print(f"{measured['documents']:,} documents, {measured['text_bytes'] / 1e6:.1f} MB of text, ", end="")
    print(f"{measured['blocks']:,} blocks, {measured['shingles']:,} shingles")
    print("| stage | ns per byte |\n|---|---|")
    for stage, ns in measured["ns_per_byte"].items():
        print(f"| {stage} | {ns:.2f} |")
    print(f"shingle hashes: {measured['ns_per_shingle']:.1f} ns per shingle; ", end="")
    print(f"MinHash: {measured['ns_per_shingle_and_permutation']:.2f} ns per shingle and permutation")


if __name__ == "__main__":
    main()
