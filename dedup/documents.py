"""Roll blocks up to documents: duplicated characters and containment.

A document's ``dup_chars`` are the characters of its blocks that belong to a
cluster (their text, or a near copy of it, stands somewhere else too).
Document A is contained in B to the extent ``containment`` = characters of A's
blocks whose cluster also has a block in B, over all of A's block characters;
``contained_in`` is the B that contains A most (ties: the earlier document).
"""

from __future__ import annotations

import polars as pl

from dedup import schema as S

OTHER = "other_index"
COVERED = "covered"
# Clusters spread over more documents than this (site-wide boilerplate) do not
# propose container candidates; they still count toward containment between
# documents that other clusters pair up. This keeps the self-join linear.
MAX_PAIRING_DOCS = 200


def roll_up(blocks: pl.DataFrame, docs: pl.DataFrame) -> pl.DataFrame:
    """The documents table.

    Args:
        blocks: one row per block with ``doc_index``, ``n_chars`` and ``cluster``.
        docs: one row per document with ``doc_index``, ``doc_id``, ``source`` and ``source_line``.
    """
    in_cluster = pl.col(S.CLUSTER).is_not_null()
    per_doc = blocks.group_by(S.DOC_INDEX).agg(
        pl.len().alias("n_blocks"),
        pl.col(S.N_CHARS).sum().alias(S.N_CHARS),
        pl.col(S.N_CHARS).filter(in_cluster).sum().alias(S.DUP_CHARS),
    )
    best = _best_container(blocks.filter(in_cluster))
    return (
        docs.select(S.DOC_INDEX, S.DOC_ID, S.SOURCE, S.SOURCE_LINE)
        .join(per_doc, on=S.DOC_INDEX, how="left")
        .join(best, on=S.DOC_INDEX, how="left")
        .join(
            docs.select(pl.col(S.DOC_INDEX).alias(OTHER), pl.col(S.DOC_ID).alias(S.CONTAINED_IN)), on=OTHER, how="left"
        )
        .sort(S.DOC_INDEX)
        .with_columns(
            pl.col("n_blocks").fill_null(0),
            pl.col(S.N_CHARS).fill_null(0),
            pl.col(S.DUP_CHARS).fill_null(0),
            (pl.col(COVERED) / pl.col(S.N_CHARS)).alias(S.CONTAINMENT),
        )
        .with_columns((pl.col(S.DUP_CHARS) / pl.col(S.N_CHARS)).fill_nan(0.0).alias(S.DUP_FRACTION))
        .select(list(S.DOCUMENTS_SCHEMA))
        .cast(S.DOCUMENTS_SCHEMA)  # type: ignore[arg-type]
    )


def _best_container(clustered: pl.DataFrame) -> pl.DataFrame:
    """For each document, the other document covering most of its characters."""
    members = clustered.group_by(S.DOC_INDEX, S.CLUSTER).agg(pl.col(S.N_CHARS).sum())
    spread = members.group_by(S.CLUSTER).agg(pl.len().alias("docs"))
    members = members.join(spread, on=S.CLUSTER)
    pairing = members.filter(pl.col("docs") <= MAX_PAIRING_DOCS)
    wide = members.filter(pl.col("docs") > MAX_PAIRING_DOCS)
    others = pl.col(S.DOC_INDEX).alias(OTHER)

    pairs = (
        pairing.join(pairing.select(S.CLUSTER, others), on=S.CLUSTER)
        .filter(pl.col(S.DOC_INDEX) != pl.col(OTHER))
        .group_by(S.DOC_INDEX, OTHER)
        .agg(pl.col(S.N_CHARS).sum().alias(COVERED))
    )
    from_wide = (
        pairs.select(S.DOC_INDEX, OTHER)
        .join(wide.select(S.DOC_INDEX, S.CLUSTER, S.N_CHARS), on=S.DOC_INDEX)
        .join(wide.select(S.CLUSTER, others), on=[S.CLUSTER, OTHER], how="semi")
        .group_by(S.DOC_INDEX, OTHER)
        .agg(pl.col(S.N_CHARS).sum().alias("wide"))
    )
    return (
        pairs.join(from_wide, on=[S.DOC_INDEX, OTHER], how="left")
        .with_columns((pl.col(COVERED) + pl.col("wide").fill_null(0)).alias(COVERED))
        .sort([S.DOC_INDEX, COVERED, OTHER], descending=[False, True, False])
        .group_by(S.DOC_INDEX, maintain_order=True)
        .first()
        .select(S.DOC_INDEX, OTHER, COVERED)
    )
