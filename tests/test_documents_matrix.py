"""containment_matrix: every pair's containment, agreeing with the documents table's best container."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import dedup
from dedup import schema as S
from dedup.documents import containment_matrix


def test_hand_made_documents() -> None:
    blocks = pl.DataFrame(
        {
            S.DOC_KEY: [0, 0, 1, 1, 2],
            S.CLUSTER: [1, None, 1, 2, 2],
            S.N_CHARS: [10, 30, 10, 5, 5],
        }
    )
    matrix = containment_matrix(blocks, np.array([40, 15, 5]))
    expected = np.array([[0, 10 / 40, 0], [10 / 15, 0, 5 / 15], [0, 5 / 5, 0]])
    assert matrix == pytest.approx(expected)


def test_no_clusters_no_containment() -> None:
    blocks = pl.DataFrame({S.DOC_KEY: [0, 1], S.CLUSTER: [None, None], S.N_CHARS: [3, 4]})
    assert (containment_matrix(blocks, np.array([3, 4])) == 0).all()


def test_rows_agree_with_the_documents_table(seed_scan: dedup.ScanResult) -> None:
    documents = seed_scan.documents
    index = documents.select(S.DOC_ID).with_row_index(S.DOC_KEY).with_columns(pl.col(S.DOC_KEY).cast(pl.Int64))
    blocks = seed_scan.blocks.with_columns((pl.col(S.END) - pl.col(S.START)).alias(S.N_CHARS)).join(index, on=S.DOC_ID)
    matrix = containment_matrix(blocks, documents[S.N_CHARS].to_numpy())
    assert (np.diag(matrix) == 0).all()
    for row, doc in enumerate(documents.iter_rows(named=True)):
        if doc[S.CONTAINED_IN] is None:
            assert matrix[row].max() == 0
            continue
        assert matrix[row].max() == pytest.approx(doc[S.CONTAINMENT])
        assert documents[S.DOC_ID][int(matrix[row].argmax())] == doc[S.CONTAINED_IN]
