"""Outputs commit whole: journaled renames, recovery after a kill, one writer at a time, checked on load."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dedup
from dedup import commit
from dedup.cli import app
from tests.conftest import SEEDS, listed

runner = CliRunner()


def _dead_pid() -> int:
    """A process id no process has (a child that has exited and was reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_journal_of_a_dead_run_is_finished_and_its_strays_removed(tmp_path: Path) -> None:
    dead = _dead_pid()
    staged = [tmp_path / f".{name}.{dead}.0123abcd{commit.TEMP_SUFFIX}" for name in ("a", "b")]
    for path, text in zip(staged, ("new a", "new b"), strict=True):
        path.write_text(text)
    (tmp_path / "a").write_text("old a")  # the run died before its first rename
    journal = tmp_path / f"{commit.JOURNAL_PREFIX}{dead}.0123abcd.json"
    steps = [["replace", str(staged[0]), str(tmp_path / "a")], ["replace", str(staged[1]), str(tmp_path / "b")]]
    journal.write_text(json.dumps(steps))
    stray = tmp_path / f".c.{dead}.89abcdef{commit.TEMP_SUFFIX}"
    stray.write_text("half a file")
    mine = tmp_path / f".d.{os.getpid()}.89abcdef{commit.TEMP_SUFFIX}"
    mine.write_text("a live run's file")
    commit.recover(tmp_path)
    assert (tmp_path / "a").read_text() == "new a" and (tmp_path / "b").read_text() == "new b"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["a", "b", mine.name])  # a live run's file stays


def test_a_second_writer_of_the_same_folder_fails_at_once(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with commit.writer_lock(out / commit.LOCK_NAME, str(out)):
        result = runner.invoke(app, ["scan", str(SEEDS), "--out", str(out)])
    assert result.exit_code == 2
    assert f"Error: {out}: another dedup run is writing it; wait for that run to finish, or write elsewhere" in (
        result.output
    )
    assert listed(out) == []


def test_a_damaged_table_or_summary_is_an_error_naming_the_file(tmp_path: Path) -> None:
    out = tmp_path / "scan"
    dedup.scan([SEEDS], out=out)
    documents = out / "documents.parquet"
    data = bytearray(documents.read_bytes())
    for position in range(200, 264):  # 64 flipped bytes inside a page of the table
        data[position] ^= 0xFF
    documents.write_bytes(bytes(data))
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 2
    assert f"Error: {documents}: not the file this scan wrote (damaged, or written by another scan)" in result.output


def test_tables_of_two_scans_in_one_folder_are_refused(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    dedup.scan([SEEDS], out=first)
    dedup.scan([SEEDS / "002_97e78c12a69bdb34.txt"], out=second)
    (first / "pairs.parquet").write_bytes((second / "pairs.parquet").read_bytes())
    with pytest.raises(dedup.InputError, match=r"pairs\.parquet: not the file this scan wrote"):
        dedup.load(first)


def test_a_summary_of_the_wrong_shape_is_an_error(tmp_path: Path) -> None:
    out = tmp_path / "scan"
    dedup.scan([SEEDS], out=out)
    summary = json.loads((out / "scan.json").read_text())
    summary["settings"]["options"]["lsh"] = 5
    (out / "scan.json").write_text(json.dumps(summary))
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 2 and result.output.startswith(f"Error: {out / 'scan.json'}: not a dedup scan summary")


def _corpus(folder: Path, documents: int = 4000) -> Path:
    from benchmarks.corpus import documents_of, write_corpus

    path = folder / "crawl.jsonl"
    write_corpus(documents_of("crawl", documents * 8_000, seed=1), path, {"profile": "crawl"})
    return path


def _wait_for(condition: object, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("the scan never got there")
        time.sleep(0.02)


def _own(pid: int) -> list[Path]:
    return sorted(Path(tempfile.gettempdir()).glob(f"dedup-*-{pid}-*"))


@pytest.mark.parametrize("how", ["kill -9", "SIGTERM"])
def test_a_killed_scan_leaves_the_earlier_output_and_nothing_behind(tmp_path: Path, how: str) -> None:
    corpus = _corpus(tmp_path)
    out = tmp_path / "out"
    dedup.scan([SEEDS], out=out)
    before = {name: (out / name).read_bytes() for name in listed(out)}
    command = [sys.executable, "-c", "from dedup.cli import main; main()", "scan", str(corpus), "--out", str(out), "-q"]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Killed while it writes its tables: staged files stand beside the earlier ones.
    _wait_for(lambda: any(name.endswith(commit.TEMP_SUFFIX) for name in os.listdir(out)))
    child.send_signal(signal.SIGKILL if how == "kill -9" else signal.SIGTERM)
    child.wait(timeout=60)
    assert {name: (out / name).read_bytes() for name in listed(out) if not name.startswith(".")} == before
    if how == "SIGTERM":  # cleaned up on the way out, as Ctrl-C
        assert listed(out) == sorted(before) and _own(child.pid) == []
        return
    assert _own(child.pid) and len(listed(out)) > len(before)  # what kill -9 leaves ...
    dedup.scan([SEEDS], out=out)  # ... the next run takes away
    assert _own(child.pid) == [] and listed(out) == sorted(before)


def test_a_killed_clean_leaves_the_earlier_output_and_the_next_run_clears_what_it_left(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, documents=2000)
    out, removed = tmp_path / "out", tmp_path / "removed.parquet"
    dedup.clean([SEEDS], out, removed=removed)
    before = {name: (out / name).read_bytes() for name in listed(out)} | {"audit": removed.read_bytes()}
    command = [sys.executable, "-c", "from dedup.cli import main; main()", "clean", str(corpus), "--out", str(out)]
    child = subprocess.Popen([*command, "--overwrite"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: any(name.startswith(".out.") for name in os.listdir(tmp_path)))  # writing its copies
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    assert {name: (out / name).read_bytes() for name in listed(out)} | {"audit": removed.read_bytes()} == before
    leftovers = [name for name in os.listdir(tmp_path) if name.endswith(commit.TEMP_SUFFIX)]
    assert leftovers  # the staged copies of the killed run ...
    dedup.clean([SEEDS], out, removed=removed, overwrite=True)
    assert not [name for name in os.listdir(tmp_path) if name.endswith(commit.TEMP_SUFFIX)]  # ... are gone
    assert _own(child.pid) == []
