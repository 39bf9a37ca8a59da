"""Runners drive the stages over a corpus: where the work runs, what is spilled, how the tables are written.

``local`` runs on one machine: worker threads, a spill folder, streaming output. The stages it drives
(``dedup.stage`` per batch; ``candidates``, ``cluster``, ``documents`` corpus-wide) know nothing of it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dedup import output, sources
from dedup.formats.memory import paths_of
from dedup.spill import ScratchFolder


@contextmanager
def scan_folders(
    out: str | Path | None, paths: Sequence[Any]
) -> Iterator[tuple[Path, ScratchFolder | None, ScratchFolder]]:
    """What every runner of a scan writes into: the tables' folder, the private folder that is it when no
    ``out`` is given (the result keeps it alive; None otherwise), and a scratch folder for the run.

    ``out`` is prepared and refused when it is an input or lies in one, and the inputs are checked to exist,
    before anything is read. The scratch folder goes when the run ends; the private folder only when the run
    fails, as a successful result holds it.

    Raises:
        InputError: a path that does not exist.
        OutputError: ``out`` is not a folder, is an input or lies in one.
    """
    folder = None
    if out is not None:
        folder = output.prepared_folder(out)
        output.check_not_input(folder, paths_of(paths))
    sources.check_paths(paths)
    private = ScratchFolder(prefix="dedup-result-") if folder is None else None
    tables = private.path if private is not None else folder
    assert tables is not None
    scratch = ScratchFolder()
    try:
        yield tables, private, scratch
    except BaseException:
        if private is not None:
            private.close()
        raise
    finally:
        scratch.close()
