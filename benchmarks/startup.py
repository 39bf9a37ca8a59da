"""Start-up time of the ``dedup`` command: the median wall-clock time of ``dedup --help`` over several runs.

A pre-commit hook starts ``dedup`` on every commit, so what it imports before doing anything counts.
Give source trees to compare (each is put first on ``sys.path``), e.g. this checkout and an older one
made with ``git archive <commit> | tar -x -C /tmp/old``::

    python benchmarks/startup.py . /tmp/old --runs 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HELP = "import sys; sys.argv = ['dedup', '--help']; from dedup.cli import main; main()"


def help_seconds(tree: Path, runs: int) -> list[float]:
    """Wall-clock seconds of each of ``runs`` runs of ``dedup --help`` from the source tree ``tree``.

    ``-P``: the working folder, which may hold another checkout, is not put on ``sys.path`` before ``tree``.
    """
    env = {**os.environ, "PYTHONPATH": str(tree.resolve())}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-P", "-c", HELP], env=env, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+", type=Path, help="source trees holding the dedup package")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    for tree in args.trees:
        times = help_seconds(tree, args.runs)
        print(f"{tree}: median {statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f})")


if __name__ == "__main__":
    main()
