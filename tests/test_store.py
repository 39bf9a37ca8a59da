"""The spill folder's lifetime, and the stores in it."""

from __future__ import annotations

import gc
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dedup
from dedup.fingerprint import ShingleSets
from dedup.store import PartStore, SetStore

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def test_the_spill_folder_goes_with_its_result_without_a_warning() -> None:
    result = dedup.scan([SEEDS])
    folder = result.scratch.path
    assert folder.is_dir()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del result
        gc.collect()
    assert not folder.exists()


def test_a_scan_that_stops_on_an_error_leaves_no_open_file(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(dedup.NoDocumentsError):
            dedup.scan([tmp_path])
        gc.collect()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.lists(st.integers(0, 2**32 - 1), max_size=5), max_size=4), min_size=1, max_size=5), st.data()
)
def test_sets_written_in_any_order_are_read_back_by_slot(
    tmp_path_factory: pytest.TempPathFactory, batches: list[list[list[int]]], data: st.DataObject
) -> None:
    store = SetStore(tmp_path_factory.mktemp("sets"))
    written = data.draw(st.permutations(range(len(batches))))  # workers finish in any order
    for number in written:
        store.write(number, _sets(batches[number]))
    slots = np.concatenate([store.slots(number) for number in range(len(batches))])  # numbered in read order
    blocks = [block for batch in batches for block in batch]
    assert slots.tolist() == list(range(len(blocks)))
    wanted = np.array(sorted(data.draw(st.sets(st.sampled_from(range(len(blocks))))) if blocks else []), dtype=int)
    got = store.take(wanted)
    assert got.distinct
    for k, slot in enumerate(wanted):
        assert got.values[got.offsets[k] : got.offsets[k + 1]].tolist() == sorted(set(blocks[slot]))


def test_block_rows_are_numbered_across_parts_in_part_order(tmp_path: Path) -> None:
    parts = PartStore(tmp_path)
    parts.write(1, pl.DataFrame({"text": ["c", "d", "e"]}))
    parts.write(0, pl.DataFrame({"text": ["a", "b"]}))
    assert [(first, height, part.collect()["text"].to_list()) for first, height, part in parts.parts()] == [
        (0, 2, ["a", "b"]),
        (2, 3, ["c", "d", "e"]),
    ]
    assert parts.take("text", np.array([1, 2, 4])).to_list() == ["b", "c", "e"]


def _sets(blocks: list[list[int]]) -> ShingleSets:
    offsets = np.cumsum([0, *(len(block) for block in blocks)])
    values = np.array([value for block in blocks for value in block], dtype=np.uint32)
    return ShingleSets(values, offsets, distinct=False)
