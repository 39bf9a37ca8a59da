"""The local runner's tables: built a batch of blocks (or a chunk of clusters) at a time and streamed into
Parquet, so that no table is ever whole in memory.

Every table is a lazy frame over a Python source that yields its rows part by part (polars'
``register_io_source``); ``sink_parquet`` streams it out and encodes row groups on every core. Rows
meet other tables by key: a block's distinct text (spilled per batch) gives its cluster, a document
key gives its id, a distinct text's first occurrence gives the other block of a pair.

Two passes over the spilled blocks: the first (numbers only, no text) counts each cluster's blocks,
characters and documents and finds its first two documents, and spills each document's clusters for
the container search; the second writes the tables. ``blocks`` and ``pairs`` need nothing from the
first pass and are written while it runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from polars.io.plugins import register_io_source

from dedup import _kernels, documents, output
from dedup import schema as S
from dedup._arrow import first_of_each, gather_spans, offsets_of
from dedup.cluster import CentreAssignment, ClusterNumbers
from dedup.runners.corpus import DistinctTexts
from dedup.runners.indexed import Matched
from dedup.spill import AppendedArray, ArrayStore, PartStore

MATCHES = "matches"
CLUSTER_CHUNK = 50_000  # clusters whose representative texts are read at once
ProgressHook = Callable[[str, int, int | None], None]


@dataclass(frozen=True, slots=True)
class IndexMatches:
    """What the blocks of a scan against an index match: per distinct text (``Matched``), and where each
    matched index text first stands (``index_text``, ``index_doc_id``, … ``index_added_at``)."""

    matched: Matched
    first_occurrences: pl.DataFrame


@dataclass(frozen=True, slots=True)
class Spilled:
    """What the batches spilled that the tables read: block rows and each block's distinct text."""

    parts: PartStore
    distinct: ArrayStore
    folder: Path  # where this step spills each document's clusters


class WriteStopped(Exception):
    """Raised in a table's source when the run stops (Ctrl-C, another table's error): its writer ends with
    the part it is on, not with the whole table."""


def streamed(
    schema: pl.Schema, frames: Callable[[], Iterator[pl.DataFrame]], stop: threading.Event | None = None
) -> pl.LazyFrame:
    """A lazy frame whose rows come from ``frames()``, part by part, for ``sink_parquet`` to stream; once
    ``stop`` is set, the next part raises ``WriteStopped``."""

    def source(
        with_columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None, batch_size: int | None
    ) -> Iterator[pl.DataFrame]:
        for frame in frames():
            if stop is not None and stop.is_set():
                raise WriteStopped
            frame = frame if with_columns is None else frame.select(with_columns)
            yield frame if predicate is None else frame.filter(predicate)

    return register_io_source(source, schema=schema)


@dataclass(slots=True)
class _Tally:
    """Per cluster, from the first pass: blocks, characters, short blocks, documents, first two documents."""

    n_blocks: np.ndarray
    n_chars: np.ndarray
    n_short: np.ndarray
    n_docs: np.ndarray
    first_doc: np.ndarray
    second_doc: np.ndarray

    @classmethod
    def empty(cls, clusters: int) -> _Tally:
        def zeros() -> np.ndarray:
            return np.zeros(clusters, dtype=np.int64)

        def none() -> np.ndarray:
            return np.full(clusters, -1, dtype=np.int64)

        return cls(zeros(), zeros(), zeros(), zeros(), none(), none())


class _ClusterListsSpill:
    """Each document's sorted clusters, appended part by part in document order to one file each for the
    documents, their starts and the clusters: a lookup then reads them through memory maps, never opening a
    file per batch, and memory does not hold them."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir()
        self._docs = AppendedArray(folder, "docs")
        self._starts = AppendedArray(folder, "starts")
        self._clusters = AppendedArray(folder, "clusters")

    def append(self, doc_of: np.ndarray, cluster_of: np.ndarray) -> None:
        """A part's (document, cluster) rows, sorted by document: parts come in document order."""
        docs, starts = first_of_each(doc_of)
        self._docs.append(docs)
        self._starts.append(starts + self._clusters.size)
        self._clusters.append(cluster_of)

    def finish(self) -> _ClusterLists:
        """The lists, to look up; appending ends here."""
        # One more offset than documents: the end of the last one.
        offsets = np.append(self._starts.mapped(), self._clusters.size)
        return _ClusterLists(self._docs.mapped(), offsets, self._clusters.mapped())


@dataclass(frozen=True, slots=True)
class _ClusterLists:
    """Each listed document's sorted clusters: ``clusters[offsets[k]:offsets[k + 1]]`` for ``docs[k]``."""

    docs: np.ndarray
    offsets: np.ndarray
    clusters: np.ndarray

    def __call__(self, doc_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The clusters of each of these documents (none for a document with no clustered block), laid end to
        end, and their offsets (``documents.ClusterLists``)."""
        docs, offsets = self.docs, self.offsets
        rows = np.searchsorted(docs, doc_keys)
        found = (rows < docs.size) & (docs[np.minimum(rows, docs.size - 1)] == doc_keys) if docs.size else rows < 0
        starts = np.where(found, offsets[rows], 0)
        ends = np.where(found, offsets[np.minimum(rows + 1, docs.size)], 0)
        return gather_spans(self.clusters, starts, ends)[0], offsets_of(ends - starts)


class TableWriter:
    """Writes the four tables of a scan from its spilled batches and its corpus-wide state."""

    def __init__(
        self,
        spills: Spilled,
        distinct: DistinctTexts,
        centres: CentreAssignment,
        numbers: ClusterNumbers,
        documents: pl.DataFrame,
        metadata: dict[str, str],
        report: ProgressHook,
        matches: IndexMatches | None = None,
    ) -> None:
        self.spills = spills
        self.matches = matches
        self.distinct = distinct
        self.centres = centres
        self.numbers = numbers
        self.metadata = metadata
        self.report = report
        # doc_key numbers the documents 0, 1, 2, ... in read order: a document's id is looked up by its key.
        self.documents = documents.sort(S.DOC_KEY)
        self.doc_ids = self.documents[S.DOC_ID]
        self.numbers_of_parts = spills.parts.numbers
        self.block_bounds = spills.parts.bounds()
        self.doc_bounds = np.zeros(len(self.numbers_of_parts) + 1, dtype=np.int64)

    def write(self, staged: output.StagedFiles, threads: int) -> None:
        """Stage the four tables (blocks, pairs, clusters, documents) in ``staged``."""
        parts = len(self.numbers_of_parts)
        self.report("tables", 0, parts)
        stop = threading.Event()

        def stage(name: str, schema: pl.Schema, frames: Callable[[], Iterator[pl.DataFrame]]) -> None:
            output.stage_table(staged, name, streamed(schema, frames, stop), self.metadata)

        with ThreadPoolExecutor(max_workers=max(threads, 2), thread_name_prefix="dedup-write") as pool:
            try:
                written_tables = [
                    pool.submit(stage, "blocks", S.BLOCKS_SCHEMA, self._blocks),
                    pool.submit(stage, "pairs", S.PAIRS_SCHEMA, self._pairs),
                ]
                tally, lists = self._tally()
                written_tables.append(pool.submit(stage, "clusters", S.CLUSTERS_SCHEMA, lambda: self._clusters(tally)))
                written_tables.append(
                    pool.submit(stage, "documents", S.DOCUMENTS_SCHEMA, lambda: self._documents(tally, lists))
                )
                if self.matches is not None:
                    written_tables.append(pool.submit(stage, MATCHES, S.MATCHES_SCHEMA, self._matches))
                for written in as_completed(written_tables):
                    written.result()  # raises what a writer raised, as soon as it raised it
            except BaseException:
                # Ctrl-C, SIGTERM or a writer's error: tables not begun are not begun, and those under way end
                # with the part they are on (leaving the pool waits for them).
                stop.set()
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        self.report("tables", parts, parts)

    # ------------------------------------------------------------------ parts

    def _parts(self, columns: list[str]) -> Iterator[tuple[int, pl.DataFrame, np.ndarray, np.ndarray]]:
        """Every part in read order: its number, the columns asked for, its blocks' keys and clusters (-1: none)."""
        for index, number in enumerate(self.numbers_of_parts):
            frame = self.spills.parts.read(number, columns)
            distinct = self.spills.distinct.read(number)
            clusters = np.full(distinct.size, -1, dtype=np.int64)
            matchable = distinct >= 0
            clusters[matchable] = self.numbers.cluster_of[distinct[matchable]]
            keys = np.arange(self.block_bounds[index], self.block_bounds[index + 1], dtype=np.int64)
            yield index, frame, keys, clusters

    def _doc_id(self, keys: np.ndarray | pl.Series) -> pl.Series:
        return self.doc_ids.gather(keys)

    # ------------------------------------------------------------- first pass

    def _tally(self) -> tuple[_Tally, _ClusterLists]:
        """Count every cluster's blocks, characters, short blocks and documents, find its first two
        documents, and spill each document's sorted clusters."""
        tally = _Tally.empty(len(self.numbers))
        spilled = _ClusterListsSpill(self.spills.folder / "document-clusters")
        for index, frame, _, clusters in self._parts([S.DOC_KEY, S.START, S.END, S.SHORT]):
            doc_key = frame[S.DOC_KEY].to_numpy()
            self.doc_bounds[index + 1] = (doc_key[-1] + 1) if doc_key.size else self.doc_bounds[index]
            chars = (frame[S.END] - frame[S.START]).to_numpy()
            short = frame[S.SHORT].to_numpy()
            _kernels.tally_clusters(clusters, chars, short, tally.n_blocks, tally.n_chars, tally.n_short)
            lists = documents.document_clusters(doc_key, clusters, chars)
            doc_of, cluster_of = lists[S.DOC_KEY].to_numpy(), lists[S.CLUSTER].to_numpy()
            _kernels.count_into(cluster_of, tally.n_docs)
            _kernels.first_two_documents(cluster_of, doc_of, tally.first_doc, tally.second_doc)
            spilled.append(doc_of, cluster_of)
        # A part without blocks still holds its documents' keys in order: close any gap.
        np.maximum.accumulate(self.doc_bounds, out=self.doc_bounds)
        return tally, spilled.finish()

    # ----------------------------------------------------------------- tables

    def _blocks(self) -> Iterator[pl.DataFrame]:
        columns = [S.DOC_KEY, S.BLOCK, S.START, S.END, S.LINE, S.SOURCE_LINE, S.SOURCE_COLUMN, S.TEXT, S.SHORT]
        for index, frame, _, clusters in self._parts([*columns, S.EXACT_HASH]):
            yield frame.select(
                self._doc_id(frame[S.DOC_KEY]).alias(S.DOC_ID),
                S.BLOCK,
                S.START,
                S.END,
                S.LINE,
                S.SOURCE_LINE,
                S.SOURCE_COLUMN,
                S.TEXT,
                pl.Series(S.CLUSTER, clusters).replace(-1, None),
                S.SHORT,
                S.EXACT_HASH,
            )
            self.report("tables", index + 1, len(self.numbers_of_parts))

    def _pairs(self) -> Iterator[pl.DataFrame]:
        """Each block with the block it repeats: an exact copy with the first occurrence of its text, the
        first occurrence of a near text with its cluster's representative. In the order of that block."""
        distinct, centres = self.distinct, self.centres
        first_key, near = distinct.first_block_key.values, distinct.near.values
        members = centres.members
        for index, frame, keys, clusters in self._parts([S.DOC_KEY, S.BLOCK, S.LINE]):
            text = self.spills.distinct.read(self.numbers_of_parts[index])
            rows = np.flatnonzero(text >= 0)
            of = text[rows]
            exact = first_key[of] != keys[rows]
            node = near[of]
            member = ~exact & _lookup(members, node, False)
            paired = exact | member
            rows, of, exact, node = rows[paired], of[paired], exact[paired], node[paired]
            centre_node = _lookup(centres.centre, node, -1)
            repeated = np.where(exact, of, _lookup(distinct.near_distinct.values, centre_node, -1))
            yield pl.DataFrame(
                {
                    S.DOC_A: self._doc_id(distinct.first_doc.values[repeated]),
                    S.BLOCK_A: distinct.first_block.values[repeated],
                    S.DOC_B: self._doc_id(frame[S.DOC_KEY].to_numpy()[rows]),
                    S.BLOCK_B: frame[S.BLOCK].to_numpy()[rows],
                    S.KIND: _labels(exact, S.EXACT, S.NEAR),
                    S.JACCARD: np.where(exact, 1.0, _lookup(centres.jaccard, node, 1.0)),
                    S.CONTAINMENT: np.where(exact, 1.0, _lookup(centres.containment, node, 1.0)),
                    S.CLUSTER: clusters[rows],
                    "line_a": distinct.first_line.values[repeated],
                    "line_b": frame[S.LINE].to_numpy()[rows],
                },
                schema=S.PAIRS_SCHEMA,
            )

    def _matches(self) -> Iterator[pl.DataFrame]:
        """Each block that repeats indexed text, with the earlier copy it matched, in the order of the blocks."""
        assert self.matches is not None
        matched = self.matches.matched
        where = self.matches.first_occurrences
        for index, frame, _, _ in self._parts([S.DOC_KEY, S.BLOCK, S.LINE]):
            own = self.spills.distinct.read(self.numbers_of_parts[index])
            rows = np.flatnonzero((own >= 0) & (matched.text[np.maximum(own, 0)] >= 0))
            of = own[rows]
            # A left join keeps the order of the left rows: the occurrences found line up with the blocks.
            found = pl.DataFrame({"index_text": matched.text[of]}).join(
                where, on="index_text", how="left", maintain_order="left"
            )
            blocks = pl.DataFrame(
                {
                    S.DOC_ID: self._doc_id(frame[S.DOC_KEY].to_numpy()[rows]),
                    S.BLOCK: frame[S.BLOCK].to_numpy()[rows],
                    S.LINE: frame[S.LINE].to_numpy()[rows],
                    S.KIND: _labels(matched.exact[of], S.EXACT, S.NEAR),
                    S.JACCARD: matched.jaccard[of],
                    S.CONTAINMENT: matched.containment[of],
                    "index_cluster": matched.cluster[of],
                }
            )
            joined = pl.concat([blocks, found], how="horizontal")
            yield joined.select(list(S.MATCHES_SCHEMA)).cast(S.MATCHES_SCHEMA)  # type: ignore[arg-type]

    def _clusters(self, tally: _Tally) -> Iterator[pl.DataFrame]:
        distinct = self.distinct
        count = len(self.numbers)
        for start in range(0, count, CLUSTER_CHUNK):
            chunk = slice(start, min(start + CLUSTER_CHUNK, count))
            representative = self.numbers.representatives[chunk]
            n_blocks, n_docs = tally.n_blocks[chunk], tally.n_docs[chunk]
            yield pl.DataFrame(
                {
                    S.CLUSTER: np.arange(chunk.start, chunk.stop, dtype=np.int64),
                    S.KIND: _labels(self.numbers.near[chunk], S.NEAR, S.EXACT),
                    S.SCOPE: _labels(n_docs > 1, S.CROSS_DOC, S.WITHIN_DOC),
                    S.N_BLOCKS: n_blocks,
                    S.N_DOCS: n_docs,
                    S.SHORT: tally.n_short[chunk] == n_blocks,
                    S.N_CHARS: tally.n_chars[chunk],
                    S.DOC_ID: self._doc_id(distinct.first_doc.values[representative]),
                    S.BLOCK: distinct.first_block.values[representative],
                    S.LINE: distinct.first_line.values[representative],
                    S.TEXT: self.spills.parts.take(S.TEXT, distinct.first_block_key.values[representative]),
                },
                schema=S.CLUSTERS_SCHEMA,
            )

    def _documents(self, tally: _Tally, lists: _ClusterLists) -> Iterator[pl.DataFrame]:
        for index, frame, _, clusters in self._parts([S.DOC_KEY, S.START, S.END]):
            doc_key = frame[S.DOC_KEY].to_numpy()
            chars = (frame[S.END] - frame[S.START]).to_numpy()
            per_doc = (
                pl.DataFrame({S.DOC_KEY: doc_key, S.N_CHARS: chars, "held": clusters >= 0})
                .group_by(S.DOC_KEY)
                .agg(
                    pl.len().cast(pl.Int64).alias(S.N_BLOCKS),
                    pl.col(S.N_CHARS).sum(),
                    pl.col(S.N_CHARS).filter(pl.col("held")).sum().alias(S.DUP_CHARS),
                )
            )
            held = documents.document_clusters(doc_key, clusters, chars)
            best = documents.containers(held, tally.first_doc, tally.second_doc, lists)
            best = best.with_columns(self._doc_id(best[S.CONTAINED_IN].to_numpy()).alias(S.CONTAINED_IN))
            docs = self.documents.slice(self.doc_bounds[index], self.doc_bounds[index + 1] - self.doc_bounds[index])
            yield (
                docs.join(per_doc, on=S.DOC_KEY, how="left")
                .join(best, on=S.DOC_KEY, how="left")
                .sort(S.DOC_KEY)
                .with_columns(
                    pl.col(S.N_BLOCKS).fill_null(0),
                    pl.col(S.N_CHARS).fill_null(0),
                    pl.col(S.DUP_CHARS).fill_null(0),
                    (pl.col("covered") / pl.col(S.N_CHARS)).alias(S.CONTAINMENT),
                )
                .with_columns((pl.col(S.DUP_CHARS) / pl.col(S.N_CHARS)).fill_nan(0.0).alias(S.DUP_FRACTION))
                .select(list(S.DOCUMENTS_SCHEMA))
                .cast(S.DOCUMENTS_SCHEMA)  # type: ignore[arg-type]
            )


def _lookup(values: np.ndarray, index: np.ndarray, missing: object) -> np.ndarray:
    """``values[index]`` where ``index >= 0``, ``missing`` where it is -1 (``values`` may be empty)."""
    found = np.full(index.size, missing, dtype=values.dtype)
    valid = index >= 0
    found[valid] = values[index[valid]]
    return found


def _labels(mask: np.ndarray, if_true: str, if_false: str) -> pl.Series:
    """One of two labels per row, as a String column (``kind``, ``scope``).

    Not ``np.where(mask, if_true, if_false)``: polars converts a numpy array of strings element by element,
    0.8 s per 2 million pairs, a sixth of the tables of a crawl of 400 MB. Gathered from the two labels:
    a tenth of the time of ``replace_strict`` on a part's 45,000 rows.
    """
    return pl.Series([if_false, if_true], dtype=pl.String).gather(np.asarray(mask, dtype=np.uint32))
