"""Progress bars: drawn on a terminal from the pipeline's hook, absent when quiet or not on a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

import dedup
from dedup.progress import ProgressBars, progress_bars
from tests.conftest import SEEDS


def _terminal(out: StringIO) -> Console:
    return Console(file=out, force_terminal=True, width=120, color_system=None)


def test_bars_show_every_stage_with_its_count() -> None:
    out = StringIO()
    with ProgressBars(_terminal(out)) as bars, dedup.scan([SEEDS], progress=bars) as result:
        pass
    shown = out.getvalue()
    for label in ("Reading", "Fingerprinting", "LSH candidates", "Verifying", "Clustering", "Writing tables"):
        assert label in shown
    assert f"{result.stats.documents}/{result.stats.documents} documents" in shown
    assert f"{result.stats.blocks}/{result.stats.blocks} blocks" in shown


def test_a_stage_of_unknown_size_shows_a_running_count() -> None:
    out = StringIO()
    with ProgressBars(_terminal(out)) as bars:
        bars("read", 1234, None)
    assert "1,234 documents" in out.getvalue()
    assert "1,234/" not in out.getvalue()


class _Terminal(StringIO):
    """A stream that says it is a terminal, as standard error is in an interactive shell."""

    def isatty(self) -> bool:
        return True


def test_no_bars_when_quiet_or_not_a_terminal() -> None:
    with progress_bars(quiet=True, stream=_Terminal()) as bars:
        assert bars is None
    with progress_bars(quiet=False, stream=StringIO()) as bars:
        assert bars is None
    terminal = _Terminal()
    with progress_bars(quiet=False, stream=terminal) as bars:
        assert isinstance(bars, ProgressBars)
        bars("read", 7, None)
    assert "7 documents" in terminal.getvalue()


def test_force_color_draws_no_bars_into_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI systems set FORCE_COLOR; rich then takes any stream for a terminal, but a log file is none."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    with progress_bars(quiet=False, stream=StringIO()) as bars:
        assert bars is None


def test_scan_writes_nothing_to_a_stderr_file_under_force_color(tmp_path: Path) -> None:
    err = tmp_path / "err.txt"
    env = {**os.environ, "FORCE_COLOR": "1"}
    with err.open("w") as stderr:
        command = [str(Path(sys.executable).parent / "dedup"), "scan", str(SEEDS)]
        done = subprocess.run(command, env=env, stderr=stderr, stdout=subprocess.PIPE, check=False)
    assert done.returncode == 0
    assert b"Scanned" in done.stdout
    assert err.read_text() == ""
