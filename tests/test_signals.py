"""Ctrl-C and SIGTERM on the command line stop a run, but never inside code an interrupt would leave broken."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from numba.core.compiler_lock import global_compiler_lock
from typer.testing import CliRunner

import dedup.pipeline
from dedup import commit, signals
from dedup.cli import INTERRUPTED, app
from dedup.runners.tables import WriteStopped, streamed

DEADLINE = 30.0  # seconds: far more than the retry's 0.05 s; only a lost interrupt reaches it


@pytest.fixture
def handlers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """dedup's handlers in this process for one test, with a fresh 'received' and the old handlers back after."""
    monkeypatch.setattr(signals, "_received", threading.Event())
    before = {signum: signal.getsignal(signum) for signum in signals.STOPPING}
    signals.install()
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


@pytest.mark.parametrize("signum", signals.STOPPING)
def test_outside_the_guarded_code_an_interrupt_is_raised_at_once(handlers: None, signum: int) -> None:
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signum)
        time.sleep(DEADLINE)
    assert signals.received()


class _SignalledAfterAcquire:
    """numba's compiler lock, with the signal arriving the moment the lock is taken: Python then raises the
    interrupt in numba's ``_CompilerLock.acquire``, before the ``with`` block that releases the lock begins."""

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock

    def acquire(self) -> bool:
        taken = self.lock.acquire()
        os.kill(os.getpid(), signal.SIGTERM)
        return taken

    def release(self) -> None:
        self.lock.release()


def test_an_interrupt_never_leaves_numbas_compiler_lock_held(handlers: None, monkeypatch: pytest.MonkeyPatch) -> None:
    real = global_compiler_lock._lock
    monkeypatch.setattr(global_compiler_lock, "_lock", _SignalledAfterAcquire(real))
    try:
        with pytest.raises(KeyboardInterrupt):
            with global_compiler_lock:  # a kernel compiled or loaded from numba's cache
                pass
            time.sleep(DEADLINE)  # the interrupt lands here, once numba's code is left
        assert not real._is_owned()  # type: ignore[attr-defined]  # another thread's kernel can still be loaded
    finally:
        while real._is_owned():  # type: ignore[attr-defined]  # what a failure here would leave: never a hang
            real.release()


def test_a_commit_is_made_whole_before_the_interrupt(
    handlers: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = [tmp_path / f".{name}.staged" for name in ("a", "b")]
    for path in staged:
        path.write_text(path.name)
    synced = commit.fsync_folder
    signalled = threading.Event()

    def signalled_once_the_journal_is_written(folder: Path) -> None:
        if not signalled.is_set():
            signalled.set()
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.2)  # the signal comes again and again while the renames go on
        synced(folder)

    monkeypatch.setattr(commit, "fsync_folder", signalled_once_the_journal_is_written)
    with pytest.raises(KeyboardInterrupt):
        commit.commit([(path, tmp_path / path.name[1:2]) for path in staged], tmp_path)
        time.sleep(DEADLINE)
    assert signalled.is_set()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a", "b"]  # both renamed, no journal left


def test_what_a_stopped_step_raises_is_interrupted_not_a_bug(seeds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def stopped_in_numba(*args: object, **kwargs: object) -> None:
        raise SystemError("CPUDispatcher(<function f>) returned a result with an exception set")

    monkeypatch.setattr(dedup.pipeline, "scan", stopped_in_numba)
    result = CliRunner().invoke(app, ["scan", str(seeds)])
    assert result.exit_code == 2 and "unexpected SystemError" in result.output  # with no signal: a bug
    monkeypatch.setattr(signals, "received", lambda: True)
    result = CliRunner().invoke(app, ["scan", str(seeds)])
    assert (result.exit_code, result.output) == (INTERRUPTED, "Interrupted.\n")


def test_a_stopped_table_ends_with_the_part_it_is_on(tmp_path: Path) -> None:
    stop = threading.Event()
    made: list[int] = []

    def parts() -> Iterator[pl.DataFrame]:
        for part in range(100):
            made.append(part)
            if part == 2:
                stop.set()  # Ctrl-C, or another table's writer failed
            yield pl.DataFrame({"part": [part]})

    with pytest.raises(WriteStopped):
        streamed(pl.Schema({"part": pl.Int64}), parts, stop).sink_parquet(tmp_path / "t.parquet")
    assert made == [0, 1, 2]
