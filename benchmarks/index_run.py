"""Benchmark the index of earlier crawls: adds, lookups as the index grows, bytes on disk.

    python benchmarks/index_run.py --profile crawl --shard 100MB --adds 10 --out benchmarks/results/

One crawl-like corpus is cut into ``adds + 1`` shards of ``--shard`` characters, in read order, so that
later shards re-crawl what earlier ones hold (families of versions span shards). Each shard is added
to one index in turn (``dedup index add``, the CLI in a fresh process pinned to two CPUs); then the
last shard is scanned against the index after 1, 2, … ``adds`` adds (``dedup scan --index``) and on its
own (``dedup scan``). Measured: wall and CPU seconds and peak RSS of each run, bytes on disk per indexed
block after each add (beside datatrove's ~900 bytes per document), and the ratio of adding a shard to
an index that holds ``adds`` shards against scanning that shard alone (target: at most 1.5).

Results go to ``<out>/index-<profile>-<shard>x<adds>.json`` and a chart beside it.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.corpus import documents_of, parse_size, size_label  # noqa: E402
from benchmarks.scans import Guard, dedup_command, first_cpus, run_child  # noqa: E402

DATATROVE_BYTES_PER_DOCUMENT = 900  # datatrove's MinHash index, as its issue tracker reports


def write_shards(profile: str, shard_chars: int, shards: int, seed: int, folder: Path) -> list[Path]:
    """One corpus cut into shards of about ``shard_chars`` characters each, in read order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"shard-{number:02d}.jsonl" for number in range(shards)]
    handles = [path.open("w", encoding="utf-8") for path in paths]
    number = size = 0
    try:
        for count, document in enumerate(documents_of(profile, shard_chars * shards, seed)):
            shard = min(size // shard_chars, shards - 1)
            handles[shard].write(json.dumps({"id": f"doc-{count:08d}", "text": document.text}) + "\n")
            size += len(document.text)
            number += 1
    finally:
        for handle in handles:
            handle.close()
    return paths


def measured(command: list[str], cpus: set[int]) -> dict[str, Any]:
    finished = run_child(command, cpus, Guard(timeout_s=3600))
    if finished.exit_code != 0:
        raise SystemExit(f"{' '.join(command)} failed ({finished.exit_code}):\n{finished.stderr[-2000:]}")
    return {
        "wall_s": round(finished.wall_s, 3),
        "cpu_s": round(finished.user_s + finished.sys_s, 3),
        "peak_rss_mib": round(finished.peak_rss_bytes / 2**20, 1),
    }


def on_disk(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="crawl", choices=["crawl", "light"])
    parser.add_argument("--shard", type=parse_size, default=parse_size("100MB"))
    parser.add_argument("--adds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    cpus = first_cpus(2)
    with tempfile.TemporaryDirectory(prefix="dedup-index-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        shards = write_shards(args.profile, args.shard, args.adds + 1, args.seed, scratch / "shards")
        index = scratch / "index"
        results: dict[str, Any] = {
            "command": " ".join(["python", "benchmarks/index_run.py", *sys.argv[1:]]),
            "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": sorted(cpus)},
            "shard_mb": [round(path.stat().st_size / 1e6, 1) for path in shards],
            "adds": [],
            "lookups": [],
        }
        last = shards[-1]
        alone = measured([*dedup_command(), "scan", str(last), "--out", str(scratch / "alone"), "-q"], cpus)
        results["scan_alone"] = alone
        print(f"scan of the last shard alone: {alone}", flush=True)
        for number, shard in enumerate(shards[:-1], start=1):
            added = measured([*dedup_command(), "index", "add", str(index), str(shard), "-q"], cpus)
            info = json.loads(
                run_child([*dedup_command(), "index", "info", str(index), "--json"], cpus, Guard(600)).stdout
            )
            documents = info["documents"]
            row = {
                "adds": number,
                **added,
                "index_blocks": info["blocks"],
                "bytes_on_disk": info["bytes_on_disk"],
                "bytes_per_block": info["bytes_per_block"],
                "bytes_per_document": round(info["bytes_on_disk"] / documents, 1),
            }
            results["adds"].append(row)
            lookup_out = scratch / f"lookup-{number}"
            lookup = measured(
                [*dedup_command(), "scan", str(last), "--index", str(index), "--out", str(lookup_out), "-q"], cpus
            )
            results["lookups"].append({"adds": number, **lookup})
            shutil.rmtree(lookup_out)
            print(f"after {number} adds: add {added}, lookup {lookup}, {row['bytes_per_block']} B/block", flush=True)
        final = measured(
            [*dedup_command(), "index", "add", str(index), str(last), "-q", "--name", "the last shard"], cpus
        )
        results["add_to_full_index"] = final
        results["add_over_scan_alone"] = round(final["wall_s"] / alone["wall_s"], 3)
        results["datatrove_bytes_per_document"] = DATATROVE_BYTES_PER_DOCUMENT
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"index-{args.profile}-{size_label(args.shard)}x{args.adds}"
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    chart(results, args.out / f"{stem}.png")
    print(json.dumps(results, indent=2))


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    adds = [row["adds"] for row in results["lookups"]]
    left.plot(adds, [row["wall_s"] for row in results["lookups"]], marker="o", label="scan --index (last shard)")
    left.axhline(results["scan_alone"]["wall_s"], color="grey", linestyle="--", label="scan of the shard alone")
    left.set_xlabel("adds in the index")
    left.set_ylabel("wall seconds")
    left.legend()
    right.plot(adds, [row["peak_rss_mib"] for row in results["lookups"]], marker="o", label="scan --index")
    right.plot(adds, [row["peak_rss_mib"] for row in results["adds"]], marker="s", label="index add")
    right.set_xlabel("adds in the index")
    right.set_ylabel("peak RSS, MiB")
    right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
