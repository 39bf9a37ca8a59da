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

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from dedup._version import dedup_version
from dedup.errors import DedupError, InputError, NoDocumentsError, OptionsError, OutputError
from dedup.options import (
    CheckOptions,
    CleanOptions,
    KeepBy,
    LSHOptions,
    MinHashOptions,
    ReadOptions,
    ScanOptions,
    SegmentOptions,
    ShingleOptions,
)

if TYPE_CHECKING:
    __version__: str
    from dedup.baseline import Baseline
    from dedup.check import CheckReport, check
    from dedup.clean import CleanResult, clean, restore
    from dedup.index import Index
    from dedup.normalize import normalize
    from dedup.pipeline import index_add, scan
    from dedup.result import ScanResult, ScanStats, load

# The names that need polars, numpy or the compiled kernels, and their modules: imported on first use
# (PEP 562), so that ``import dedup`` and ``dedup --help`` stay fast. The options and errors above are light.
_LAZY = {
    "Baseline": "dedup.baseline",
    "CheckReport": "dedup.check",
    "check": "dedup.check",
    "CleanResult": "dedup.clean",
    "clean": "dedup.clean",
    "restore": "dedup.clean",
    "Index": "dedup.index",
    "normalize": "dedup.normalize",
    "index_add": "dedup.pipeline",
    "scan": "dedup.pipeline",
    "ScanResult": "dedup.result",
    "ScanStats": "dedup.result",
    "load": "dedup.result",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":  # read from the metadata when asked: ``dedup --help`` need not look
        globals()[name] = dedup_version()
        return globals()[name]
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dedup' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups find it without this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, "__version__"})


class _Package(types.ModuleType):
    """The ``dedup`` package, whose functions ``check``, ``clean`` and ``normalize`` share their module's name.

    Importing a submodule binds it as an attribute of its package: ``dedup.check`` would become the
    module the first time anything imports ``dedup.check``, and ``dedup.check(paths)`` would fail.
    The public function keeps the name, as it did when ``__init__`` imported it eagerly.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
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
