"""dedup: find exact and near-duplicate blocks of text in scraped pages.

The public API::

    import dedup
    result = dedup.scan(["seeds/"], dedup.ScanOptions())
    result.clusters      # polars DataFrames: blocks, pairs, clusters, documents
    result.write("scan/")
    again = dedup.load("scan/")   # the same kind of object, read back without recomputing
"""

from __future__ import annotations

from dedup.errors import DedupError, InputError, NoDocumentsError, OptionsError, OutputError
from dedup.normalize import normalize
from dedup.options import (
    LSHOptions,
    MinHashOptions,
    ReadOptions,
    ScanOptions,
    SegmentOptions,
    ShingleOptions,
)
from dedup.pipeline import scan
from dedup.result import ScanResult, ScanStats, load

__all__ = [
    "DedupError",
    "InputError",
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
    "load",
    "normalize",
    "scan",
]
