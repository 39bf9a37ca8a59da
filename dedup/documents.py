"""Roll blocks up to documents: duplicated characters and the best container, in linear time.

A document's ``dup_chars`` are the characters of its blocks that belong to a cluster (their text, or
a near copy of it, stands somewhere else too).

Document A is covered by document B to the extent of the characters of A's blocks whose cluster also
has a block in B. Finding the B that covers A most over *every* pair of documents that share a
cluster would cost the square of a cluster's spread (a footer on 10,000 pages pairs 10^8 documents),
so the candidates are found first, linearly, and only they are measured exactly:

1. every clustered block of A votes, with its characters, for the *earliest other holder* of its
   cluster: the first document in read order that has a block of that cluster, other than A;
2. the ``MAX_CANDIDATES`` documents with the most votes (ties: the earlier) are A's candidates;
3. each candidate's coverage of A is computed exactly, over all of A's clusters;
   ``contained_in`` is the candidate that covers A most (ties: the earlier) and ``containment`` its
   coverage over A's block characters.

The work is linear in the blocks (each block votes once, each document measures at most
``MAX_CANDIDATES`` candidates against its own clusters) and needs, per cluster, only its first two
documents. A re-crawl of a page is covered by its earlier copy in full, boilerplate included: the
earliest other holder of the page's text is the earlier copy, and its coverage counts every cluster
the two share.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from dedup import _kernels
from dedup import schema as S
from dedup._arrow import distinct_sorted, first_of_each

MAX_CANDIDATES = 8  # containers measured exactly per document

ClusterLists = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""``lists(documents)``: for increasing document keys, the sorted clusters of each, as (clusters, offsets)."""


def document_clusters(doc_key: np.ndarray, cluster: np.ndarray, n_chars: np.ndarray) -> pl.DataFrame:
    """Each document's clusters with the characters of its blocks in them, sorted by (doc_key, cluster).

    Args:
        doc_key, cluster, n_chars: one entry per block, in document order; ``cluster`` -1 for a block in none.
    """
    docs, clusters, chars = _kernels.document_cluster_weights(
        doc_key.astype(np.int64, copy=False), cluster.astype(np.int64, copy=False), n_chars.astype(np.int64, copy=False)
    )
    return pl.DataFrame({S.DOC_KEY: docs, S.CLUSTER: clusters, S.N_CHARS: chars})


def containers(held: pl.DataFrame, first_doc: np.ndarray, second_doc: np.ndarray, lists: ClusterLists) -> pl.DataFrame:
    """The best container of each document and how many of its characters it covers.

    Args:
        held: ``document_clusters`` of some documents.
        first_doc, second_doc: the first two documents of every cluster in read order (-1: none).
        lists: where the clusters of any document are read (see ``ClusterLists``).

    Returns:
        ``doc_key``, ``contained_in`` (the container's document key) and ``covered`` (characters), for
        the documents that share a cluster with another document.
    """
    doc = held[S.DOC_KEY].to_numpy()
    cluster = held[S.CLUSTER].to_numpy()
    weight = held[S.N_CHARS].to_numpy().astype(np.int64)
    holder = np.where(first_doc[cluster] != doc, first_doc[cluster], second_doc[cluster])
    votes = (
        pl.DataFrame({S.DOC_KEY: doc, S.CONTAINED_IN: holder, "votes": weight})
        .filter(pl.col(S.CONTAINED_IN) >= 0)
        .group_by(S.DOC_KEY, S.CONTAINED_IN)
        .agg(pl.col("votes").sum())
        .sort([S.DOC_KEY, "votes", S.CONTAINED_IN], descending=[False, True, False])
        .group_by(S.DOC_KEY, maintain_order=True)
        .head(MAX_CANDIDATES)
    )
    if votes.is_empty():
        return pl.DataFrame(schema={S.DOC_KEY: pl.Int64, S.CONTAINED_IN: pl.Int64, "covered": pl.Int64})
    # A's own clusters, indexed by its row among the documents of ``held``.
    own_docs, own_starts = first_of_each(doc)
    own_offsets = np.append(own_starts, doc.size)
    candidate_a = votes[S.DOC_KEY].to_numpy()
    candidate_b = votes[S.CONTAINED_IN].to_numpy()
    others = distinct_sorted(candidate_b)
    other_clusters, other_offsets = lists(others)
    covered = _kernels.covered_weights(
        own_offsets,
        cluster,
        weight,
        np.searchsorted(own_docs, candidate_a),
        other_clusters,
        other_offsets,
        np.searchsorted(others, candidate_b),
    )
    return (
        votes.select(S.DOC_KEY, S.CONTAINED_IN)
        .with_columns(pl.Series("covered", covered))
        .sort([S.DOC_KEY, "covered", S.CONTAINED_IN], descending=[False, True, False])
        .group_by(S.DOC_KEY, maintain_order=True)
        .first()
    )


def containment_matrix(blocks: pl.DataFrame, n_chars: np.ndarray) -> np.ndarray:
    """How much of each document stands in each other document, as a dense matrix (for a few hundred documents).

    Row ``a``, column ``b`` is the share of ``a``'s block characters whose cluster
    also has a block in ``b``: the coverage behind ``containment``, for every pair
    instead of only the best candidate. The diagonal is 0.

    Args:
        blocks: one row per block with ``doc_key`` (0-based, dense), ``cluster`` and ``n_chars``.
        n_chars: block characters of each document, indexed by ``doc_key``.
    """
    from scipy.sparse import csr_matrix  # only the HTML report needs it: a scan does not pay its import

    n_docs = n_chars.size
    members = (
        blocks.filter(pl.col(S.CLUSTER).is_not_null())
        .group_by(S.DOC_KEY, S.CLUSTER)
        .agg(pl.col(S.N_CHARS).sum())
        .with_columns(pl.col(S.CLUSTER).rank("dense").cast(pl.Int64).alias("slot") - 1)
    )
    if members.is_empty():
        return np.zeros((n_docs, n_docs))
    shape = (n_docs, int(members["slot"].max()) + 1)  # type: ignore[arg-type]
    where = (members[S.DOC_KEY].to_numpy(), members["slot"].to_numpy())
    chars = csr_matrix((members[S.N_CHARS].to_numpy().astype(np.float64), where), shape=shape)
    present = csr_matrix((np.ones(members.height), where), shape=shape)
    covered = (chars @ present.T).toarray()
    np.fill_diagonal(covered, 0.0)
    return np.divide(covered, n_chars[:, None], out=np.zeros_like(covered), where=n_chars[:, None] > 0)
