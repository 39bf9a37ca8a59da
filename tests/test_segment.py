"""Segmentation edge cases."""

from __future__ import annotations

import polars as pl

from dedup import schema as S
from dedup.options import SegmentOptions
from dedup.segment import segment


def test_a_text_that_ends_with_line_breaks_is_segmented() -> None:
    texts = ["One.\n\nTwo.\n", "Three.\n\n\n"]
    frame = pl.DataFrame({S.DOC_INDEX: [0, 1], S.TEXT: texts}, schema={S.DOC_INDEX: pl.Int64, S.TEXT: pl.String})
    blocks = segment(frame, SegmentOptions())
    assert blocks[S.TEXT].to_list() == ["One.", "Two.", "Three."]
    assert blocks[S.LINE].to_list() == [1, 3, 1]
