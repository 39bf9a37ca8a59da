"""Benchmark dedup on both corpus profiles, and against rensa and datasketch, for speed, memory and quality.

    python benchmarks/run.py --profiles light,crawl --sizes 100MB,400MB,1.2GB,4GB --out benchmarks/results/

What it measures, with threshold 0.8, word 3-grams and 128 permutations, on corpora from
``benchmarks/corpus.py`` (generated once, kept in benchmarks/corpora/ with their truth):

1. ``dedup scan CORPUS --out DIR`` as a user runs it: the console script in a fresh process, start-up
   included, pinned to 2 CPUs and to 1 (the child's affinity), ``--repeat`` runs each; the median of
   wall seconds, MB/s, CPU seconds (user + system of the child, from ``os.wait4``), CPU µs per block,
   peak RSS (the child's own ``VmHWM``, see ``scans.run_child``) and peak RSS bytes per block.
2. In another fresh process per profile, size and CPU count, the library (``dedup.scan(..., out=...)``)
   with a progress hook: wall time and RSS per stage (VmRSS sampled in the hook and every 20 ms by a
   thread), and the scan's own wall and CPU seconds per stage.
3. On the ``--baseline-size`` corpus of each profile, rensa (``RMinHash.from_token_sets``,
   ``RMinHashLSH.insert_many``, ``query_all``) and datasketch (``MinHash.bulk``, ``MinHashLSH``), both
   with dedup's bands x rows, given the distinct normalized non-short blocks (dedup's segmentation and
   normalization, untimed): CPU seconds of their shingling, MinHash, LSH and connected components,
   against the CPU seconds of dedup's whole scan from step 1 (JSON in, Parquet out), and against
   dedup's own fingerprint + LSH + verification + clusters on the same blocks.
4. Quality on the same corpus: 2,000 query blocks against exact Jaccard over all blocks (recall of near
   and identical pairs, precision of verified pairs), and the truth's copies found in their source's
   cluster, by kind.

Everything goes to ``<out>/<profiles>-<sizes>-seed<seed>.json`` and a chart beside it. Speed is
reported, never asserted: machines are noisy. A scan that fails (killed for memory, say) is recorded
with its exit status and peak RSS, and the run goes on.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.baselines import NUM_PERM, baselines  # noqa: E402
from benchmarks.corpus import (  # noqa: E402
    PROFILES,
    corpus_name,
    documents_of,
    parse_size,
    read_truth_summary,
    size_label,
    write_corpus,
)
from benchmarks.quality import members_below_floor, quality, s_curve, truth_recall  # noqa: E402
from benchmarks.scans import Guard, measure_cli, measure_stages  # noqa: E402

CORPORA = ROOT / "benchmarks" / "corpora"


def corpus_path(profile: str, size: int, seed: int) -> Path:
    """The corpus file of this profile and size, generated with its truth on first use."""
    path = CORPORA / corpus_name(profile, size, seed)
    if not path.exists():
        started = time.perf_counter()
        write_corpus(documents_of(profile, size, seed), path, {"profile": profile, "size": size_label(size)})
        print(f"generated {path.name} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


# --------------------------------------------------------------------- ratios


def ratios(cli: dict[str, dict[str, dict[str, Any]]], sizes: list[str], cores: list[int]) -> dict[str, Any]:
    """What the targets are stated in: scaling with size, crawl against light, two cores against one.

    A ratio is left out where a scan it needs failed or was not run.
    """

    def value(profile: str, size: str, n: int, name: str) -> float:
        found = cli.get(profile, {}).get(size, {}).get(str(n), {}).get(name)
        return math.nan if found is None else float(found)

    scaling: dict[str, Any] = {}
    for profile in cli:
        for small, large in combinations(sizes, 2):  # sizes are sorted: every pair, small to large
            entry = {
                f"time_ratio_{n}_cores": value(profile, large, n, "wall_s") / value(profile, small, n, "wall_s")
                for n in cores
            }
            blocks = value(profile, large, cores[0], "blocks"), value(profile, small, cores[0], "blocks")
            rss = value(profile, large, cores[0], "peak_rss_mib"), value(profile, small, cores[0], "peak_rss_mib")
            entry["size_ratio"] = parse_size(large) / parse_size(small)
            entry["blocks_ratio"] = blocks[0] / blocks[1]
            entry["rss_bytes_per_extra_block"] = (rss[0] - rss[1]) * 2**20 / (blocks[0] - blocks[1])
            scaling.setdefault(profile, {})[f"{small}->{large}"] = known(entry)
    crawl_share = {
        size: known(
            {f"{n}_cores": value("crawl", size, n, "mb_per_s") / value("light", size, n, "mb_per_s") for n in cores}
        )
        for size in sizes
    }
    speedup = {
        profile: known({size: value(profile, size, 1, "wall_s") / value(profile, size, 2, "wall_s") for size in sizes})
        for profile in cli
    }
    return {"scaling": scaling, "crawl_mb_per_s_share_of_light": crawl_share, "two_core_speedup": speedup}


def known(values: dict[str, float]) -> dict[str, float]:
    """The values that could be computed (NaN: a measure missing)."""
    return {name: number for name, number in values.items() if not math.isnan(number)}


# ---------------------------------------------------------------------- chart


PROFILE_COLOURS = {"light": "#69c", "crawl": "#e93"}
SYSTEM_COLOURS = {"dedup scan": "#2b7", "rensa": "#e93", "datasketch": "#69c"}


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ((speed, memory), (cpu, timeline)) = plt.subplots(2, 2, figsize=(13, 9))
    sizes = results["settings"]["sizes"]
    for profile, by_size in results["cli"].items():
        colour = PROFILE_COLOURS.get(profile)
        for n, style in (("2", "-"), ("1", "--")):
            points = [(s, by_size[s][n]) for s in sizes if n in by_size.get(s, {}) and "error" not in by_size[s][n]]
            if points:
                labels = [s for s, _ in points]
                speed.plot(
                    labels,
                    [r["mb_per_s"] for _, r in points],
                    style,
                    marker="o",
                    color=colour,
                    label=f"{profile}, {n} core{'s' if n == '2' else ''}",
                )
                if n == "2":
                    memory.plot(labels, [r["peak_rss_mib"] for _, r in points], marker="o", color=colour, label=profile)
    speed.set_ylabel("MB/s, dedup scan --out (median)")
    speed.legend()
    memory.set_ylabel("peak RSS, MiB (2 cores)")
    memory.legend()

    names: list[str] = []
    values: list[float] = []
    colours: list[str] = []
    for profile, measured in results.get("baselines", {}).items():
        for system, cpu_s in (
            ("dedup scan", measured.get("dedup_scan_cpu_s")),
            ("rensa", (measured.get("rensa") or {}).get("cpu_s")),
            ("datasketch", (measured.get("datasketch") or {}).get("cpu_s")),
        ):
            if cpu_s:
                names.append(f"{profile}: {system}")
                values.append(cpu_s)
                colours.append(SYSTEM_COLOURS[system])
    cpu.barh(names, values, color=colours)
    cpu.invert_yaxis()
    cpu.set_xscale("log")
    cpu.set_xlabel("CPU seconds (log): dedup's whole scan against the others' MinHash + LSH + clusters")
    for y, value in enumerate(values):
        cpu.text(value, y, f" {value:,.1f}", va="center")

    for profile, by_size in results.get("stages", {}).items():
        largest = next((s for s in reversed(sizes) if "rss_timeline" in by_size.get(s, {}).get("2", {})), None)
        if largest:
            stages = by_size[largest]["2"]
            points = stages["rss_timeline"]
            colour = PROFILE_COLOURS.get(profile)
            timeline.plot([t for t, _ in points], [m for _, m in points], color=colour, label=f"{profile} {largest}")
            for phase, start in stages["phase_starts_s"].items():
                timeline.axvline(start, color=colour, linestyle=":", linewidth=0.8)
                timeline.text(start, 0, f" {phase}", rotation=90, va="bottom", fontsize=7, color=colour)
    timeline.set_xlabel("seconds (library scan, 2 cores); dotted: phases")
    timeline.set_ylabel("VmRSS, MiB")
    timeline.legend()
    figure.suptitle(f"dedup on {', '.join(results['cli'])} corpora: {', '.join(sizes)}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


# ----------------------------------------------------------------------- main


def parse_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=parse_list, default=list(PROFILES), help="light,crawl")
    parser.add_argument("--sizes", type=parse_list, default=["100MB"], help="corpus sizes, e.g. 100MB,400MB,4GB")
    parser.add_argument("--cores", type=parse_list, default=["2", "1"], help="CPU counts to pin the scans to")
    parser.add_argument("--repeat", type=int, default=3, help="CLI scans per measurement; medians are reported")
    parser.add_argument("--baseline-size", default=None, help="the size rensa, datasketch and quality run on")
    parser.add_argument("--datasketch-blocks", type=int, default=200_000, help="at most this many for datasketch")
    parser.add_argument("--no-stages", action="store_true", help="skip the per-stage library runs")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds before a scan is killed")
    parser.add_argument(
        "--memory-limit", type=parse_size, default=None, help="RLIMIT_DATA of every scan, e.g. 20GB (none by default)"
    )
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    unknown = set(args.profiles) - set(PROFILES)
    if unknown:
        parser.error(f"--profiles: unknown {', '.join(sorted(unknown))}; choose from {', '.join(PROFILES)}")
    args.sizes = [size_label(parse_size(size)) for size in args.sizes]
    args.sizes.sort(key=parse_size)
    args.cores = sorted({int(n) for n in args.cores}, reverse=True)
    args.baseline_size = size_label(parse_size(args.baseline_size)) if args.baseline_size else args.sizes[0]
    if args.baseline_size not in args.sizes:
        parser.error(f"--baseline-size {args.baseline_size} must be one of --sizes ({', '.join(args.sizes)})")
    return args


def main() -> None:
    from dedup.options import LSHOptions

    args = arguments()
    guard = Guard(timeout_s=args.timeout, data_limit_bytes=args.memory_limit)
    corpora = {p: {s: corpus_path(p, parse_size(s), args.seed) for s in args.sizes} for p in args.profiles}
    results: dict[str, Any] = {
        "command": " ".join(["python", "benchmarks/run.py", *sys.argv[1:]]),
        "machine": {
            "cpus": os.cpu_count(),
            "usable_cpus": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {
            "sizes": args.sizes,
            "profiles": args.profiles,
            "cores": args.cores,
            "repeat": args.repeat,
            "threshold": args.threshold,
            "seed": args.seed,
            "baseline_size": args.baseline_size,
            "timeout_s": args.timeout,
            "memory_limit_bytes": args.memory_limit,
        },
        "corpora": {
            p: {
                s: {"file": path.name, "mb": path.stat().st_size / 1e6, **read_truth_summary(path)}
                for s, path in by_size.items()
            }
            for p, by_size in corpora.items()
        },
        "cli": {},
        "stages": {},
        "baselines": {},
        "quality": {},
    }
    with tempfile.TemporaryDirectory(prefix="dedup-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        for profile, by_size in corpora.items():
            for size, corpus in by_size.items():
                for cores in args.cores:
                    print(f"{profile} {size}: dedup scan, {cores} core(s) × {args.repeat} …", flush=True)
                    measured = measure_cli(corpus, scratch, args.threshold, cores, args.repeat, guard)
                    results["cli"].setdefault(profile, {}).setdefault(size, {})[str(cores)] = measured
                    print(f"  {summary_line(measured)}", flush=True)
                    if size == args.baseline_size and cores == args.cores[0] and "error" not in measured:
                        print(f"{profile} {size}: quality …", flush=True)
                        results["quality"][profile] = {
                            **quality(scratch / f"cli-{cores}", args.threshold, args.queries, args.seed),
                            "truth_recall": truth_recall(scratch / f"cli-{cores}", corpus),
                            "members": members_below_floor(
                                scratch / f"cli-{cores}", args.threshold, LSHOptions().containment
                            ),
                            "dup_fraction_found": measured["dup_fraction"],
                            "dup_share_truth": results["corpora"][profile][size]["duplicated_share"],
                        }
                    if not args.no_stages:
                        print(f"{profile} {size}: stages, {cores} core(s) …", flush=True)
                        stages = measure_stages(corpus, scratch, args.threshold, cores, guard)
                        results["stages"].setdefault(profile, {}).setdefault(size, {})[str(cores)] = stages
            print(f"{profile} {args.baseline_size}: baselines …", flush=True)
            dedup_scan = results["cli"][profile][args.baseline_size][str(args.cores[0])]
            results["baselines"][profile] = baselines(
                by_size[args.baseline_size], dedup_scan, args.threshold, args.datasketch_blocks
            )

    results["ratios"] = ratios(results["cli"], args.sizes, args.cores)
    from dedup import candidates

    bands, rows = candidates.banding(LSHOptions(threshold=args.threshold), NUM_PERM)
    results["s_curve"] = {"bands": bands, "rows": rows, "p_candidate": s_curve(bands, rows)}

    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{'-'.join(args.profiles)}-{'-'.join(args.sizes)}-seed{args.seed}"
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    chart(results, args.out / f"{stem}.png")
    print(json.dumps({k: results[k] for k in ("ratios", "baselines", "quality")}, indent=2))
    print(f"wrote {args.out / (stem + '.json')} and {stem}.png")


def summary_line(measured: dict[str, Any]) -> str:
    if "error" in measured:
        return f"failed: {measured['error']} after {measured['wall_s']:.1f} s, {measured['peak_rss_mib']:,.0f} MiB"
    return (
        f"{measured['wall_s']:.2f} s, {measured['mb_per_s']:.1f} MB/s, CPU {measured['cpu_s']:.2f} s "
        f"({measured['cpu_us_per_block']:.1f} µs a block), peak RSS {measured['peak_rss_mib']:,.0f} MiB "
        f"({measured['peak_rss_bytes_per_block']:,.0f} bytes a block)"
    )


if __name__ == "__main__":
    main()
