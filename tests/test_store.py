"""The spill folder's lifetime."""

from __future__ import annotations

import gc
import warnings
from pathlib import Path

import pytest

import dedup

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
