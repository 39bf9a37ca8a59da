"""What a clean keeps: the decision for every cluster and document, made from the scan's tables in one
streaming pass, in memory that grows with the clusters and documents, never with the blocks.

For each cluster (a row of ``clusters.parquet``):

- *boilerplate*: its blocks stand in at least ``boilerplate_docs`` documents (a site's footer, menu or
  cookie banner); ``drop_boilerplate`` cuts every occurrence, else one is kept like any repeat;
- a *short* cluster that is not boilerplate (a ``}`` twice on a page, a heading used twice) is left
  alone unless ``cut_short``: repeating a short line within a few documents is no duplicate content;
- every other cluster keeps one occurrence by the keep policy (``first`` in read order, ``longest``,
  ``last``) or none (``none``: decontamination), among the documents that are not dropped.

Documents contained in a kept document to at least ``drop_docs_over`` are dropped whole (see
``dropped_documents``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
from numba import njit

from dedup import schema as S
from dedup.errors import InputError, OptionsError
from dedup.options import CleanOptions, KeepBy
from dedup.output import MATCHES
from dedup.result import DOC_POS, ORDER, ScanResult

KEEP_CODES = {"first": 0, "longest": 1, "last": 2, "none": 3}
NONE = KEEP_CODES["none"]
BY_RANK = 4  # keep_by: the occurrence in the document of the highest rank
BATCH_ROWS = 65_536  # blocks read at once
BLOCK_COLUMNS = [S.DOC_ID, S.BLOCK, S.START, S.END, S.LINE, S.CLUSTER, S.SHORT, S.EXACT_HASH]


@dataclass(frozen=True, slots=True)
class Decisions:
    """What happens to each cluster's blocks, indexed by cluster number.

    Attributes:
        cut: its blocks are cut, but the kept one.
        boilerplate: it stands in at least ``boilerplate_docs`` documents.
        kept_order: the read-order number of the kept block, -1 when none is kept.
        kept_doc, kept_block, kept_line: where the kept block stands (its document's position).
        kept_hash: the exact key a cut block is compared with (``kind``): the kept block's, or the
            first occurrence's when none is kept.
    """

    cut: np.ndarray
    boilerplate: np.ndarray
    kept_order: np.ndarray
    kept_doc: np.ndarray
    kept_block: np.ndarray
    kept_line: np.ndarray
    kept_hash: np.ndarray


def block_batches(result: ScanResult, doc_ids: list[str]) -> Iterator[pl.DataFrame]:
    """The blocks (no text) in read order, a batch at a time, with ``order`` (the block's read-order
    number) and ``doc_pos`` (its document's read-order number), found by merging the blocks' document
    ids with the documents table's, which lists them in the same order.

    Raises:
        InputError: the tables disagree (a block's document is not listed, or out of order).
    """
    order = 0
    for frame in _positioned(result.files["blocks"], BLOCK_COLUMNS, doc_ids):
        yield frame.with_columns(pl.Series(ORDER, np.arange(order, order + frame.height, dtype=np.int64)))
        order += frame.height


def match_batches(result: ScanResult, doc_ids: list[str]) -> Iterator[pl.DataFrame]:
    """The matches against an index (``matches.parquet``) in read order, a batch at a time, with ``doc_pos``."""
    yield from _positioned(result.files[MATCHES], list(S.MATCHES_SCHEMA), doc_ids)


def _positioned(path: Path, columns: list[str], doc_ids: list[str]) -> Iterator[pl.DataFrame]:
    """A table of rows in document order, a batch at a time, with each row's document position."""
    position = -1
    current: str | None = None
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=columns):
        frame = pl.DataFrame(pl.from_arrow(batch))
        ids = frame[S.DOC_ID]
        starts = np.flatnonzero(np.asarray((ids != ids.shift(1, fill_value=current)).fill_null(True)))
        positions = np.empty(frame.height, dtype=np.int64)
        previous_start = 0
        for start in starts.tolist():
            positions[previous_start:start] = position
            position += 1
            while position < len(doc_ids) and doc_ids[position] != ids[start]:
                position += 1  # a document with no row in this table
            if position >= len(doc_ids):
                raise InputError(f"{path}: its rows and the documents table disagree at {ids[start]!r}")
            previous_start = start
        positions[previous_start:] = position
        current = ids[-1] if frame.height else current
        yield frame.with_columns(pl.Series(DOC_POS, positions))


def decide_matches(result: ScanResult, options: CleanOptions, index_docs: pl.DataFrame) -> pl.DataFrame:
    """For a clean against an index: whether the blocks that join each index cluster are cut
    (``index_cluster``, ``cut``); the copy kept is the index's.

    The rules of ``decide`` over the index's documents and these: boilerplate by the documents both hold,
    short repeats cut only when boilerplate or with ``cut_short``, everything with ``keep="none"``.

    Args:
        index_docs: documents per index cluster in the index (``cluster``, ``n_docs``).
    """
    matches = result.lazy(MATCHES)
    blocks = result.blocks_lazy.select(S.DOC_ID, S.BLOCK, S.SHORT)
    per_cluster = (
        matches.join(blocks, on=[S.DOC_ID, S.BLOCK], how="left")
        .group_by("index_cluster")
        .agg(pl.col(S.DOC_ID).n_unique().alias("new_docs"), pl.col(S.SHORT).all().alias(S.SHORT))
        .collect()
        .join(index_docs.rename({S.CLUSTER: "index_cluster"}), on="index_cluster", how="left")
    )
    documents = pl.col("new_docs") + pl.col(S.N_DOCS).fill_null(0)
    boilerplate = documents >= options.boilerplate_docs
    cut = boilerplate | ~pl.col(S.SHORT) | options.cut_short | (options.keep == "none")
    return per_cluster.select("index_cluster", cut.alias("cut"), boilerplate.alias("boilerplate"))


def decide(
    result: ScanResult,
    options: CleanOptions,
    dropped: np.ndarray,
    doc_ids: list[str],
    ranks: np.ndarray | None = None,
) -> Decisions:
    """The decision for every cluster, from one pass over the blocks.

    Args:
        result: the scan.
        options: the keep policy, boilerplate and short-line rules.
        dropped: whether each document (by position) is dropped whole.
        doc_ids: every document's id, in read order.
        ranks: with ``options.keep_by``, the rank of every document by position (``document_ranks``).
    """
    clusters = result.lazy("clusters").select(S.N_DOCS, S.SHORT).collect()
    boilerplate = (clusters[S.N_DOCS] >= options.boilerplate_docs).to_numpy()
    short = clusters[S.SHORT].to_numpy()
    cut = boilerplate | ~short | options.cut_short
    by_rank = options.keep_by is not None
    if by_rank and (ranks is None or ranks.size != len(doc_ids)):
        raise ValueError("keep_by needs the rank of every document")
    policy = np.full(clusters.height, BY_RANK if by_rank else KEEP_CODES[options.keep], dtype=np.int64)
    if options.drop_boilerplate:
        policy[boilerplate] = NONE
    count = clusters.height
    kept_order = np.full(count, -1, dtype=np.int64)
    kept_size = np.full(count, -1, dtype=np.int64)
    kept_doc = np.full(count, -1, dtype=np.int64)
    kept_block = np.full(count, -1, dtype=np.int32)
    kept_line = np.full(count, -1, dtype=np.int32)
    kept_hash = np.zeros(count, dtype=np.uint64)
    kept_rank = np.full(count, -np.inf)
    seen = np.zeros(count, dtype=np.bool_)
    document_rank = ranks if ranks is not None else np.zeros(len(doc_ids))
    for frame in block_batches(result, doc_ids):
        clustered = frame.filter(pl.col(S.CLUSTER).is_not_null())
        _choose(
            clustered[S.CLUSTER].to_numpy(),
            clustered[ORDER].to_numpy(),
            (clustered[S.END] - clustered[S.START]).to_numpy(),
            clustered[DOC_POS].to_numpy(),
            clustered[S.BLOCK].to_numpy(),
            clustered[S.LINE].to_numpy(),
            clustered[S.EXACT_HASH].to_numpy(),
            dropped,
            document_rank,
            policy,
            seen,
            (kept_order, kept_size, kept_doc, kept_block, kept_line, kept_hash, kept_rank),
        )
    return Decisions(cut, boilerplate, kept_order, kept_doc, kept_block, kept_line, kept_hash)


@njit(cache=True, nogil=True)
def _choose(clusters, orders, sizes, docs, blocks, lines, hashes, dropped, ranks, policy, seen, kept):
    """Update each cluster's kept block with these blocks (in read order) by its policy; ties keep the first."""
    kept_order, kept_size, kept_doc, kept_block, kept_line, kept_hash, kept_rank = kept
    for k in range(clusters.shape[0]):
        c = clusters[k]
        if not seen[c]:  # the first occurrence: compared with when no block is kept
            seen[c] = True
            kept_hash[c] = hashes[k]
        if policy[c] == 3 or dropped[docs[k]]:
            continue
        take = (
            kept_order[c] < 0
            or policy[c] == 2
            or (policy[c] == 1 and sizes[k] > kept_size[c])
            or (policy[c] == 4 and ranks[docs[k]] > kept_rank[c])
        )
        if take:
            kept_order[c], kept_size[c], kept_doc[c] = orders[k], sizes[k], docs[k]
            kept_block[c], kept_line[c], kept_hash[c] = blocks[k], lines[k], hashes[k]
            kept_rank[c] = ranks[docs[k]]


def dropped_documents(documents: pl.DataFrame, over: float | None) -> pl.DataFrame:
    """The documents to drop: contained in a kept document to at least ``over``.

    The most contained go first (ties: the later one). A document is not dropped when it contains an
    already dropped one, or when its own container is dropped: so two documents never drop each other,
    and every dropped document's text stands in a document that is kept.

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


def document_ranks(values: Sequence[object], keep_by: KeepBy, field_source: str) -> np.ndarray:
    """The rank of every document by its ``keep_by`` field value (higher stays), in read order.

    A missing or empty value and a value not in the priority list rank last (-inf). Numbers rank as numbers
    when every value found is one (booleans are not numbers here); otherwise every value ranks by its text.

    Raises:
        OptionsError: no document has the field (``field_source`` names where it was looked for).
    """
    # An empty value is no value: a CSV writes a missing one as an empty field.
    values = [None if isinstance(value, str) and not value.strip() else value for value in values]
    present = [value for value in values if value is not None]
    if not present:
        raise OptionsError(
            f"--keep-by {keep_by.field}: no document of {field_source} has this field "
            "(it ranks records of JSONL, JSON, CSV and Parquet inputs)"
        )
    ranks = np.full(len(values), -np.inf)
    if keep_by.order == "priority":
        preference = {value: len(keep_by.priority) - place for place, value in enumerate(keep_by.priority)}
        for position, value in enumerate(values):
            if value is not None:
                ranks[position] = preference.get(str(value), -np.inf)
        return ranks
    numeric = all(isinstance(value, int | float) and not isinstance(value, bool) for value in present)
    known = np.flatnonzero(np.array([value is not None for value in values], dtype=bool))
    if numeric:
        ranks[known] = np.array(present, dtype=np.float64)
    else:  # by text: each value's place among the distinct texts
        # A few values per document, of any text: np.unique sorts them (no hash table for objects).
        texts = np.array([str(value) for value in present], dtype=object)
        _, place = np.unique(texts, return_inverse=True)  # noqa: TID251
        ranks[known] = place.astype(np.float64)
    if keep_by.order == "min":
        ranks[known] = -ranks[known]
    return ranks
