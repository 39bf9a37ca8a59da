"""The spill folder's lifetime, and the stores in it."""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import dedup
from dedup import spill
from dedup.candidates import distinct_pairs
from dedup.cli import app
from dedup.spill import (
    SCRATCH_PREFIX,
    AppendedArray,
    BandStore,
    PairSpill,
    PartStore,
    ScratchFolder,
    SetStore,
    removals_in_background,
)

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def _spill_folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}{os.getpid()}-*"))


def _own_folders() -> set[Path]:
    """This process's spill and result folders (other processes may be scanning beside the tests)."""
    return {path for path in Path(tempfile.gettempdir()).glob("dedup-*") if f"-{os.getpid()}-" in path.name}


def test_the_spill_folder_is_gone_when_the_scan_returns_and_the_result_stays_usable(tmp_path: Path) -> None:
    before = _spill_folders()
    result = dedup.scan([SEEDS])
    assert _spill_folders() == before
    result.close()
    assert result.blocks.height == result.stats.blocks  # its tables live in files of their own
    result.write(tmp_path / "scan")
    assert dedup.load(tmp_path / "scan").summary() == result.summary()


def test_inside_removals_in_background_a_folder_goes_on_a_thread_and_is_gone_when_the_block_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    removing = threading.Event()
    release = threading.Event()
    remove = shutil.rmtree

    def held_removal(path: str, ignore_errors: bool = False) -> None:
        removing.set()
        assert release.wait(30)
        remove(path, ignore_errors=ignore_errors)

    monkeypatch.setattr(spill.shutil, "rmtree", held_removal)
    with removals_in_background():
        folder = ScratchFolder()
        (folder.path / "spilled").write_bytes(b"a spill file")
        folder.close()  # returns while the removal waits
        assert removing.wait(30) and folder.path.exists()
        release.set()
    assert not folder.path.exists()


def test_a_scan_on_the_command_line_leaves_no_folder_behind(tmp_path: Path) -> None:
    before = _own_folders()
    result = CliRunner().invoke(app, ["scan", str(SEEDS), "--out", str(tmp_path / "scan"), "-q"])
    assert result.exit_code == 0, result.output
    assert not _own_folders() - before  # (an earlier test's result may have been collected meanwhile)


def test_the_private_folder_of_a_result_goes_with_it_without_a_warning() -> None:
    result = dedup.scan([SEEDS])
    folder = result.files["blocks"].parent
    assert folder.is_dir()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del result
        gc.collect()
    assert not folder.exists()


def test_a_scan_that_stops_on_an_error_leaves_no_folder_and_no_open_file(tmp_path: Path) -> None:
    before = _own_folders()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(dedup.NoDocumentsError):
            dedup.scan([tmp_path])
        gc.collect()
    assert _own_folders() == before


BATCHES = st.lists(st.lists(st.lists(st.integers(0, 2**32 - 1), max_size=5), max_size=4), min_size=1, max_size=5)


@settings(max_examples=40, deadline=None)
@given(BATCHES, st.data())
def test_sets_written_in_any_order_are_read_back_by_slot(
    tmp_path_factory: pytest.TempPathFactory, batches: list[list[list[int]]], data: st.DataObject
) -> None:
    store = SetStore(tmp_path_factory.mktemp("sets"))
    for number in data.draw(st.permutations(range(len(batches)))):  # workers finish in any order
        values = np.array([value for block in batches[number] for value in block], dtype=np.uint32)
        store.write(number, values, np.cumsum([0, *(len(block) for block in batches[number])]))
    assert [store.first_slot(number) for number in range(len(batches))] == np.cumsum(
        [0, *(len(batch) for batch in batches[:-1])]
    ).tolist()
    blocks = [block for batch in batches for block in batch]
    wanted = np.array(sorted(data.draw(st.sets(st.sampled_from(range(len(blocks))))) if blocks else []), dtype=int)
    got = store.take(wanted)
    assert got.distinct
    for k, slot in enumerate(wanted):
        assert got.values[got.offsets[k] : got.offsets[k + 1]].tolist() == sorted(set(blocks[slot]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=5), st.integers(1, 4), st.data())
def test_band_keys_written_in_any_order_are_read_a_band_at_a_time(
    tmp_path_factory: pytest.TempPathFactory, rows: list[int], bands: int, data: st.DataObject
) -> None:
    store = BandStore(tmp_path_factory.mktemp("bands"), bands)
    keys = [np.arange(n * bands, dtype=np.uint64).reshape(n, bands) + 1000 * number for number, n in enumerate(rows)]
    for number in data.draw(st.permutations(range(len(rows)))):
        store.write(number, keys[number])
    everything = np.concatenate(keys)
    wanted = np.array(sorted(data.draw(st.sets(st.integers(0, max(everything.shape[0] - 1, 0))))), dtype=np.int64)
    wanted = wanted[wanted < everything.shape[0]]
    for band in range(bands):
        assert store.band(band, wanted).tolist() == everything[wanted, band].tolist()


def test_block_rows_are_numbered_across_parts_in_part_order(tmp_path: Path) -> None:
    parts = PartStore(tmp_path)
    parts.write(1, pl.DataFrame({"text": ["c", "d", "e"]}))
    parts.write(0, pl.DataFrame({"text": ["a", "b"]}))
    assert parts.bounds().tolist() == [0, 2, 5]
    assert [parts.read(number, ["text"])["text"].to_list() for number in parts.numbers] == [["a", "b"], ["c", "d", "e"]]
    assert parts.take("text", np.array([1, 2, 4])).to_list() == ["b", "c", "e"]


PAIRS = st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=120)


@settings(max_examples=60, deadline=None)
@given(PAIRS, st.integers(1, 5), st.integers(1, 4))
def test_spilled_pairs_come_back_distinct_and_sorted_a_partition_at_a_time(
    tmp_path_factory: pytest.TempPathFactory, raw: list[tuple[int, int]], partitions: int, adds: int
) -> None:
    pairs = [(min(a, b), max(a, b)) for a, b in raw if a != b]
    spill = PairSpill(tmp_path_factory.mktemp("pairs"), 31, partitions)
    left = np.array([a for a, _ in pairs], dtype=np.int64)
    right = np.array([b for _, b in pairs], dtype=np.int64)
    for chunk in np.array_split(np.arange(left.size), adds):  # bands add their pairs one after another
        spill.add(left[chunk], right[chunk])
    read = [spill.read(part) for part in range(spill.partitions)]
    got = [(a, b) for lefts, rights in read for a, b in zip(lefts.tolist(), rights.tolist(), strict=True)]
    assert got == sorted(set(pairs))


@settings(max_examples=60, deadline=None)
@given(PAIRS)
def test_distinct_pairs_are_the_same_whether_they_fit_one_word_or_not(raw: list[tuple[int, int]]) -> None:
    left = np.array([a for a, _ in raw], dtype=np.int64)
    right = np.array([b for _, b in raw], dtype=np.int64)
    packed = distinct_pairs(left, right, 0, 31)
    # A range of 2**62 left nodes cannot share a 64-bit word with the right node: the other path.
    wide = distinct_pairs(left, right, 0, 2**62)
    expected = sorted(set(raw))
    for got in (packed, wide):
        assert list(zip(got[0].tolist(), got[1].tolist(), strict=True)) == expected


@settings(max_examples=30, deadline=None)
@given(pieces=st.lists(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=20), max_size=8))
def test_an_appended_array_reads_back_its_pieces_end_to_end(pieces: list[list[int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        array = AppendedArray(Path(folder), "values")
        for piece in pieces:
            array.append(np.array(piece, dtype=np.int64))
        mapped = array.mapped()
        assert mapped.dtype == np.int64
        assert mapped.tolist() == [value for piece in pieces for value in piece]
        del mapped  # the memory map holds the file open until it goes
