"""``dedup.scan`` and the index operations that scan: the public entry points, run by the runner for this
machine.

The stages (``dedup.stage`` per batch; ``candidates``, ``cluster``, ``documents`` corpus-wide) are
driven by a runner; ``dedup.runners.local`` runs them on one machine with bounded memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dedup import candidates
from dedup.errors import NoDocumentsError
from dedup.formats.memory import as_inputs
from dedup.index import ALREADY_INDEXED, Index, now
from dedup.options import ScanOptions
from dedup.result import ScanResult
from dedup.runners import local
from dedup.runners.local import IndexUpdate, Progress

__all__ = ["Progress", "index_add", "open_index", "scan"]


def scan(
    paths: object,
    options: ScanOptions | None = None,
    progress: Progress | None = None,
    out: str | Path | None = None,
    index: str | Path | Index | None = None,
    update: bool = False,
    name: str | None = None,
) -> ScanResult:
    """Find exact and near-duplicate blocks in documents (see ``runners.local.scan``).

    Args:
        paths: what to read: a path (folder, file or glob pattern) or a list of them; texts or records
            (mappings) in any other iterable; a table (polars or pandas DataFrame, pyarrow Table or
            RecordBatch, an Arrow stream, a Hugging Face dataset); or a list of tables and paths
            (see ``dedup.formats.memory``).
        options: every stage's options.
        progress: called with counts per batch and per stage.
        out: a folder for the tables and ``scan.json``.
        index: an index of earlier data: the blocks are clustered as if scanned after it, and what they
            repeat of it is the ``matches`` table (``result.lazy("matches")``).
        update: add the documents to ``index`` as its next add (made if missing), named ``name``.
        name: the add's name (default: the paths).

    Raises:
        InputError, NoDocumentsError, OutputError: see ``runners.local.scan``; an index that is not one;
            an input that is neither a path, nor an iterable, nor a table.
        OptionsError: ``options`` differ from the index's in what decides a match.
    """
    options = options or ScanOptions()
    inputs = as_inputs(paths)
    idx = open_index(index, options, create=update) if index is not None else None
    if idx is None:
        return local.scan(inputs, options, progress, out)
    added = IndexUpdate(name or add_name(inputs), now(), idx.added_files()) if update else None
    return local.scan(inputs, options, progress, out, index=idx, update=added)


def index_add(
    folder: str | Path,
    paths: object,
    options: ScanOptions | None = None,
    name: str | None = None,
    progress: Progress | None = None,
) -> ScanResult | None:
    """Add documents to an index (made if missing); files an earlier add brought are passed over.

    Returns:
        The scan of what was added against the index, or ``None`` when every file was added before.

    Raises:
        see ``scan``.
    """
    try:
        return scan(paths, options, progress, index=folder, update=True, name=name)
    except NoDocumentsError as exc:
        if nothing_new(exc):
            return None
        raise


def nothing_new(exc: NoDocumentsError) -> bool:
    """Whether an add found no document because every file was added before."""
    return bool(exc.skips) and all(skip.reason == ALREADY_INDEXED for skip in exc.skips)


def open_index(index: str | Path | Index, options: ScanOptions, create: bool = False) -> Index:
    """The index at a path (made when ``create`` and missing), checked against the options.

    Raises:
        InputError: not an index.
        OptionsError: the options differ from the index's in what decides a match.
    """
    if isinstance(index, Index):
        idx = index
    elif create and not (Path(index) / "index.json").exists():
        idx = Index.create(index, options, candidates.banding(options.lsh, options.minhash.num_perm))
    else:
        idx = Index.open(index)
    idx.check_options(options)
    return idx


def add_name(paths: Sequence[object]) -> str:
    """An add's default name: its first paths."""
    shown = ", ".join(str(path) for path in paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
