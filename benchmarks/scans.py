"""dedup scans in child processes, measured: the CLI as a user runs it, and the library stage by stage.

Every scan runs in a fresh process pinned to the CPUs asked for; its CPU time and peak RSS come from
``wait4`` on that one process. Used by ``benchmarks/run.py``.
"""

from __future__ import annotations

import compileall
import contextlib
import functools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RSS_SAMPLE_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class Finished:
    """A child process that ran to its end, or not: how long, how much CPU and memory."""

    exit_code: int  # negative: killed by that signal
    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_bytes: int
    stdout: str
    stderr: str


@dataclass(frozen=True, slots=True)
class Guard:
    """What keeps a child from taking the machine down: a time limit, and optionally its ``RLIMIT_DATA``.

    ``RLIMIT_DATA`` caps the private writable memory the child maps; a scan's need of it is about
    twice its peak RSS (the allocators map ahead), so a limit fails a scan before the kernel's OOM
    killer picks a victim on a shared machine.
    """

    timeout_s: float | None = None
    data_limit_bytes: int | None = None


def run_child(command: list[str], cpus: set[int], guard: Guard, cwd: Path = ROOT) -> Finished:
    """Run ``command`` pinned to ``cpus``; its own CPU time, from ``wait4`` on its pid, and its peak RSS.

    ``wait4`` reports the one child it waited for, so runs never mix (``RUSAGE_CHILDREN`` sums the
    times and takes the largest peak of every child this process has waited for). Its ``ru_maxrss`` is
    no measure of the child's own memory, though: Linux carries the high-water mark of the address
    space a process had before ``exec`` into it, and a forked child's is this process's (a benchmark
    that generated a 4 GB corpus reported 4 GB for every scan after it). The peak is the child's own
    ``VmHWM`` instead (``/proc/PID/status``, its address space since ``exec``), read every 20 ms until
    it ends: a high-water mark, so only growth in its last 20 ms could be missed. Output goes to files:
    a pipe could fill and block.
    """

    def in_child() -> None:
        os.sched_setaffinity(0, cpus)
        if guard.data_limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_DATA, (guard.data_limit_bytes, guard.data_limit_bytes))

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err, preexec_fn=in_child)
        watchdog = threading.Timer(guard.timeout_s, process.kill) if guard.timeout_s else None
        if watchdog:
            watchdog.start()
        high_water = _HighWater(process.pid)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        peak = high_water.stop()
        if watchdog:
            watchdog.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        return Finished(
            exit_code=process.returncode,
            wall_s=wall,
            user_s=usage.ru_utime,
            sys_s=usage.ru_stime,
            peak_rss_bytes=peak,
            stdout=out.read(),
            stderr=err.read(),
        )


class _HighWater:
    """The largest ``VmHWM`` of a running process, read every ``RSS_SAMPLE_SECONDS`` by a thread."""

    def __init__(self, pid: int) -> None:
        self.status = Path(f"/proc/{pid}/status")
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.is_set():
            self._read()
            self._done.wait(RSS_SAMPLE_SECONDS)

    def _read(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # gone (a zombie has no VmHWM line: 0)
            self.peak = max(self.peak, status_kib("VmHWM", self.status) * 1024)

    def stop(self) -> int:
        """Stop reading; the peak in bytes."""
        self._done.set()
        self._thread.join()
        return self.peak


def first_cpus(count: int) -> set[int]:
    """The first ``count`` CPUs this process may use.

    Raises:
        SystemExit: fewer are usable.
    """
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < count:
        raise SystemExit(f"--cores asks for {count} CPUs, but this process may use only {len(usable)}")
    return set(usable[:count])


def failure(finished: Finished) -> dict[str, Any]:
    code = finished.exit_code
    how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
    return {
        "error": how,
        "wall_s": finished.wall_s,
        "peak_rss_mib": finished.peak_rss_bytes / 2**20,
        "stderr_tail": finished.stderr[-2000:],
    }


# ------------------------------------------------- 1. the CLI, as a user runs it


@functools.cache
def dedup_command() -> list[str]:
    """The ``dedup`` console script of the Python running this benchmark, its package byte-compiled.

    pip compiles a package when it installs it, and Python writes the bytecode of an editable install at its
    first import, unless ``PYTHONDONTWRITEBYTECODE`` is set (as on the development machine): then every
    scan compiled dedup's modules from source, 0.2 s of each start-up that no user's install pays.

    Raises:
        SystemExit: dedup is not installed beside it.
    """
    script = Path(sys.executable).with_name("dedup")
    if not script.exists():
        raise SystemExit(f"{script} not found: install dedup into this environment (pip install -e '.[bench]')")
    import dedup

    compileall.compile_dir(Path(dedup.__file__).parent, quiet=1)
    return [str(script)]


def cli_scan(corpus: Path, out: Path, threshold: float, cpus: set[int], guard: Guard) -> dict[str, Any]:
    """One ``dedup scan CORPUS --out OUT``, the report printed to a file as a user's terminal would get it."""
    shutil.rmtree(out, ignore_errors=True)
    command = [*dedup_command(), "scan", str(corpus), "--out", str(out), "--threshold", str(threshold)]
    finished = run_child(command, cpus, guard)
    if finished.exit_code != 0:
        return failure(finished)
    summary = json.loads((out / "scan.json").read_text())
    mb = corpus.stat().st_size / 1e6
    cpu = finished.user_s + finished.sys_s
    return {
        "wall_s": finished.wall_s,
        "mb_per_s": mb / finished.wall_s,
        "cpu_s": cpu,
        "user_s": finished.user_s,
        "sys_s": finished.sys_s,
        "cpu_us_per_block": cpu / summary["blocks"] * 1e6,
        "peak_rss_mib": finished.peak_rss_bytes / 2**20,
        "peak_rss_bytes_per_block": finished.peak_rss_bytes / summary["blocks"],
        "documents": summary["documents"],
        "blocks": summary["blocks"],
        "dup_fraction": summary["dup_fraction"],
        "clusters": summary["clusters"],
        "near_pairs": summary["near_pairs"],
        "candidate_pairs": summary["candidate_pairs"],
    }


MEDIAN_FIELDS = ("wall_s", "mb_per_s", "cpu_s", "user_s", "sys_s", "cpu_us_per_block", "peak_rss_mib")


def median_of_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each measure's median over the runs, every run's values beside it; a failed run is reported instead."""
    failed = [run for run in runs if "error" in run]
    if failed:
        return {**failed[0], "runs": len(runs)}
    result = dict(runs[0])  # the counts, the same in every run
    for name in MEDIAN_FIELDS:
        result[name] = median(run[name] for run in runs)
        result[f"{name}_runs"] = [run[name] for run in runs]
    result["peak_rss_bytes_per_block"] = result["peak_rss_mib"] * 2**20 / result["blocks"]
    return result


def measure_cli(corpus: Path, scratch: Path, threshold: float, cores: int, repeat: int, guard: Guard) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    for _ in range(repeat):
        runs.append(cli_scan(corpus, scratch / f"cli-{cores}", threshold, first_cpus(cores), guard))
        if "error" in runs[-1]:  # a scan that ran out of memory once will again: no need to wait for it twice
            break
    return median_of_runs(runs)


# --------------------------------------------------- 2. stages, from the library


class StageRecorder:
    """Runs inside the library child: the scan's phases by its progress hook, and VmRSS over time.

    Phases: ``start_up`` until the first batch is folded in (loading the kernels, the first reads),
    then the stages the scan reports from its own thread, in order (``fingerprint``: the batches;
    ``lsh``, ``verify``, ``cluster``, ``tables``: the tail, with the Parquet files written).
    ``read`` runs beside the batches on a reader thread and is no phase of its own.
    """

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.phase = "start_up"
        self.phase_started: dict[str, float] = {"start_up": 0.0}
        self.peak_kib: dict[str, int] = {}
        self.samples: list[tuple[float, int]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.sampler = threading.Thread(target=self._sample_every, name="rss-sampler", daemon=True)
        self.sampler.start()

    def progress(self, stage: str, done: int, total: int | None) -> None:
        if stage == "read" or (stage == "fingerprint" and done == 0):
            self.sample()
            return
        with self.lock:
            if stage != self.phase:
                self.phase = stage
                self.phase_started[stage] = time.perf_counter() - self.started
        self.sample()

    def sample(self) -> None:
        kib = vm_rss_kib()
        with self.lock:
            self.samples.append((time.perf_counter() - self.started, kib))
            self.peak_kib[self.phase] = max(self.peak_kib.get(self.phase, 0), kib)

    def _sample_every(self) -> None:
        while not self.stop.wait(RSS_SAMPLE_SECONDS):
            self.sample()

    def finish(self) -> dict[str, Any]:
        self.stop.set()
        self.sampler.join()
        ended = time.perf_counter() - self.started
        starts = sorted(self.phase_started.items(), key=lambda item: item[1])
        ends = [start for _, start in starts[1:]] + [ended]
        return {
            "phase_wall_s": {name: end - start for (name, start), end in zip(starts, ends, strict=True)},
            "phase_peak_rss_mib": {name: kib / 1024 for name, kib in self.peak_kib.items()},
            "rss_timeline": thin([(round(t, 3), round(kib / 1024, 1)) for t, kib in self.samples], 1500),
            "phase_starts_s": dict(starts),
        }


def status_kib(field: str, status: Path = Path("/proc/self/status")) -> int:
    """A memory figure of a process's ``/proc/PID/status`` in KiB (``VmRSS``, ``VmHWM``); 0 when it has none.

    Raises:
        OSError: the process is gone.
    """
    for line in status.read_text(encoding="ascii").splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def vm_rss_kib() -> int:
    return status_kib("VmRSS")


def thin(points: list[Any], keep: int) -> list[Any]:
    """At most about ``keep`` evenly spaced points, the last one always among them."""
    step = max(1, len(points) // keep)
    return points[::step] + ([points[-1]] if points and (len(points) - 1) % step else [])


def child_stages(corpus: Path, threshold: float, out: Path) -> dict[str, Any]:
    """Run inside the child process: one library scan writing its files, with its stages measured."""
    recorder = StageRecorder()
    import dedup  # imported under the recorder, as the CLI imports it: start-up includes it

    wall, cpu = time.perf_counter(), time.process_time()
    options = dedup.ScanOptions(lsh=dedup.LSHOptions(threshold=threshold))
    result = dedup.scan([corpus], options, progress=recorder.progress, out=out)
    measured = recorder.finish()
    return {
        **measured,
        "wall_s": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
        "peak_rss_mib": status_kib("VmHWM") / 1024,  # its peak since exec, not ru_maxrss: see run_child
        "stage_wall_s": dict(result.stats.seconds),
        "stage_cpu_s": dict(result.stats.cpu_seconds),
        "blocks": result.stats.blocks,
        "near_blocks": result.stats.near_blocks,
        "candidate_pairs": result.stats.candidate_pairs,
        "verified_pairs": result.stats.verified_pairs,
        "bands": result.stats.bands,
        "rows": result.stats.rows,
    }


def measure_stages(corpus: Path, scratch: Path, threshold: float, cores: int, guard: Guard) -> dict[str, Any]:
    out = scratch / f"stages-{cores}"
    shutil.rmtree(out, ignore_errors=True)
    code = (
        "import json; from pathlib import Path; from benchmarks.scans import child_stages; "
        f"print(json.dumps(child_stages(Path({str(corpus)!r}), {threshold}, Path({str(out)!r}))))"
    )
    finished = run_child([sys.executable, "-c", code], first_cpus(cores), guard)
    if finished.exit_code != 0:
        return failure(finished)
    return json.loads(finished.stdout.strip().splitlines()[-1])
