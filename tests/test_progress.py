"""Progress bars: drawn on a terminal from the pipeline's hook, absent when quiet or not on a terminal."""

from __future__ import annotations

from io import StringIO

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


def test_no_bars_when_quiet_or_not_a_terminal() -> None:
    with progress_bars(_terminal(StringIO()), quiet=True) as bars:
        assert bars is None
    with progress_bars(Console(file=StringIO(), force_terminal=False), quiet=False) as bars:
        assert bars is None
    with progress_bars(_terminal(StringIO()), quiet=False) as bars:
        assert isinstance(bars, ProgressBars)
