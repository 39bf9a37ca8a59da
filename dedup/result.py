"""What a scan returns: four tables backed by Parquet files, the statistics, and how to save and load them.

The tables live in files (the ``--out`` folder, or a private folder that lives as long as the result),
so a result holds no table in memory until one is asked for, and the biggest (``blocks``, ``pairs``)
can be queried lazily without ever being loaded whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from polars.io.plugins import register_io_source

from dedup import output
from dedup import schema as S
from dedup._version import dedup_version
from dedup.errors import InputError, OptionsError
from dedup.options import ScanOptions
from dedup.output import SCHEMAS, SUMMARY_FILE, TABLES
from dedup.sources import ReadWarning, Skip

TIMINGS = ("seconds", "cpu_seconds", "peak_rss")  # ScanStats fields that are not saved: they differ between runs
ORDER = "order"  # a block's position in read order
DOC_POS = "doc_pos"  # a document's position in read order


@dataclass(slots=True)
class ScanStats:
    """Counts of a scan; ``documents + len(skips)`` is every record read."""

    files: int
    documents: int
    blocks: int
    near_blocks: int  # distinct texts that took part in near matching
    candidate_pairs: int
    verified_pairs: int
    bands: int
    rows: int
    components_split: int = 0  # components of verified pairs that became more than one cluster (see cluster.py)
    skips: list[Skip] = field(default_factory=list)
    warnings: list[ReadWarning] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # CPU time per stage, all threads
    peak_rss: dict[str, int] = field(default_factory=dict)  # the process's peak RSS (bytes) by the end of each stage

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


@dataclass(slots=True, eq=False)
class ScanResult:
    """The tables of a scan, read from their Parquet files when asked for, and its statistics.

    ``blocks``, ``pairs``, ``clusters`` and ``documents`` load a table into memory (once);
    ``lazy(name)`` and the ``*_lazy`` properties query a file without loading it, which is how
    anything that must stay within memory reads the two tables that grow with the corpus.
    """

    files: dict[str, Path]  # table name -> its Parquet file
    stats: ScanStats
    options: ScanOptions
    version: str = field(default_factory=dedup_version)  # of the dedup that made the scan
    folder: Any = None  # a private folder holding the files, removed when the result is garbage-collected
    _loaded: dict[str, pl.DataFrame] = field(default_factory=dict)

    def lazy(self, table: str) -> pl.LazyFrame:
        """A table as a lazy query over its file (``blocks``, ``pairs``, ``clusters``, ``documents``, and
        ``matches`` of a scan against an index).

        The query holds on to the result's private folder, so ``dedup.scan(paths).lazy("pairs")`` stays
        valid after the result itself is gone.
        """
        schema = pl.Schema({name: SCHEMAS[table][name] for name in SCHEMAS[table]})
        if self.folder is None:
            return pl.scan_parquet(self.files[table]).select(list(schema))
        return _holding(self.folder, self.files[table], schema)

    def _table(self, table: str) -> pl.DataFrame:
        if table not in self._loaded:
            self._loaded[table] = self.lazy(table).collect()
        return self._loaded[table]

    @property
    def blocks_lazy(self) -> pl.LazyFrame:
        return self.lazy("blocks")

    @property
    def pairs_lazy(self) -> pl.LazyFrame:
        return self.lazy("pairs")

    @property
    def blocks(self) -> pl.DataFrame:
        """Every block with its offsets, text and cluster (``None`` when unique), loaded into memory."""
        return self._table("blocks")

    @property
    def pairs(self) -> pl.DataFrame:
        """The verified pairs, loaded into memory."""
        return self._table("pairs")

    @property
    def clusters(self) -> pl.DataFrame:
        """One row per cluster, loaded into memory."""
        return self._table("clusters")

    @property
    def documents(self) -> pl.DataFrame:
        """One row per document, loaded into memory."""
        return self._table("documents")

    def close(self) -> None:
        """Forget the tables loaded into memory; the files stay, and the result stays usable."""
        self._loaded.clear()

    def __enter__(self) -> ScanResult:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def blocks_in_documents(self) -> pl.LazyFrame:
        """The blocks (without text) with their document's position in read order, ``doc_pos``, and its
        ``source``: joined by document id, which is unique in a scan. A block's ``source_line`` is its own
        (see ``dedup.locations``)."""
        documents = self.lazy("documents").select(S.DOC_ID, S.SOURCE).with_row_index(DOC_POS)
        return (
            self.blocks_lazy.drop(S.TEXT)
            .with_row_index(ORDER)
            .join(documents, on=S.DOC_ID, how="left", maintain_order="left")
        )

    def summary(self) -> dict[str, Any]:
        """Counts and settings, deterministic for the same input and options; computed from the files."""
        clusters = (
            self.lazy("clusters")
            .select(
                pl.len().alias("clusters"),
                ((pl.col(S.KIND) == S.EXACT) & ~pl.col(S.SHORT)).sum().alias("exact_clusters"),
                ((pl.col(S.KIND) == S.NEAR) & ~pl.col(S.SHORT)).sum().alias("near_clusters"),
                pl.col(S.SHORT).sum().alias("short_clusters"),
                (pl.col(S.SCOPE) == S.CROSS_DOC).sum().alias("cross_doc_clusters"),
            )
            .collect()
            .row(0, named=True)
        )
        pairs = (
            self.pairs_lazy.select(
                (pl.col(S.KIND) == S.EXACT).sum().alias("exact_pairs"),
                (pl.col(S.KIND) == S.NEAR).sum().alias("near_pairs"),
            )
            .collect()
            .row(0, named=True)
        )
        chars = self.lazy("documents").select(pl.col(S.N_CHARS).sum(), pl.col(S.DUP_CHARS).sum()).collect()
        total, dup = int(chars[S.N_CHARS][0] or 0), int(chars[S.DUP_CHARS][0] or 0)
        return {
            "documents": self.stats.documents,
            "files": self.stats.files,
            "blocks": self.stats.blocks,
            "records": self.stats.documents + len(self.stats.skips),
            "skipped": len(self.stats.skips),
            "skipped_by_reason": self.stats.skipped_by_reason,
            "warnings": len(self.stats.warnings),
            **{name: int(value) for name, value in clusters.items()},
            **{name: int(value) for name, value in pairs.items()},
            "chars": total,
            "dup_chars": dup,
            "dup_fraction": round(dup / total, 6) if total else 0.0,
            "candidate_pairs": self.stats.candidate_pairs,
            "components_split": self.stats.components_split,
            **self._index_summary(),
            "settings": self.settings(),
        }

    def _index_summary(self) -> dict[str, Any]:
        """Of a scan against an index: blocks that repeat indexed text, word for word and near."""
        if output.MATCHES not in self.files:
            return {}
        kinds = self.lazy(output.MATCHES).group_by(S.KIND).len().collect()
        counts = dict(zip(kinds[S.KIND].to_list(), kinds["len"].to_list(), strict=True))
        return {"index_exact_blocks": int(counts.get(S.EXACT, 0)), "index_near_blocks": int(counts.get(S.NEAR, 0))}

    def saved(self) -> dict[str, Any]:
        """What ``scan.json`` holds: the summary, the statistics, and the fingerprint of every table's file
        with the scan id made of them, which ``load`` checks."""
        files = output.fingerprints(self.files)
        return self.summary() | {"stats": self.stats.to_dict(), "files": files, "scan_id": output.scan_id(files)}

    def settings(self) -> dict[str, Any]:
        """Everything needed to reproduce or compare the result."""
        return output.settings_of(self.options, self.stats.bands, self.stats.rows, self.version)

    def write(self, out: str | Path) -> list[Path]:
        """Write the four tables as Parquet and ``scan.json`` into a folder: each under a temporary name,
        then all renamed into place, so that a failure leaves the folder as it was.

        ``dedup.scan(..., out=...)`` writes the same files as the scan goes.

        Raises:
            OutputError: ``out`` exists and is not a folder, or cannot be written.
        """
        folder = output.prepared_folder(out)
        if all(path.parent.resolve() == folder.resolve() for path in self.files.values()):
            return [folder / output.table_file(name) for name in self.files] + [folder / SUMMARY_FILE]
        with output.writing(folder) as staged:
            output.copy_tables(self.files, staged)
            output.stage_summary(staged, self.saved())
            with output.output_errors(folder):
                return staged.commit()


def _holding(owner: Any, path: Path, schema: pl.Schema) -> pl.LazyFrame:
    """A lazy scan of a Parquet file whose source keeps ``owner`` (the folder that holds it) alive."""

    def source(
        with_columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None, batch_size: int | None
    ) -> Iterator[pl.DataFrame]:
        assert owner is not None  # referenced here: the folder lives as long as the query
        query = pl.scan_parquet(path).select(with_columns or list(schema))
        if predicate is not None:
            query = query.filter(predicate)
        if n_rows is not None:
            query = query.head(n_rows)
        yield from query.collect_batches(chunk_size=batch_size)

    return register_io_source(source, schema=schema)


def load(folder: str | Path) -> ScanResult:
    """A scan saved by ``dedup scan --out`` or ``ScanResult.write``, as the object ``dedup.scan`` returns.

    The tables stay in their files until asked for; the statistics and options come from ``scan.json``.

    Raises:
        InputError: the folder, a file or a column is missing, or a file cannot be read; the message names the file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder (expected the folder written by dedup scan --out)")
    summary_path = folder / SUMMARY_FILE
    saved = output.read_summary(summary_path)
    extra = [output.MATCHES] if (folder / output.table_file(output.MATCHES)).exists() else []
    files = {name: folder / output.table_file(name) for name in [*TABLES, *extra]}
    for name, path in files.items():
        output.check_table(path, SCHEMAS[name])
    output.check_fingerprints(folder, saved, summary_path)
    try:
        stats = ScanStats.from_dict(saved["stats"])
        options = output.options_from_dict(saved["settings"]["options"])
        made_by = str(saved["settings"]["dedup_version"])
        result = ScanResult(files=files, stats=stats, options=options, version=made_by)
        result.settings()  # everything the report reads of it, checked now rather than half-way through a report
    except (KeyError, TypeError, ValueError, AttributeError, OptionsError) as exc:
        raise output.summary_error(summary_path, exc) from exc
    return result
