"""Benchmark the Spark engine against the local engine on the same crawl-like corpus (issue #17).

    python benchmarks/spark_run.py --size 100MB --partitions 1,4,16 --out benchmarks/results/

Each run is a fresh process (a Spark session's master is fixed for its process):

1. the local engine, ``dedup.scan(corpus, out=...)``: wall seconds and wall seconds per stage;
2. Spark ``local[1]`` and ``local[2]``, ``dedup.spark.scan_files(corpus, out=..., master=...)``, which
   writes the same Parquet files: the start-up (session and a first job, which a cluster pays once) apart,
   then wall seconds per stage (``read``, ``fingerprint``, ``distinct``, ``candidates``, ``verify``,
   ``cluster``, ``write``: the actions that end each stage run its work there);
3. ``local[2]`` again with every partition count asked for: how the time changes with partitions, and the
   cost of one partition of the per-batch stage (its seconds × cores / partitions).

The corpus is ``benchmarks/corpus.py``'s crawl profile, generated once into benchmarks/corpora/. The
results go to ``<out>/spark-<size>-seed<seed>.json``; speed is reported, never asserted.

    python benchmarks/spark_run.py --floor

measures Spark's fixed cost instead: in one fresh ``local[2]`` process, the start-up, then ``scan_files`` of the
three seed pages twice (the first scan of a session, then one with its Python workers and JVM warm), into
``<out>/spark-floor.json``. No scan of a corpus can take less than its first figure, beyond start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.corpus import corpus_name, documents_of, parse_size, size_label, write_corpus  # noqa: E402

CORPORA = ROOT / "benchmarks" / "corpora"
DRIVER_MEMORY = "4g"  # local mode: the executors live in the driver's JVM


def corpus_path(size: int, seed: int) -> Path:
    path = CORPORA / corpus_name("crawl", size, seed)
    if not path.exists():
        write_corpus(documents_of("crawl", size, seed), path, {"profile": "crawl", "size": size_label(size)})
    return path


def run_local(corpus: Path) -> dict[str, Any]:
    """The local engine's scan, in this (fresh) process."""
    import dedup

    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        result = dedup.scan([corpus], out=out)
        wall = time.perf_counter() - started
        return {"wall_s": wall, "stages_s": result.stats.seconds, "blocks": result.stats.blocks}


def run_spark(corpus: Path, master: str, partitions: int | None) -> dict[str, Any]:
    """A Spark scan writing the same files, in this (fresh) process; the start-up timed apart."""
    from pyspark.sql import SparkSession

    import dedup.spark

    started = time.perf_counter()
    builder = SparkSession.builder.master(master).config("spark.driver.memory", DRIVER_MEMORY)
    spark = builder.config("spark.ui.showConsoleProgress", "false").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    spark.range(1).count()
    startup = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        result = dedup.spark.scan_files([corpus], out=out, master=master, partitions=partitions)
        wall = time.perf_counter() - started
    spark.stop()
    return {
        "startup_s": startup,
        "wall_s": wall,
        "stages_s": result.stats.seconds,
        "blocks": result.stats.blocks,
        "partitions": partitions,
    }


def run_floor(master: str) -> dict[str, Any]:
    """The seeds scanned twice in one session (fresh, then warm), in this (fresh) process; the start-up apart."""
    from pyspark.sql import SparkSession

    import dedup.spark

    started = time.perf_counter()
    builder = SparkSession.builder.master(master).config("spark.driver.memory", DRIVER_MEMORY)
    spark = builder.config("spark.ui.showConsoleProgress", "false").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    spark.range(1).count()
    found: dict[str, Any] = {"startup_s": time.perf_counter() - started}
    for run in ("first_scan", "warm_scan"):
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            result = dedup.spark.scan_files([ROOT / "seeds"], out=out, master=master)
            found[run] = {"wall_s": time.perf_counter() - started, "stages_s": result.stats.seconds}
    spark.stop()
    return found


def child(arguments: list[str]) -> dict[str, Any]:
    """One run in a fresh process, its JSON line back."""
    # As a module from the checkout: run as a script, benchmarks/ would come first on the path, and its
    # profile.py would hide the standard library's, which PySpark imports.
    command = [sys.executable, "-m", "benchmarks.spark_run", "--child", *arguments]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        return {"failed": done.returncode, "stderr": done.stderr[-2000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="100MB")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--partitions", default="1,4,16", help="partition counts for local[2]")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--floor", action="store_true", help="only Spark's fixed cost: the seeds, scanned twice")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        engine, corpus, *rest = args.child
        if engine == "floor":
            found = run_floor(corpus)
        elif engine == "local":
            found = run_local(Path(corpus))
        else:
            found = run_spark(Path(corpus), engine, int(rest[0]) if rest and rest[0] != "-" else None)
        print(json.dumps(found))
        return
    if args.floor:
        floor = {"machine": {"cpus": os.cpu_count(), "load": os.getloadavg()}, **child(["floor", "local[2]"])}
        floor["machine"]["load_after"] = os.getloadavg()
        args.out.mkdir(parents=True, exist_ok=True)
        target = args.out / "spark-floor.json"
        target.write_text(json.dumps(floor, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(floor), f"\nwrote {target}", sep="")
        return
    size = parse_size(args.size)
    corpus = corpus_path(size, args.seed)
    mb = corpus.stat().st_size / 1e6
    results: dict[str, Any] = {
        "corpus": corpus.name,
        "corpus_mb": mb,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
        "runs": {},
    }
    runs = [("local", ["local", str(corpus)])]
    runs += [("spark local[1]", ["local[1]", str(corpus), "-"]), ("spark local[2]", ["local[2]", str(corpus), "-"])]
    runs += [(f"spark local[2] p={p}", ["local[2]", str(corpus), p]) for p in args.partitions.split(",")]
    for name, arguments in runs:
        print(f"{name} ...", flush=True)
        results["runs"][name] = found = child(arguments)
        print(json.dumps(found), flush=True)
    local_wall = results["runs"]["local"].get("wall_s")
    spark_wall = results["runs"]["spark local[2]"].get("wall_s")
    if local_wall and spark_wall:
        results["spark_local2_over_local"] = spark_wall / local_wall
    results["machine"]["load_after"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / f"spark-{size_label(size)}-seed{args.seed}.json"
    target.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
