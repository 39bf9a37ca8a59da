"""What a scan returns: the four tables, the statistics, and how to save and load them."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import polars as pl

from dedup import schema as S
from dedup.errors import InputError, OptionsError, OutputError
from dedup.options import ScanOptions
from dedup.sources import ReadWarning, Skip

TABLES = ("blocks", "pairs", "clusters", "documents")
SCHEMAS = {
    "blocks": S.BLOCKS_SCHEMA,
    "pairs": S.PAIRS_SCHEMA,
    "clusters": S.CLUSTERS_SCHEMA,
    "documents": S.DOCUMENTS_SCHEMA,
}
# Rows per row group of blocks.parquet: about 10 MB of text each. Polars encodes row groups in parallel;
# with its default (a few row groups per 100 MB) two cores wrote the table no faster than one, with twice
# the CPU; 25,000 rows made it 1.6x faster on two cores for a 4% larger file (measured on 103 MB).
BLOCKS_ROW_GROUP_ROWS = 25_000
SUMMARY_FILE = "scan.json"
TIMINGS = ("seconds", "cpu_seconds")  # ScanStats fields that are not saved
ORDER = "order"  # a block's position in read order
DOC_POS = "doc_pos"  # a document's position in read order
FORMAT_VERSION = 1


def dedup_version() -> str:
    try:
        return version("dedup")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


@dataclass(slots=True)
class ScanStats:
    """Counts of a scan; ``documents + len(skips)`` is every record read."""

    files: int
    documents: int
    blocks: int
    near_blocks: int
    candidate_pairs: int
    verified_pairs: int
    bands: int
    rows: int
    skips: list[Skip] = field(default_factory=list)
    warnings: list[ReadWarning] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # CPU time per stage, all threads

    @property
    def skipped_by_reason(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for skip in self.skips:
            counts[skip.reason] = counts.get(skip.reason, 0) + 1
        return dict(sorted(counts.items()))

    def to_dict(self) -> dict[str, Any]:
        """The counts as JSON-ready values (skips and warnings as records).

        The times are left out: they differ from run to run, and a saved scan of the same input with the
        same options is the same bytes.
        """
        counts = dataclasses.asdict(self)
        for timing in TIMINGS:
            del counts[timing]
        return counts

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanStats:
        """The inverse of ``to_dict`` (the times are empty).

        Raises:
            KeyError, TypeError: ``data`` lacks a field or has one this version does not know.
        """
        fields = dict(data)
        fields["skips"] = [Skip(**skip) for skip in data["skips"]]
        fields["warnings"] = [ReadWarning(**warning) for warning in data["warnings"]]
        return cls(**fields)


@dataclass(slots=True)
class ScanResult:
    """The tables of a scan as polars DataFrames (``blocks`` is loaded on first use)."""

    blocks_lazy: pl.LazyFrame
    pairs: pl.DataFrame
    clusters: pl.DataFrame
    documents: pl.DataFrame
    stats: ScanStats
    options: ScanOptions
    version: str = field(default_factory=dedup_version)  # of the dedup that made the scan
    scratch: Any = None  # keeps the spill folder alive as long as the result
    _blocks: pl.DataFrame | None = None

    def close(self) -> None:
        """Remove the spill folder now (``blocks`` stays usable if it was loaded)."""
        if self._blocks is None:
            self._blocks = self.blocks_lazy.collect()
        if self.scratch is not None:
            self.scratch.close()

    def __enter__(self) -> ScanResult:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def blocks(self) -> pl.DataFrame:
        """Every block with its offsets, text and cluster (``None`` when unique)."""
        if self._blocks is None:
            self._blocks = self.blocks_lazy.collect()
        return self._blocks

    def blocks_in_documents(self) -> pl.LazyFrame:
        """The blocks (without text) with their document's position in read order,
        ``doc_pos``, and its ``source`` and ``source_line``: a join that holds even
        when two documents share an id.
        """
        documents = self.documents.select(S.SOURCE, S.SOURCE_LINE).with_row_index(DOC_POS)
        return (
            self.blocks_lazy.drop(S.TEXT)
            .with_row_index(ORDER)
            # Blocks are numbered from 0 in every document, and every document has one.
            .with_columns(((pl.col(S.BLOCK) == 0).cum_sum() - 1).cast(pl.UInt32).alias(DOC_POS))
            .join(documents.lazy(), on=DOC_POS, how="left", maintain_order="left")
        )

    def summary(self) -> dict[str, Any]:
        """Counts and settings, deterministic for the same input and options."""
        clusters = self.clusters
        long_clusters = clusters.filter(~pl.col(S.SHORT))
        docs = self.documents
        total = int(docs[S.N_CHARS].sum() or 0)
        dup = int(docs[S.DUP_CHARS].sum() or 0)
        return {
            "documents": self.stats.documents,
            "files": self.stats.files,
            "blocks": self.stats.blocks,
            "records": self.stats.documents + len(self.stats.skips),
            "skipped": len(self.stats.skips),
            "skipped_by_reason": self.stats.skipped_by_reason,
            "warnings": len(self.stats.warnings),
            "clusters": clusters.height,
            "exact_clusters": long_clusters.filter(pl.col(S.KIND) == S.EXACT).height,
            "near_clusters": long_clusters.filter(pl.col(S.KIND) == S.NEAR).height,
            "short_clusters": clusters.height - long_clusters.height,
            "cross_doc_clusters": clusters.filter(pl.col(S.SCOPE) == S.CROSS_DOC).height,
            "exact_pairs": self.pairs.filter(pl.col(S.KIND) == S.EXACT).height,
            "near_pairs": self.pairs.filter(pl.col(S.KIND) == S.NEAR).height,
            "chars": total,
            "dup_chars": dup,
            "dup_fraction": round(dup / total, 6) if total else 0.0,
            "candidate_pairs": self.stats.candidate_pairs,
            "settings": self.settings(),
        }

    def settings(self) -> dict[str, Any]:
        """Everything needed to reproduce or compare the result."""
        return settings_of(self.options, self.stats.bands, self.stats.rows, self.version)

    def write(self, out: str | Path) -> list[Path]:
        """Write the four tables as Parquet and ``scan.json``: each under a temporary name, then all renamed
        into place, so that a failure leaves the folder as it was.

        ``dedup.scan(..., out=...)`` writes the same files, ``blocks.parquet`` while the other tables are built.

        Raises:
            OutputError: ``out`` exists and is not a folder, or cannot be written.
        """
        with StagedFiles(prepared_folder(out)) as staged:
            metadata = parquet_metadata(self.settings())
            write_blocks(staged, self.blocks_lazy, metadata)
            write_tables(staged, self.tables_but_blocks(), metadata)
            return finish_outputs(staged, self)

    def tables_but_blocks(self) -> dict[str, pl.DataFrame]:
        """The tables that are held in memory, by name (``blocks`` is read from the spill as it is needed)."""
        return {name: getattr(self, name) for name in TABLES[1:]}


def settings_of(options: ScanOptions, bands: int, rows: int, made_by: str) -> dict[str, Any]:
    """The settings of a scan (see ``ScanResult.settings``), known before its tables are."""
    minhash = options.minhash
    return {
        "dedup_version": made_by,
        "format_version": FORMAT_VERSION,
        "options": dataclasses.asdict(options),
        "minhash": {
            "num_perm": minhash.num_perm,
            "seed": minhash.seed,
            "scheme": minhash.scheme,
            "hashfunc": minhash.hashfunc,
            "datasketch_equivalent": (
                f"MinHash(num_perm={minhash.num_perm}, seed={minhash.seed}, "
                f"scheme={minhash.scheme!r}, hashfunc=xxhash.xxh32_intdigest)"
            ),
        },
        "lsh": {"bands": bands, "rows": rows},
    }


def parquet_metadata(settings: dict[str, Any]) -> dict[str, str]:
    """The key-value metadata every Parquet file of a scan carries."""
    return {"dedup": json.dumps(settings, sort_keys=True)}


def prepared_folder(out: str | Path) -> Path:
    """The output folder, made if missing.

    Raises:
        OutputError: it exists and is not a folder, or cannot be made.
    """
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: exists and is not a folder")
    with _output_errors(folder):
        folder.mkdir(parents=True, exist_ok=True)
    return folder


class StagedFiles:
    """Output files written under temporary names in their folder and renamed into place together.

    A scan's files belong together (the tables refer to each other and ``scan.json`` describes them),
    so none replaces an older one until all are written: an error on the way (a full disk) leaves the
    folder as it was. Files may be staged from several threads at once.

    Use as a context manager: what was staged and not committed is removed on leaving it.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._staged: dict[str, str] = {}  # file name -> temporary path, in the order staged
        self._lock = threading.Lock()

    def stage(self, name: str, write: Callable[[str], object]) -> None:
        """Call ``write(temporary path)`` for the file ``name``.

        Raises:
            OSError: from ``write``; the temporary file is removed on leaving the context.
        """
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=self.folder)
        os.close(handle)
        with self._lock:
            self._staged[name] = temporary
        write(temporary)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp creates 0600; outputs are ordinary files

    def commit(self) -> list[Path]:
        """Rename every staged file into place, in the order staged; their paths.

        Raises:
            OSError: a rename failed.
        """
        with self._lock:
            written = []
            for name, temporary in list(self._staged.items()):
                os.replace(temporary, self.folder / name)
                del self._staged[name]
                written.append(self.folder / name)
            return written

    def discard(self) -> None:
        """Remove every staged file that was not committed."""
        with self._lock:
            for temporary in self._staged.values():
                if os.path.exists(temporary):
                    os.unlink(temporary)
            self._staged.clear()

    def __enter__(self) -> StagedFiles:
        return self

    def __exit__(self, *_: object) -> None:
        self.discard()


def write_blocks(staged: StagedFiles, blocks: pl.LazyFrame, metadata: dict[str, str]) -> None:
    """Stage ``blocks.parquet``, streamed (memory bounded by the engine's morsels, not the table) and encoded
    on every core.

    Raises:
        OutputError: it cannot be written.
    """
    with _output_errors(staged.folder):
        staged.stage(
            "blocks.parquet",
            lambda p: blocks.sink_parquet(p, metadata=metadata, row_group_size=BLOCKS_ROW_GROUP_ROWS),
        )


def write_tables(staged: StagedFiles, tables: dict[str, pl.DataFrame], metadata: dict[str, str]) -> None:
    """Stage these tables (every one but ``blocks``) as Parquet.

    Raises:
        OutputError: a file cannot be written.
    """
    with _output_errors(staged.folder):
        for name, frame in tables.items():
            staged.stage(f"{name}.parquet", functools.partial(frame.write_parquet, metadata=metadata))


def finish_outputs(staged: StagedFiles, result: ScanResult) -> list[Path]:
    """Stage ``scan.json`` (the counts, settings and statistics) last, then rename every staged file into place.

    Raises:
        OutputError: a file cannot be written or renamed.
    """
    saved = result.summary() | {"stats": result.stats.to_dict()}
    text = json.dumps(saved, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    with _output_errors(staged.folder):
        staged.stage(SUMMARY_FILE, lambda p: Path(p).write_text(text, encoding="utf-8"))
        return staged.commit()


@contextmanager
def _output_errors(folder: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise OutputError(f"{folder}: cannot write ({exc.strerror or exc})") from exc


def load(folder: str | Path) -> ScanResult:
    """A scan saved by ``ScanResult.write``, as the same object ``dedup.scan`` returns, without recomputing.

    The tables are read from the Parquet files (``blocks`` lazily), the statistics and options from ``scan.json``.

    Raises:
        InputError: the folder, a file or a column is missing, or a file cannot be read; the message names the file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder (expected the folder written by dedup scan --out)")
    saved = _read_summary(folder / SUMMARY_FILE)
    tables = {name: _read_table(folder / f"{name}.parquet", SCHEMAS[name], lazy=name == "blocks") for name in TABLES}
    try:
        stats = ScanStats.from_dict(saved["stats"])
        options = _options_from_dict(saved["settings"]["options"])
        made_by = str(saved["settings"]["dedup_version"])
    except (KeyError, TypeError, OptionsError) as exc:
        raise InputError(f"{folder / SUMMARY_FILE}: not a dedup scan summary ({exc!r}); scan again with --out") from exc
    return ScanResult(
        blocks_lazy=tables["blocks"],
        pairs=tables["pairs"],
        clusters=tables["clusters"],
        documents=tables["documents"],
        stats=stats,
        options=options,
        version=made_by,
    )


def _read_summary(path: Path) -> dict[str, Any]:
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: missing; is this a folder written by dedup scan --out?") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg})") from exc
    if not isinstance(saved, dict):
        raise InputError(f"{path}: expected a JSON object, got {type(saved).__name__}")
    found = saved.get("settings", {}).get("format_version") if isinstance(saved.get("settings"), dict) else None
    if found != FORMAT_VERSION:
        raise InputError(f"{path}: format version {found!r}, this dedup reads {FORMAT_VERSION}; scan again with --out")
    return saved


def _read_table(path: Path, schema: pl.Schema, lazy: bool) -> Any:
    """One saved table, checked against its schema."""
    if not path.is_file():
        raise InputError(f"{path}: missing; is this a folder written by dedup scan --out?")
    try:
        found = pl.read_parquet_schema(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from exc
    wrong = [
        f"{name} ({found.get(name, 'missing')}, expected {dtype})"
        for name, dtype in schema.items()
        if found.get(name) != dtype
    ]
    if wrong:
        raise InputError(f"{path}: unexpected columns: {', '.join(wrong)}")
    frame = pl.scan_parquet(path).select(list(schema))
    return frame if lazy else frame.collect()


def _options_from_dict(data: dict[str, Any]) -> ScanOptions:
    """The options of ``dataclasses.asdict(options)`` back as objects (validated again)."""
    defaults = ScanOptions()
    parts: dict[str, Any] = {}
    for option in dataclasses.fields(ScanOptions):
        value = data[option.name]
        # A stage's options were saved as a dict (asdict); a plain option as its value.
        parts[option.name] = type(getattr(defaults, option.name))(**value) if isinstance(value, dict) else value
    return ScanOptions(**parts)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def atomic_write(target: Path, write: Callable[[str], object]) -> Path:
    """Call ``write(temporary path)`` for a file in the same folder, then rename it into place.

    Raises:
        OSError: from ``write`` or the rename; the temporary file is removed.
    """
    with StagedFiles(target.parent) as staged:
        staged.stage(target.name, write)
        staged.commit()
    return target
