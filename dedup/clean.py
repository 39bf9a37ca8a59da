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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from dedup import schema as S
from dedup.commit import LOCK_NAME, commit, fsync_file, fsync_folder, recover, remove, temporary_name, writer_lock
from dedup.errors import InputError, OptionsError, OutputError
from dedup.formats.detect import COMPRESSION_SUFFIXES
from dedup.formats.memory import as_inputs, in_memory, paths_of
from dedup.index import Index
from dedup.keep import Decisions, block_batches, decide, decide_matches, dropped_documents, match_batches
from dedup.keep import document_ranks as keep_ranks
from dedup.options import CleanOptions
from dedup.output import MATCHES, output_errors
from dedup.pipeline import open_index, scan
from dedup.result import DOC_POS, ORDER, ScanResult
from dedup.sources import Document, ReadStats, Skip, discover, read_documents, resolve
from dedup.writers import CleanedDocument, Writer, writer_for

REMOVED_SUFFIX = ".removed.parquet"
_AUDIT_ROWS = 50_000  # rows of the audit table buffered before they are written
SPARK_UPDATE = (
    "--update adds to the index on this machine: leave out --engine spark, or scan against the index on Spark"
    " and add with: dedup index add INDEX PATHS --engine spark"
)


@dataclass(frozen=True, slots=True)
class Plan:
    """What a clean removes, decided from the scan tables alone (see ``dedup.keep``).

    Attributes:
        decisions: what happens to each cluster's blocks.
        dropped: the dropped documents: ``doc_pos``, ``doc_id``, ``contained_in``, ``containment``.
        doc_ids: the id of every document, in read order.
        result: the scan, whose blocks are read again as the documents are.
        doc_chars: the characters in blocks of every document, in read order: what the scan counts.
    """

    decisions: Decisions
    dropped: pl.DataFrame
    doc_ids: list[str]
    result: ScanResult
    doc_chars: np.ndarray
    matched: pl.DataFrame | None = None  # against an index: whether each index cluster's blocks are cut

    def blocks_by_document(self) -> Iterator[tuple[int, pl.DataFrame]]:
        """Every document's blocks in read order, with ``removed`` (and, against an index, what each block
        matched there): its position and its blocks."""
        pending: list[pl.DataFrame] = []
        matches = _Lockstep(match_batches(self.result, self.doc_ids)) if self.matched is not None else None
        for frame in block_batches(self.result, self.doc_ids):
            frame = frame.with_columns(pl.Series("removed", self._removed(frame)))
            if matches is not None:
                frame = self._with_matches(frame, matches)
            positions = frame[DOC_POS].to_numpy()
            cuts = np.flatnonzero(np.diff(positions)) + 1
            pieces = np.split(np.arange(frame.height), cuts)
            for piece in pieces[:-1]:
                pending.append(frame[int(piece[0]) : int(piece[-1]) + 1])
                yield _joined(pending)
                pending = []
            if pieces[-1].size:
                pending.append(frame[int(pieces[-1][0]) :])
        if pending:
            yield _joined(pending)

    def _with_matches(self, frame: pl.DataFrame, matches: _Lockstep) -> pl.DataFrame:
        """The blocks with what they matched in the index; one that joins an index cluster that is cut goes."""
        assert self.matched is not None
        found = matches.until(int(frame[DOC_POS][-1]), int(frame[S.BLOCK][-1]))
        extra = [name for name in S.MATCHES_SCHEMA if name not in (S.DOC_ID, S.BLOCK, S.LINE)]
        found = found.select(DOC_POS, S.BLOCK, *[pl.col(name).alias(f"match_{name}") for name in extra])
        joined = frame.join(found, on=[DOC_POS, S.BLOCK], how="left", maintain_order="left").join(
            self.matched.select(
                pl.col("index_cluster").alias("match_index_cluster"),
                pl.col("cut").alias("match_cut"),
                pl.col("boilerplate").alias("match_boilerplate"),
            ),
            on="match_index_cluster",
            how="left",
            maintain_order="left",
        )
        return joined.with_columns((pl.col("removed") | pl.col("match_cut").fill_null(False)).alias("removed"))

    def _removed(self, frame: pl.DataFrame) -> np.ndarray:
        cluster = frame[S.CLUSTER].fill_null(-1).to_numpy()
        held = cluster >= 0
        removed = np.zeros(frame.height, dtype=bool)
        c = cluster[held]
        removed[held] = self.decisions.cut[c] & (self.decisions.kept_order[c] != frame[ORDER].to_numpy()[held])
        return removed


class _Lockstep:
    """Rows of a table in read order, handed out as far as the blocks read so far reach."""

    def __init__(self, batches: Iterator[pl.DataFrame]) -> None:
        self._batches = batches
        self._held: pl.DataFrame | None = None

    def until(self, position: int, block: int) -> pl.DataFrame:
        """The rows up to block ``block`` of the document at ``position``, inclusive."""
        while self._held is None or self._held.is_empty() or self._last(self._held) <= (position, block):
            following = next(self._batches, None)
            if following is None:
                break
            self._held = following if self._held is None else pl.concat([self._held, following])
        if self._held is None:
            return pl.DataFrame(schema=S.MATCHES_SCHEMA | {DOC_POS: pl.Int64})
        within = (pl.col(DOC_POS) < position) | ((pl.col(DOC_POS) == position) & (pl.col(S.BLOCK) <= block))
        taken, self._held = self._held.filter(within), self._held.filter(~within)
        return taken

    @staticmethod
    def _last(frame: pl.DataFrame) -> tuple[int, int]:
        return int(frame[DOC_POS][-1]), int(frame[S.BLOCK][-1])


def _joined(pieces: list[pl.DataFrame]) -> tuple[int, pl.DataFrame]:
    frame = pieces[0] if len(pieces) == 1 else pl.concat(pieces)
    return int(frame[DOC_POS][0]), frame


def plan(
    result: ScanResult, options: CleanOptions, index: Index | None = None, ranks: np.ndarray | None = None
) -> Plan:
    """Decide which documents are dropped and what happens to each cluster.

    Dropped documents come first, so that the kept occurrence of every cluster is one that stays in
    the output. Against an index, a block that joins an index cluster is cut by the same rules, the
    index's copy being the kept one. With ``options.keep_by``, ``ranks`` ranks every document
    (``document_ranks``).
    """
    documents = (
        result.lazy("documents")
        .select(S.DOC_ID, S.CONTAINED_IN, S.CONTAINMENT, S.N_CHARS)
        .collect()
        .with_row_index(DOC_POS)
    )
    dropped = dropped_documents(documents, options.drop_docs_over)
    doc_ids = documents[S.DOC_ID].to_list()
    is_dropped = np.zeros(len(doc_ids), dtype=bool)
    is_dropped[dropped[DOC_POS].to_numpy()] = True
    matched = None
    if index is not None and MATCHES in result.files:
        clusters = result.lazy(MATCHES).select("index_cluster").unique().collect()["index_cluster"].to_numpy()
        matched = decide_matches(result, options, index.cluster_documents(clusters))
    doc_chars = documents[S.N_CHARS].to_numpy()
    return Plan(decide(result, options, is_dropped, doc_ids, ranks), dropped, doc_ids, result, doc_chars, matched)


def document_ranks(paths: Sequence[str | Path], options: CleanOptions, result: ScanResult) -> np.ndarray | None:
    """With ``options.keep_by``: every document's rank by its field, read from the inputs in one more pass
    (the scan reads no other field); None without it.

    Raises:
        InputError: the inputs changed since the scan.
        OptionsError: no document has the field.
    """
    if options.keep_by is None:
        return None
    doc_ids = result.lazy("documents").select(S.DOC_ID).collect()[S.DOC_ID].to_list()
    read = replace(options.scan.read, keep_field=options.keep_by.field)
    values = [document.keep_value for document in _as_scanned(read_documents(paths, read, ReadStats()), doc_ids)]
    return keep_ranks(values, options.keep_by, ", ".join(str(path) for path in paths))


def _as_scanned(documents: Iterable[Document], doc_ids: Sequence[str]) -> Iterator[Document]:
    """The documents read again, each checked to be the one the scan read at its place.

    Raises:
        InputError: a document is not the one scanned there, or there are more or fewer than scanned.
    """
    count = 0
    for position, document in enumerate(documents):
        if position >= len(doc_ids) or document.doc_id != doc_ids[position]:
            raise InputError(f"{document.source}: changed since it was scanned; run clean again")
        count += 1
        yield document
    if count != len(doc_ids):
        raise InputError("the inputs changed since they were scanned; run clean again")


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
    boilerplate_removed: int = 0  # of them, blocks of clusters that stand in many documents
    # Characters in blocks, as the scan counts them (white space between blocks is in none): the totals of
    # dedup scan and dedup clean agree, and a share of the one is a share of the other.
    chars: int = 0  # of the documents read
    chars_removed: int = 0  # of the blocks cut and the documents dropped


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
    return {
        "keep": options.keep,
        "drop_docs_over": options.drop_docs_over,
        "cut_short": options.cut_short,
        "boilerplate_docs": options.boilerplate_docs,
        "drop_boilerplate": options.drop_boilerplate,
        "keep_by": asdict(options.keep_by) if options.keep_by else None,
    }


def default_removed_path(out: str | Path) -> Path:
    """``<out>.removed.parquet`` beside the output folder: never inside it, and named for it, so that cleans
    into two folders keep two audits."""
    folder = Path(out).resolve()
    return folder.with_name(folder.name + REMOVED_SUFFIX)


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
            if isinstance(found, Skip):
                continue  # not read, so not written
            resolved = resolve(found)
            if isinstance(resolved, Skip):
                continue
            file = found.path
            inputs.append((file, file.resolve()))
            writer = writer_for(file, resolved[1])
            relative = Path(file.name) if base is None else file.relative_to(base)
            if writer.suffix is not None:
                relative = _with_suffix(relative, writer.suffix)
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


def _with_suffix(path: Path, suffix: str) -> Path:
    """The path with its format suffix replaced, under its compression suffix (``page.html.gz`` -> ``page.txt.gz``)."""
    if path.suffix.lower() in COMPRESSION_SUFFIXES:
        return path.with_name(Path(path.stem).with_suffix(suffix).name + path.suffix)
    return path.with_suffix(suffix)


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
    if removed.exists() and not overwrite:
        raise OutputError(f"{removed}: exists; choose another --removed, or replace it with --overwrite")
    if out.is_dir() and not overwrite and any(out.iterdir()):
        raise OutputError(f"{out}: exists and is not empty; choose a new folder, or replace it with --overwrite")


def _file_inputs(given: object) -> list[str | Path]:
    """The paths to clean.

    Raises:
        InputError: an in-memory input: clean writes a cleaned copy of each file, and it has none.
    """
    inputs = as_inputs(given)
    held = in_memory(inputs)
    if held:
        raise InputError(
            f"{held[0].name}: clean writes a cleaned copy of each input file, and an in-memory input has none;"
            " write it to a file first (JSONL, Parquet), or find its duplicates with dedup.scan"
        )
    return paths_of(inputs)


def clean(
    paths: str | Path | Sequence[str | Path],
    out: str | Path,
    options: CleanOptions | None = None,
    removed: str | Path | None = None,
    overwrite: bool = False,
    index: str | Path | Index | None = None,
    update: bool = False,
    name: str | None = None,
    scanner: Callable[..., ScanResult] | None = None,
) -> CleanResult:
    """Write the corpus without its duplicate blocks, and the audit table of what was cut.

    Args:
        paths: a folder, file or glob pattern, or a list of them (as for ``dedup.scan``; not in-memory
            inputs, which have no file to write a copy of).
        out: the output folder; each input file's cleaned copy goes there.
        options: what to remove and what to keep.
        removed: the audit table; ``<out>.removed.parquet`` beside ``out`` by default.
        overwrite: replace ``out`` when it exists and is not empty.
        index: an index of earlier data: what it holds is cut too (its copy is the kept one).
        update: add the documents to ``index`` in the same run (not with ``keep="none"``).
        name: the add's name.
        scanner: what scans the inputs instead of ``dedup.scan`` (``dedup.spark.scan_files`` on Spark), given
            ``index=`` when there is one; not with ``update``.

    Returns:
        The counts, the paths written and the scan the clean was based on.

    Raises:
        InputError: an input does not exist, or changed during the clean; an in-memory input.
        NoDocumentsError: the inputs held no document.
        OutputError: see ``layout``; or the output cannot be written. Nothing
            is left in ``out`` or at ``removed`` when writing fails.
    """
    options = options or CleanOptions()
    paths = _file_inputs(paths)
    out_path = Path(out)
    removed_path = Path(removed) if removed is not None else default_removed_path(out_path)
    targets = layout(paths, out_path, removed_path, overwrite)
    idx = open_index(index, options.scan, create=update) if index is not None else None
    if update and options.keep == "none":
        raise OptionsError("--keep none cuts what the index holds; it does not add to it (leave out --update)")
    if scanner is not None and update:
        raise OptionsError(SPARK_UPDATE)
    if scanner is not None:
        result = scanner(paths, options.scan, index=idx) if idx is not None else scanner(paths, options.scan)
    else:
        result = scan(paths, options.scan, index=idx, update=update, name=name)
    decided = plan(result, options, idx, document_ranks(paths, options, result))
    stats = CleanStats()
    metadata = {"dedup": json.dumps({**result.settings(), "clean": _clean_settings(options)}, sort_keys=True)}
    final = out_path.resolve()  # "." and "a/.." have a name and a parent only once resolved
    with output_errors(final):
        final.parent.mkdir(parents=True, exist_ok=True)
        removed_path.parent.mkdir(parents=True, exist_ok=True)
    with writer_lock(final.parent / f".{final.name}{LOCK_NAME}", str(out_path)), output_errors(final):
        recover(final.parent)
        recover(removed_path.resolve().parent)
        with (
            _staged(final, removed_path.resolve()) as (staging, audit_file),
            _AuditWriter(str(audit_file), metadata) as audit,
        ):
            _write_files(paths, options, decided, targets, staging, audit, stats)
    return CleanResult(stats=stats, out=out_path, removed=removed_path, options=options, scan=result)


@contextmanager
def _staged(out: Path, removed: Path) -> Iterator[tuple[Path, Path]]:
    """A hidden folder beside ``out`` and a hidden file beside ``removed`` to write into; on success they
    replace both in one journaled commit (``dedup.commit``), on failure they are removed, and a run killed
    on the way is finished or cleared by the next."""
    staging, audit = temporary_name(out), temporary_name(removed)
    staging.mkdir()
    try:
        yield staging, audit
        _synced(staging)
        fsync_file(audit)
        aside = (out, temporary_name(out)) if out.exists() else None
        commit([(staging, out), (audit, removed)], out.parent, aside=aside)
        if aside is not None:
            remove(aside[1])
    finally:
        remove(staging)
        remove(audit)


def _synced(folder: Path) -> None:
    """fsync every file and folder below ``folder``, so that the rename that publishes it exposes whole files."""
    for root, _, files in os.walk(folder):
        for name in files:
            fsync_file(Path(root) / name)
        fsync_folder(Path(root))


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
    dropped = {row[DOC_POS]: row for row in decided.dropped.iter_rows(named=True)}  # few: only documents over the limit
    by_document = decided.blocks_by_document()
    upcoming = next(by_document, None)
    for position, document in enumerate(_as_scanned(documents, decided.doc_ids)):
        stats.documents += 1
        stats.chars += int(decided.doc_chars[position])
        blocks = None
        if upcoming is not None and upcoming[0] == position:
            blocks = upcoming[1]
            upcoming = next(by_document, None)
        if position in dropped:
            audit.document(document, dropped[position])
            stats.dropped += 1
            stats.chars_removed += int(decided.doc_chars[position])
            yield CleanedDocument(document, None)
            continue
        if blocks is None or not blocks["removed"].any():
            stats.written += 1
            yield CleanedDocument(document, document.text)
            continue
        removed = blocks.filter(pl.col("removed")).select(S.START, S.END).rows()
        yield CleanedDocument(document, _cut_document(document, blocks, decided, audit, stats), tuple(removed))


def _cut_document(
    document: Document, blocks: pl.DataFrame, decided: Plan, audit: _AuditWriter, stats: CleanStats
) -> str | None:
    """The document without its removed blocks, every cut recorded; ``None`` when nothing is left."""
    starts, ends = blocks[S.START].to_list(), blocks[S.END].to_list()
    if ends[-1] > len(document.text):
        raise InputError(f"{document.source}: changed since it was scanned; run clean again")
    removed = blocks["removed"].to_list()
    cuts = cut_spans(document.text, starts, ends, removed)
    decisions = decided.decisions
    for (cut_start, cut_end), row in zip(cuts, blocks.filter(pl.col("removed")).iter_rows(named=True), strict=True):
        cluster = row[S.CLUSTER]
        if row.get("match_cut"):  # the copy kept is the index's
            kind, boilerplate = row[f"match_{S.KIND}"], bool(row.get("match_boilerplate"))
            kept_at = (row["match_index_doc_id"], row["match_index_block"], row["match_index_line"])
        else:
            kept = decisions.kept_order[cluster] >= 0
            kind = S.EXACT if row[S.EXACT_HASH] == decisions.kept_hash[cluster] else S.NEAR
            boilerplate = bool(decisions.boilerplate[cluster])
            kept_at = (
                (
                    decided.doc_ids[decisions.kept_doc[cluster]],
                    int(decisions.kept_block[cluster]),
                    int(decisions.kept_line[cluster]),
                )
                if kept
                else (None, None, None)
            )
        removal = {
            S.BLOCK: row[S.BLOCK],
            S.LINE: row[S.LINE],
            S.CLUSTER: cluster,
            S.KIND: kind,
            S.SHORT: row[S.SHORT],
            S.KEPT_DOC_ID: kept_at[0],
            S.KEPT_BLOCK: kept_at[1],
            S.KEPT_LINE: kept_at[2],
        }
        audit.block(document, removal, (row[S.START], row[S.END]), (cut_start, cut_end))
        stats.blocks_removed += 1
        stats.removed_by_kind[kind] = stats.removed_by_kind.get(kind, 0) + 1
        stats.short_removed += bool(row[S.SHORT])
        stats.boilerplate_removed += boilerplate
        stats.chars_removed += row[S.END] - row[S.START]
    text = apply_cuts(document.text, cuts)
    if text:
        stats.written += 1
    else:
        stats.emptied += 1
    return text or None


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
