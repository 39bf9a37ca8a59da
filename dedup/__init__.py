"""dedup: find exact and near-duplicate blocks of text in scraped pages.

The public API::

    import dedup
    result = dedup.scan(["seeds/"], dedup.ScanOptions())
    result.clusters      # polars DataFrames: blocks, pairs, clusters, documents
    result.write("scan/")

    cleaned = dedup.clean(["crawl/"], "crawl-clean/", dedup.CleanOptions(drop_docs_over=0.9))
    report = dedup.check(["docs/"], dedup.CheckOptions(max_dup_fraction=0.05))
    again = dedup.load("scan/")   # the same kind of object, read back without recomputing
    report.passed        # and report.findings: every new duplicate, with file and line
"""

from __future__ import annotations

from dedup._version import dedup_version
from dedup.baseline import Baseline
from dedup.check import CheckReport, check
from dedup.clean import CleanResult, clean, restore
from dedup.errors import DedupError, InputError, NoDocumentsError, OptionsError, OutputError
from dedup.index import Index
from dedup.normalize import normalize
from dedup.options import (
    CheckOptions,
    CleanOptions,
    LSHOptions,
    MinHashOptions,
    ReadOptions,
    ScanOptions,
    SegmentOptions,
    ShingleOptions,
)
from dedup.pipeline import index_add, scan
from dedup.result import ScanResult, ScanStats, load

__version__ = dedup_version()

__all__ = [
    "Baseline",
    "CheckOptions",
    "CheckReport",
    "CleanOptions",
    "CleanResult",
    "DedupError",
    "Index",
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
    "check",
    "clean",
    "index_add",
    "load",
    "normalize",
    "restore",
    "scan",
]
