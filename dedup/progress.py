"""Progress bars for a scan on a terminal, fed by the pipeline's progress hook (``dedup.pipeline.Progress``).

The pipeline only counts; this module draws. One bar per stage with its count,
its rate and its time; a stage whose total is not known yet (reading) shows a
running count instead of a bar.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

# Stage name -> (label, unit), in the order the pipeline runs them.
STAGES = {
    "read": ("Reading", "documents"),
    "fingerprint": ("Fingerprinting", "blocks"),
    "lsh": ("LSH candidates", "bands"),
    "verify": ("Verifying", "partitions"),
    "cluster": ("Clustering", "partitions"),
    "tables": ("Writing tables", "batches"),
}


class CountColumn(ProgressColumn):
    """``1,234/5,678 blocks  910 blocks/s``: the count of a stage and its rate."""

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", "")
        total = f"/{int(task.total):,}" if task.total is not None else ""
        speed = task.finished_speed if task.finished else task.speed
        rate = f"  {speed:,.0f} {unit}/s" if speed else ""
        return Text(f"{int(task.completed):,}{total} {unit}{rate}", style="progress.download")


class ProgressBars:
    """Rich progress bars on a console (stderr in the CLI); use as a context manager and pass as the hook.

    Example::

        with ProgressBars(Console(stderr=True)) as bars:
            result = dedup.scan(paths, options, progress=bars)
    """

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<16}"),
            BarColumn(),
            CountColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,  # the report follows; the bars have done their job once it is printed
        )
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        """The pipeline's progress hook: ``stage`` has done ``done`` of ``total`` (``None``: unknown)."""
        task = self._tasks.get(stage)
        if task is None:
            label, unit = STAGES.get(stage, (stage, "items"))
            task = self._tasks[stage] = self._progress.add_task(label, total=total, unit=unit)
        self._progress.update(task, completed=done, total=total)

    def __enter__(self) -> ProgressBars:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._progress.stop()


@contextmanager
def progress_bars(quiet: bool, stream: TextIO | None = None) -> Iterator[ProgressBars | None]:
    """Progress bars on ``stream`` (standard error by default), or ``None`` (no bars) when ``quiet`` or the
    stream is not a terminal.

    The stream itself is asked, not rich: rich takes ``FORCE_COLOR`` (which CI systems set) to mean a
    terminal, and would then animate the bars into a log file.
    """
    stream = sys.stderr if stream is None else stream
    if quiet or not _is_terminal(stream):
        yield None
        return
    with ProgressBars(Console(file=stream)) as bars:
        yield bars


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False
