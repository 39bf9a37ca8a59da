"""The public API is what __all__ says, and nothing is missing from it."""

from __future__ import annotations

import dedup


def test_the_public_api() -> None:
    assert sorted(dedup.__all__) == [
        "Baseline",
        "CheckOptions",
        "CheckReport",
        "CleanOptions",
        "CleanResult",
        "DedupError",
        "Index",
        "InputError",
        "KeepBy",
        "LSHOptions",
        "MinHashOptions",
        "NoDocumentsError",
        "OptionsError",
        "OutputError",
        "ReadOptions",
        "ScanOptions",
        "ScanResult",
        "ScanStats",
        "SegmentOptions",
        "ShingleOptions",
        "check",
        "clean",
        "index_add",
        "load",
        "normalize",
        "restore",
        "scan",
    ]
    for name in dedup.__all__:
        assert getattr(dedup, name) is not None


def test_errors_form_one_tree() -> None:
    for error in (dedup.InputError, dedup.NoDocumentsError, dedup.OptionsError, dedup.OutputError):
        assert issubclass(error, dedup.DedupError)
    assert issubclass(dedup.OptionsError, ValueError)
