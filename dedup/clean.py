"""Remove duplicate blocks from a corpus and write it back in its own format.

The steps::

    scan      the blocks, clusters and documents tables (``dedup.scan``)
    plan      which documents are dropped, which occurrence of every cluster
              stays, which blocks go (tables; nothing is read or written)
    splice    each document read again, its removed blocks cut out at their
              offsets with the white space of their seams (``cut_spans``)
    write     each input file's cleaned copy, through ``writers.WRITERS``, into
              a staging folder that replaces the output only when all is written;
              every cut goes into the audit table, from which ``restore`` undoes it

A seam keeps one of the two separators it joins, the one with more line
breaks, so no blank lines double and a paragraph break is never lost; cuts run
from line start to line start, so a removed list run takes its lines with it.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from dedup import schema as S
from dedup.errors import InputError, OutputError
from dedup.options import CleanOptions
from dedup.output import atomic_write
from dedup.pipeline import scan
from dedup.result import DOC_POS, ORDER, ScanResult
from dedup.sources import Document, ReadStats, Skip, discover, read_documents, resolve
from dedup.writers import CleanedDocument, Writer, writer_for

REMOVED_FILE = "removed.parquet"
_AUDIT_ROWS = 50_000  # rows of the audit table buffered before they are written


@dataclass(frozen=True, slots=True)
class Plan:
    """What a clean removes, decided from the scan tables alone.

    Attributes:
        blocks: every block in read order: ``doc_pos``, ``start``, ``end`` and
            whether it is ``removed``.
        removals: the removed blocks in read order, each with its cluster,
            ``kind`` (``exact`` when its matching form equals the kept one's,
            else ``near``) and the kept occurrence (``kept_doc_id``, ``kept_block``, ``kept_line``).
        dropped: the dropped documents: ``doc_pos``, ``doc_id``, ``contained_in``, ``containment``.
        doc_ids: the id of every document, in read order.
    """

    blocks: pl.DataFrame
    removals: pl.DataFrame
    dropped: pl.DataFrame
    doc_ids: list[str]


def plan(result: ScanResult, options: CleanOptions) -> Plan:
    """Decide which documents are dropped and which blocks are removed.

    Dropped documents come first, so that the kept occurrence of every
    cluster is one that stays in the output.
    """
    blocks = (
        result.blocks_in_documents()
        .select(ORDER, DOC_POS, S.DOC_ID, S.BLOCK, S.START, S.END, S.LINE, S.CLUSTER, S.SHORT, S.EXACT_HASH)
        .collect()
    )
    documents = result.documents.with_row_index(DOC_POS)
    dropped = dropped_documents(documents, options.drop_docs_over)
    candidates = blocks.filter(
        pl.col(S.CLUSTER).is_not_null(),
        ~pl.col(DOC_POS).is_in(dropped[DOC_POS].implode()),
        ~pl.col(S.SHORT) if options.keep_short else pl.lit(True),
    )
    keepers = _keepers(candidates, options.keep).select(
        S.CLUSTER,
        pl.col(ORDER).alias("kept_order"),
        pl.col(S.DOC_ID).alias(S.KEPT_DOC_ID),
        pl.col(S.BLOCK).alias(S.KEPT_BLOCK),
        pl.col(S.LINE).alias(S.KEPT_LINE),
        pl.col(S.EXACT_HASH).alias("kept_hash"),
    )
    removals = (
        candidates.join(keepers, on=S.CLUSTER)
        .filter(pl.col(ORDER) != pl.col("kept_order"))
        .with_columns(
            pl.when(pl.col(S.EXACT_HASH) == pl.col("kept_hash"))
            .then(pl.lit(S.EXACT))
            .otherwise(pl.lit(S.NEAR))
            .alias(S.KIND)
        )
        .sort(ORDER)
        .select(ORDER, DOC_POS, S.BLOCK, S.LINE, S.CLUSTER, S.KIND, S.SHORT, S.KEPT_DOC_ID, S.KEPT_BLOCK, S.KEPT_LINE)
    )
    removed = blocks[ORDER].is_in(removals[ORDER].implode())
    return Plan(
        blocks=blocks.select(DOC_POS, S.START, S.END).with_columns(removed.alias("removed")),
        removals=removals,
        dropped=dropped,
        doc_ids=documents[S.DOC_ID].to_list(),
    )


def _keepers(candidates: pl.DataFrame, keep: str) -> pl.DataFrame:
    """The kept block of every cluster: first or last in read order, or the longest (ties: the first)."""
    if keep == "longest":
        ordered = candidates.sort([S.CLUSTER, pl.col(S.END) - pl.col(S.START), ORDER], descending=[False, True, False])
    else:
        ordered = candidates.sort([S.CLUSTER, ORDER], descending=[False, keep == "last"])
    return ordered.group_by(S.CLUSTER, maintain_order=True).first()


def dropped_documents(documents: pl.DataFrame, over: float | None) -> pl.DataFrame:
    """The documents to drop: contained in a kept document to at least ``over``.

    The most contained go first (ties: the later one). A document is not
    dropped when it contains an already dropped one, or when its own container
    is dropped: so two documents never drop each other, and every dropped
    document's text stands in a document that is kept.

    Args:
        documents: the documents table with a ``doc_pos`` column.
        over: the containment from which a document is dropped; ``None`` drops none.
    """
    columns = [DOC_POS, S.DOC_ID, S.CONTAINED_IN, S.CONTAINMENT]
    if over is None:
        return documents.select(columns).clear()
    candidates = documents.filter(pl.col(S.CONTAINMENT) >= over, pl.col(S.CONTAINED_IN).is_not_null()).sort(
        [S.CONTAINMENT, DOC_POS], descending=True
    )
    dropped: set[str] = set()
    containers: set[str] = set()
    rows: list[int] = []
    for position, doc_id, container in candidates.select(DOC_POS, S.DOC_ID, S.CONTAINED_IN).iter_rows():
        if doc_id in containers or container in dropped:
            continue
        dropped.add(doc_id)
        containers.add(container)
        rows.append(position)
    return documents.filter(pl.col(DOC_POS).is_in(rows)).select(columns)


def cut_spans(text: str, starts: Sequence[int], ends: Sequence[int], removed: Sequence[bool]) -> list[tuple[int, int]]:
    """The span to cut for every removed block of a document, in block order.

    Each span holds its block (``text[start:end]``) and white space around it;
    together the spans of a run of removed blocks reach from one kept block
    to the next, leaving one separator between them: the one with more line
    breaks (ties: the one before the run). A run at the start of the document
    keeps the document's leading white space, a run at its end its final
    line break; removing every block cuts the whole text.

    Args:
        text: the document.
        starts, ends: the offsets of all its blocks, in order.
        removed: which blocks go.
    """
    cuts: list[tuple[int, int]] = []
    count = len(starts)
    i = 0
    while i < count:
        if not removed[i]:
            i += 1
            continue
        j = i
        while j + 1 < count and removed[j + 1]:
            j += 1
        gap_start = ends[i - 1] if i > 0 else 0
        gap_end = starts[j + 1] if j + 1 < count else len(text)
        first, last = _run_cut(text, gap_start, starts[i], ends[j], gap_end, i > 0, j + 1 < count)
        bounds = [first, *starts[i + 1 : j + 1], last]
        cuts.extend(itertools.pairwise(bounds))
        i = j + 1
    return cuts


def _run_cut(
    text: str, gap_start: int, start: int, end: int, gap_end: int, kept_before: bool, kept_after: bool
) -> tuple[int, int]:
    """Where to cut a run of removed blocks ``text[start:end]`` between two gaps of white space."""
    before = text[gap_start:start]
    after = text[end:gap_end]
    if not kept_before and not kept_after:
        return 0, len(text)
    if not kept_before:
        # Keep the document's leading white space and the next block's indentation.
        return gap_start + before.rfind("\n") + 1, end + after.rfind("\n") + 1
    if not kept_after or after.count("\n") > before.count("\n"):
        # Keep the separator after the run: cut from the line break that ends the kept block.
        last = end + after.find("\n") if "\n" in after else gap_end
        return gap_start + before.find("\n"), last
    # Keep the separator before the run: cut from the run's line start to the next block's line start.
    return gap_start + before.rfind("\n") + 1, end + after.rfind("\n") + 1


def apply_cuts(text: str, cuts: Iterable[tuple[int, int]]) -> str:
    """The text without the given disjoint spans."""
    parts: list[str] = []
    position = 0
    for start, end in sorted(cuts):
        parts.append(text[position:start])
        position = end
    parts.append(text[position:])
    return "".join(parts)


def restore(cleaned: str, cuts: Iterable[tuple[int, str]]) -> str:
    """Undo a clean: put the removed texts back at their original offsets.

    Args:
        cleaned: a cleaned document (``""`` for a document that was not written).
        cuts: its rows of the audit table as ``(cut_start, removed)``.

    Returns:
        The original text of the document.
    """
    parts: list[str] = []
    original = 0  # length of the original text rebuilt so far
    position = 0  # how much of the cleaned text is used
    for cut_start, removed in sorted(cuts):
        take = cut_start - original
        parts.append(cleaned[position : position + take])
        parts.append(removed)
        position += take
        original = cut_start + len(removed)
    parts.append(cleaned[position:])
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class Target:
    """Where the cleaned copy of one input file goes."""

    source: Path
    relative: Path  # below the output folder
    writer: Writer


@dataclass(slots=True)
class CleanStats:
    """Counts of a clean; ``documents = written + dropped + emptied``."""

    documents: int = 0
    written: int = 0
    dropped: int = 0  # contained in a kept document (--drop-docs-over)
    emptied: int = 0  # every block removed: nothing left to write
    files: int = 0
    blocks_removed: int = 0
    removed_by_kind: dict[str, int] = field(default_factory=dict)  # exact / near copies of the kept block
    short_removed: int = 0  # of them, repeated short lines
    chars: int = 0  # characters of the documents read
    chars_removed: int = 0  # characters cut, white space of the seams and dropped documents included


@dataclass(slots=True)
class CleanResult:
    """What a clean did: its counts, where it wrote, and the scan it was based on."""

    stats: CleanStats
    out: Path
    removed: Path
    options: CleanOptions
    scan: ScanResult

    def summary(self) -> dict[str, Any]:
        """Counts and settings, deterministic for the same input and options."""
        stats = asdict(self.stats)
        stats["removed_by_kind"] = dict(sorted(self.stats.removed_by_kind.items()))
        return {
            **stats,
            "skipped": len(self.scan.stats.skips),
            "out": str(self.out),
            "removed": str(self.removed),
            "clean": _clean_settings(self.options),
            "settings": self.scan.settings(),
        }


def _clean_settings(options: CleanOptions) -> dict[str, Any]:
    return {"keep": options.keep, "drop_docs_over": options.drop_docs_over, "keep_short": options.keep_short}


def default_removed_path(out: str | Path) -> Path:
    """``removed.parquet`` beside the output folder (never inside it)."""
    return Path(out).resolve().parent / REMOVED_FILE


def layout(
    paths: Sequence[str | Path], out: str | Path, removed: str | Path, overwrite: bool = False
) -> dict[str, Target]:
    """Where each input file's cleaned copy goes, after checking that no input can be touched.

    A folder's files keep their paths relative to it, a file named on its own
    its name, a pattern's matches their paths below the pattern's fixed part.

    Returns:
        Targets keyed by the input file as documents name their ``source``.

    Raises:
        OutputError: the output or the removed table would be an input, lie in
            an input folder or hold an input; two inputs would be written to
            the same file; the output exists and is not an empty folder
            (unless ``overwrite``).
        InputError: an input does not exist.
    """
    out_path, removed_path = Path(out), Path(removed)
    targets: dict[str, Target] = {}
    by_relative: dict[Path, str] = {}
    inputs: list[tuple[Path, Path]] = []  # (as given, resolved)
    for given in paths:
        base = Path(given) if Path(given).is_dir() else None if Path(given).is_file() else _pattern_base(str(given))
        if Path(given).is_dir():
            inputs.append((Path(given), Path(given).resolve()))
        for found in discover([given]):
            if isinstance(found, Skip) or isinstance(resolve(found), Skip):
                continue  # not read, so not written
            file = found.path
            inputs.append((file, file.resolve()))
            writer = writer_for(file)
            relative = Path(file.name) if base is None else file.relative_to(base)
            if writer.suffix is not None:
                relative = relative.with_suffix(writer.suffix)
            if str(file) in targets:
                raise OutputError(f"{file} is named twice in the inputs; name each file once")
            if relative in by_relative:
                raise OutputError(
                    f"{by_relative[relative]} and {file} would both be written to {out_path / relative}; "
                    "clean them in separate runs"
                )
            by_relative[relative] = str(file)
            targets[str(file)] = Target(file, relative, writer)
    _check_locations(inputs, out_path, removed_path, overwrite)
    return targets


def _pattern_base(pattern: str) -> Path:
    """The folder a glob pattern starts from: its parts before the first wildcard."""
    fixed = itertools.takewhile(lambda part: not any(ch in part for ch in "*?["), Path(pattern).parts)
    return Path(*fixed)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _check_locations(inputs: list[tuple[Path, Path]], out: Path, removed: Path, overwrite: bool) -> None:
    out_resolved, removed_resolved = out.resolve(), removed.resolve()
    for given, resolved in inputs:
        if _inside(out_resolved, resolved):
            raise OutputError(f"{out}: the output must not be an input or inside an input folder ({given})")
        if _inside(resolved, out_resolved):
            raise OutputError(f"{out}: the output folder holds the input {given}; write the output elsewhere")
        if _inside(removed_resolved, resolved):
            raise OutputError(f"{removed}: the removed table must not be an input or inside an input folder ({given})")
    if _inside(removed_resolved, out_resolved):
        raise OutputError(f"{removed}: the removed table must not be inside the output folder {out}")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    if out.is_dir() and not overwrite and any(out.iterdir()):
        raise OutputError(f"{out}: exists and is not empty; choose a new folder, or replace it with --overwrite")


def clean(
    paths: Sequence[str | Path],
    out: str | Path,
    options: CleanOptions | None = None,
    removed: str | Path | None = None,
    overwrite: bool = False,
) -> CleanResult:
    """Write the corpus without its duplicate blocks, and the audit table of what was cut.

    Args:
        paths: folders, files or glob patterns (as for ``dedup.scan``).
        out: the output folder; each input file's cleaned copy goes there.
        options: what to remove and what to keep.
        removed: the audit table; ``removed.parquet`` beside ``out`` by default.
        overwrite: replace ``out`` when it exists and is not empty.

    Returns:
        The counts, the paths written and the scan the clean was based on.

    Raises:
        InputError: an input does not exist, or changed during the clean.
        NoDocumentsError: the inputs held no document.
        OutputError: see ``layout``; or the output cannot be written. Nothing
            is left in ``out`` or at ``removed`` when writing fails.
    """
    options = options or CleanOptions()
    out_path = Path(out)
    removed_path = Path(removed) if removed is not None else default_removed_path(out_path)
    targets = layout(paths, out_path, removed_path, overwrite)
    result = scan(paths, options.scan)
    decided = plan(result, options)
    stats = CleanStats()
    metadata = {"dedup": json.dumps({**result.settings(), "clean": _clean_settings(options)}, sort_keys=True)}
    try:
        removed_path.parent.mkdir(parents=True, exist_ok=True)
        with _staged(out_path) as staging:

            def write_all(audit_file: str) -> None:
                with _AuditWriter(audit_file, metadata) as audit:
                    _write_files(paths, options, decided, targets, staging, audit, stats)

            atomic_write(removed_path, write_all)
    except OSError as exc:
        raise OutputError(f"{exc.filename or out_path}: cannot write ({exc.strerror or exc})") from exc
    return CleanResult(stats=stats, out=out_path, removed=removed_path, options=options, scan=result)


@contextmanager
def _staged(out: Path) -> Iterator[Path]:
    """A hidden folder beside ``out`` that replaces it on success and is removed on failure."""
    out = out.resolve()  # "." and "a/.." have a name and a parent only once resolved
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.dedup-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        yield staging
        if out.exists():
            # A folder cannot be renamed over a folder: move the old one aside for the moment of the swap.
            old = out.parent / f".{out.name}.old-{secrets.token_hex(4)}"
            os.rename(out, old)
            os.rename(staging, out)
            shutil.rmtree(old)
        else:
            os.rename(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def _write_files(
    paths: Sequence[str | Path],
    options: CleanOptions,
    decided: Plan,
    targets: dict[str, Target],
    staging: Path,
    audit: _AuditWriter,
    stats: CleanStats,
) -> None:
    """Read the documents again, cut them, and write every input file's copy into ``staging``."""
    read_stats = ReadStats()
    documents = read_documents(paths, options.scan.read, read_stats)
    cleaned = _cleaned(documents, decided, audit, stats)
    for source, group in itertools.groupby(cleaned, key=lambda c: c.document.source):
        target = targets[source]
        path = staging / target.relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if target.writer.write(target.source, path, group, options.scan.read):
            stats.files += 1
        else:  # no document of this file is left: no file
            path.unlink(missing_ok=True)
            for parent in target.relative.parents[:-1]:
                if any((staging / parent).iterdir()):
                    break
                (staging / parent).rmdir()


def _cleaned(
    documents: Iterable[Document], decided: Plan, audit: _AuditWriter, stats: CleanStats
) -> Iterator[CleanedDocument]:
    """Every document with its cleaned text, its cuts recorded in the audit table."""
    positions = decided.blocks[DOC_POS].to_numpy()
    starts = decided.blocks[S.START].to_numpy()
    ends = decided.blocks[S.END].to_numpy()
    removed = decided.blocks["removed"].to_numpy()
    bounds = np.searchsorted(positions, np.arange(len(decided.doc_ids) + 1))
    dropped = {row[DOC_POS]: row for row in decided.dropped.iter_rows(named=True)}  # few: only documents over the limit
    removals = decided.removals.iter_rows(named=True)
    count = 0
    for position, document in enumerate(documents):
        if position >= len(decided.doc_ids) or document.doc_id != decided.doc_ids[position]:
            raise InputError(f"{document.source}: changed since it was scanned; run clean again")
        count += 1
        stats.documents += 1
        stats.chars += len(document.text)
        if position in dropped:
            audit.document(document, dropped[position])
            stats.dropped += 1
            stats.chars_removed += len(document.text)
            yield CleanedDocument(document, None)
            continue
        first, last = bounds[position], bounds[position + 1]
        if not removed[first:last].any():
            stats.written += 1
            yield CleanedDocument(document, document.text)
            continue
        block_starts, block_ends = starts[first:last].tolist(), ends[first:last].tolist()
        if block_ends[-1] > len(document.text):
            raise InputError(f"{document.source}: changed since it was scanned; run clean again")
        cuts = cut_spans(document.text, block_starts, block_ends, removed[first:last].tolist())
        for (cut_start, cut_end), removal in zip(cuts, removals, strict=False):
            block = removal[S.BLOCK]
            audit.block(document, removal, (block_starts[block], block_ends[block]), (cut_start, cut_end))
            stats.blocks_removed += 1
            stats.removed_by_kind[removal[S.KIND]] = stats.removed_by_kind.get(removal[S.KIND], 0) + 1
            stats.short_removed += bool(removal[S.SHORT])
            stats.chars_removed += cut_end - cut_start
        text = apply_cuts(document.text, cuts)
        if text:
            stats.written += 1
        else:
            stats.emptied += 1
        yield CleanedDocument(document, text or None)
    if count != len(decided.doc_ids):
        raise InputError("the inputs changed since they were scanned; run clean again")


class _AuditWriter:
    """The audit table, written in parts so that its size does not bound memory."""

    def __init__(self, path: str, metadata: dict[str, str]) -> None:
        schema = S.REMOVED_SCHEMA.to_arrow().with_metadata(metadata)
        self._writer = pq.ParquetWriter(path, schema)
        self._rows: dict[str, list[Any]] = {name: [] for name in S.REMOVED_SCHEMA}

    def __enter__(self) -> _AuditWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self._flush()
        self._writer.close()

    def _add(self, **row: Any) -> None:
        for name, values in self._rows.items():
            values.append(row.get(name))
        if len(self._rows[S.DOC_ID]) >= _AUDIT_ROWS:
            self._flush()

    def _flush(self) -> None:
        frame = pl.DataFrame(self._rows, schema=S.REMOVED_SCHEMA)
        self._writer.write_table(frame.to_arrow().cast(self._writer.schema))
        for values in self._rows.values():
            values.clear()

    def block(self, document: Document, removal: dict[str, Any], span: tuple[int, int], cut: tuple[int, int]) -> None:
        self._add(
            **{
                S.DOC_ID: document.doc_id,
                S.SOURCE: document.source,
                S.SOURCE_LINE: document.source_line,
                S.START: span[0],
                S.END: span[1],
                S.CUT_START: cut[0],
                S.CUT_END: cut[1],
                S.REMOVED: document.text[cut[0] : cut[1]],
                **{name: removal[name] for name in (S.BLOCK, S.LINE, S.CLUSTER, S.KIND, S.SHORT)},
                **{name: removal[name] for name in (S.KEPT_DOC_ID, S.KEPT_BLOCK, S.KEPT_LINE)},
            }
        )

    def document(self, document: Document, dropped: dict[str, Any]) -> None:
        self._add(
            **{
                S.DOC_ID: document.doc_id,
                S.SOURCE: document.source,
                S.SOURCE_LINE: document.source_line,
                S.START: 0,
                S.END: len(document.text),
                S.LINE: 1,
                S.CUT_START: 0,
                S.CUT_END: len(document.text),
                S.REMOVED: document.text,
                S.KIND: S.DOCUMENT,
                S.KEPT_DOC_ID: dropped[S.CONTAINED_IN],
                S.CONTAINMENT: dropped[S.CONTAINMENT],
            }
        )
