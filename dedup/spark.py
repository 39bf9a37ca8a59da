"""``dedup.spark.scan``: the scan of ``dedup.scan`` on Apache Spark, its tables as Spark DataFrames.

Needs the ``[spark]`` extra (PySpark 4) and a Java runtime; the rest of dedup never imports it.

    from pyspark.sql import SparkSession
    import dedup.spark

    spark = SparkSession.builder.master("local[*]").getOrCreate()
    result = dedup.spark.scan(spark, ["crawl/"])            # files, read by dedup's readers, a file per task
    result = dedup.spark.scan(spark, spark.read.parquet("s3://bucket/pages/"))  # or any DataFrame of id, text
    result.tables["clusters"].show()
    result = dedup.spark.scan(spark, ["new/"], index="idx/")  # against an index: result.tables["matches"] too
    dedup.spark.index_add(spark, ["crawl/"], "idx/").close()  # the index's next add, as dedup index add writes it

On the same documents and options the tables hold the rows of the local engine's (``dedup.scan``), whatever
the number of partitions or executors (see ``dedup.runners.spark``).
"""

from __future__ import annotations

import functools
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import polars as pl
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from dedup import candidates, commit, output
from dedup import schema as S
from dedup._version import dedup_version
from dedup.errors import NoDocumentsError
from dedup.index import ADD, SEGMENTS, Add, Index, commit_errors, now
from dedup.options import ScanOptions
from dedup.result import ScanResult, ScanStats
from dedup.runners import scan_folders
from dedup.runners import spark as R

__all__ = ["SparkScan", "index_add", "index_add_files", "read_index", "scan", "scan_files", "session"]

SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"
LOCAL_DRIVER_MEMORY = "4g"
DRIVER_EDGES = 2_000_000  # verified pairs clustered on the driver: 2 int64 and 2 float64 each, 64 MB


@dataclass(slots=True)
class SparkScan:
    """The tables of a scan on Spark (``blocks``, ``pairs``, ``clusters``, ``documents``, and ``matches`` for a
    scan against an index: the local engine's schemas, 64-bit hashes as signed longs of the same bits) and its
    statistics. The tables are lazy DataFrames over cached intermediate results; ``close`` releases those."""

    ordered: dict[str, DataFrame]  # the tables with their rows' place in the local engine's files (``R.ORDER``)
    stats: ScanStats
    options: ScanOptions
    cached: list[DataFrame] = field(default_factory=list)  # every checkpoint the scan made (``R.materialized``)
    # What the tables are made of (blocks, documents, texts, nodes, edges; centres, or against an index what
    # ``R.index_match`` keyed): what an index add needs.
    parts: dict[str, DataFrame] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # the content hash of every file read (``hash_files``)
    add: Add | None = None  # the add ``index_add`` made of the documents

    @property
    def tables(self) -> dict[str, DataFrame]:
        """The tables, in the local engine's schemas (rows in no particular order)."""
        return {name: frame.drop(R.ORDER) for name, frame in self.ordered.items()}

    def sorted(self, name: str) -> DataFrame:
        """A table with its rows in the order of the local engine's file (a global sort: a shuffle)."""
        return self.ordered[name].orderBy(R.ORDER).drop(R.ORDER)

    def close(self) -> None:
        """Free what the executors keep for the tables (checkpoints of the scan's steps); the tables are gone then."""
        R.release(self.cached)
        self.cached.clear()


def scan(
    spark: SparkSession,
    inputs: Sequence[str | Path] | DataFrame,
    options: ScanOptions | None = None,
    partitions: int | None = None,
    driver_edges: int = DRIVER_EDGES,
    hash_files: bool = False,
    index: str | Path | Index | None = None,
    piece_bytes: int = R.PIECE_BYTES,
) -> SparkScan:
    """Find exact and near-duplicate blocks with Spark.

    Args:
        spark: the session to run in (``local[*]``, a cluster, Databricks…).
        inputs: folders, files or glob patterns every executor can read (read by dedup's readers, a file
            per task), or a DataFrame with the columns ``options.read.id_field`` and ``text_field``, read
            in its order.
        options: every stage's options, as for ``dedup.scan``.
        partitions: partitions of the documents and of every shuffle (default: the session's
            ``spark.sql.shuffle.partitions``); the tables do not depend on it.
        driver_edges: verified pairs up to this many are clustered on the driver by the local engine's
            ``CentreAssignment`` (one job); more, in rounds of DataFrame operations (``centre_rounds``).
        hash_files: take the content hash of every file read (``SparkScan.files``), as an index add records.
        index: an index of earlier data (``dedup index add``), which every executor can read: the blocks are
            clustered as if scanned after it, and what they repeat of it is the ``matches`` table, as in
            ``dedup.scan(..., index=...)`` (no update: ``index_add`` adds).
        piece_bytes: the most bytes of JSON Lines one task reads: a larger file is read in pieces of whole
            lines, a task each, smaller ones when the input is small for the session's default parallelism
            (its size over that, at least 4 MiB), as Spark splits the files it reads. Not with ``hash_files``,
            which hashes each file whole. The tables do not depend on it.

    Raises:
        InputError: a path that does not exist; a DataFrame without the id or text column; an index that is
            not one.
        NoDocumentsError: the inputs held no document.
        OptionsError: ``options`` differ from the index's in what decides a match.
    """
    from dedup.pipeline import open_index

    options = options or ScanOptions()
    idx = open_index(index, options) if index is not None else None
    with _shuffle_partitions(spark, partitions):
        added: dict[str, str] | None = {} if hash_files else None
        return _scan(spark, inputs, options, partitions, driver_edges, added, idx, piece_bytes)


@contextmanager
def _shuffle_partitions(spark: SparkSession, partitions: int | None) -> Iterator[None]:
    """The session's shuffle partitions set to ``partitions`` for the scan's corpus-wide steps."""
    if partitions is None:
        yield
        return
    before = str(spark.conf.get(SHUFFLE_PARTITIONS))
    spark.conf.set(SHUFFLE_PARTITIONS, str(partitions))
    try:
        yield
    finally:
        spark.conf.set(SHUFFLE_PARTITIONS, before)


def _scan(
    spark: SparkSession,
    inputs: Sequence[str | Path] | DataFrame,
    options: ScanOptions,
    partitions: int | None,
    driver_edges: int,
    added: dict[str, str] | None = None,
    index: Index | None = None,
    piece_bytes: int = R.PIECE_BYTES,
) -> SparkScan:
    """``scan``; with ``added`` (an index's ``added_files``), the files' hashes are taken and a file an earlier
    add brought is passed over; with ``index``, the scan is one against it. Every checkpoint the scan makes is
    the result's to release (``close``), or released here when the scan fails."""
    with R.holding_checkpoints() as held:
        try:
            found = _scanned(spark, inputs, options, partitions, driver_edges, added, index, piece_bytes)
        except BaseException:
            R.release(held)
            raise
    found.cached = held
    return found


def _scanned(
    spark: SparkSession,
    inputs: Sequence[str | Path] | DataFrame,
    options: ScanOptions,
    partitions: int | None,
    driver_edges: int,
    added: dict[str, str] | None,
    index: Index | None,
    piece_bytes: int,
) -> SparkScan:
    clock = _Clock(spark)
    files: dict[str, str] = {}
    with clock.stage("read"):
        if isinstance(inputs, DataFrame):
            documents, read_stats = R.frame_documents(inputs, options)
        else:
            read = R.read_paths(spark, inputs, options, added, piece_bytes)
            documents, read_stats, files = R.numbered_documents(read)
        # What the tables hold of a document, apart: every later step reads it, and reading the documents
        # again would read their texts again (and, repartitioned, go through that shuffle again).
        described = R.materialized(documents.select(S.DOC_KEY, S.DOC_ID, S.SOURCE, S.SOURCE_LINE))
        # Partitions for the per-batch stage on every core, even when the documents came from one file.
        texts_in_parts = documents.repartition(partitions or spark.sparkContext.defaultParallelism)
    if read_stats.documents == 0:
        given = "<DataFrame>" if isinstance(inputs, DataFrame) else ", ".join(str(p) for p in inputs)
        raise NoDocumentsError(f"no documents found in {given}", read_stats.skips)
    with clock.stage("fingerprint"):
        blocks = R.materialized(R.fingerprint(texts_in_parts, options))
        n_blocks, block_bits = R.counted_blocks(blocks)
        blocks = R.with_block_keys(blocks, block_bits, read_stats.documents)  # a projection, computed as needed
    with clock.stage("distinct"):
        texts = R.materialized(R.distinct_texts(blocks))
        nodes = R.materialized(R.near_nodes(blocks, texts))
        near_count = nodes.count()
    with clock.stage("candidates"):
        pairs = R.materialized(R.candidate_pairs(nodes, near_count, options))
        candidate_count = pairs.count()
    with clock.stage("verify"):
        edges = R.materialized(R.verified_pairs(pairs, nodes, options))
        verified_count = edges.count()
    parts = {"blocks": blocks, "documents": described, "texts": texts, "nodes": nodes, "edges": edges}
    indexed: dict[str, DataFrame] | None = None  # the index's segments, when it has any
    if index is not None and index.adds:
        with clock.stage("index"):
            indexed = _index_tables(spark, index, numbered=True)  # read once: each file read costs a job
            joined, numbers, split = _clusters_against(index, indexed, parts, options, driver_edges)
    else:
        with clock.stage("cluster"):
            joined, numbers, split = _clusters(parts, verified_count, driver_edges)
    with clock.stage("tables"):
        tables = R.tables(blocks, described, texts, numbers, joined, read_stats.documents)
        if index is not None:
            tables["matches"] = _matches(spark, index, parts, indexed)
    bands, rows = candidates.banding(options.lsh, options.minhash.num_perm)
    stats = ScanStats(
        files=read_stats.files,
        documents=read_stats.documents,
        blocks=n_blocks,
        near_blocks=near_count,
        candidate_pairs=candidate_count,
        verified_pairs=verified_count,
        bands=bands,
        rows=rows,
        components_split=split,
        skips=read_stats.skips,
        warnings=read_stats.warnings,
        seconds=clock.seconds,
    )
    return SparkScan(ordered=tables, stats=stats, options=options, parts=parts, files=files)


def _clusters(parts: dict[str, DataFrame], verified_count: int, driver_edges: int) -> tuple[DataFrame, DataFrame, int]:
    """The scan's near clusters (``parts["centres"]``): the members with their centres, every text's cluster,
    and the components the centres split."""
    texts, edges = parts["texts"], parts["edges"]
    on_driver: int | None = None  # the driver's assignment counts the split components as it goes
    if verified_count <= driver_edges:
        centres, on_driver = R.centres_on_driver(edges)
    else:
        centres = R.centre_rounds(edges)
    parts["centres"] = centres = R.materialized(centres)
    joined = R.materialized(R.members(edges, centres))
    numbers = R.materialized(R.cluster_numbers(texts, centres))
    numbers.count()
    split = R.components_split(edges, centres) if on_driver is None else on_driver
    return joined, numbers, split


def _clusters_against(
    index: Index,
    indexed: dict[str, DataFrame],
    parts: dict[str, DataFrame],
    options: ScanOptions,
    driver_edges: int,
) -> tuple[DataFrame, DataFrame, int]:
    """The new data's clusters in a scan against an index with adds, from ``R.index_match`` (kept as
    ``parts["keyed"]`` for the table of matches and an add): the members of the new centres, every text's
    cluster, and the components the centres over index and new texts split."""
    keyed, split = R.index_match(
        parts["texts"],
        parts["nodes"],
        parts["edges"],
        indexed,
        index.next_text,
        options,
        driver_edges,
        standing_only=bool(index.removed_files),
    )
    parts["keyed"] = keyed
    joined = R.materialized(R.own_members(keyed))
    numbers = R.materialized(R.numbered_keys(R.index_cluster_keys(keyed)))
    return joined, numbers, split


def _matches(
    spark: SparkSession, index: Index, parts: dict[str, DataFrame], indexed: dict[str, DataFrame] | None
) -> DataFrame:
    """The table of matches of a scan against ``index``, read as ``indexed`` (none: an index without adds)."""
    if indexed is None:
        schema = R.spark_type(S.MATCHES_SCHEMA).add(R.ORDER, T.LongType())
        return spark.createDataFrame([], schema)
    adds = [(number, add.name, add.time) for number, add in enumerate(index.adds)]
    names = spark.createDataFrame(adds, f"{ADD} int, name string, time string")
    first = R.first_occurrences(indexed["occurrences"], names, parts["keyed"])
    return R.matches_table(parts["blocks"], parts["documents"], parts["keyed"], first)


@dataclass(slots=True)
class _Clock:
    """Wall time per stage: the actions that end each stage make its work happen there. Each stage's jobs
    are described by its name (``dedup: candidates``) in Spark's UI and event log."""

    spark: SparkSession
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            with _described(self.spark, name):
                yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


@contextmanager
def _described(spark: SparkSession, what: str) -> Iterator[None]:
    """The jobs started in this block described as ``dedup: <what>`` (the description before is put back)."""
    context = spark.sparkContext
    before = context.getLocalProperty("spark.job.description")
    context.setJobDescription(f"dedup: {what}")
    try:
        yield
    finally:
        context.setJobDescription(before)  # type: ignore[arg-type]  # None clears it


def session(master: str = "local[*]") -> SparkSession:
    """A Spark session for the command line: the master given, no web UI or progress bars of Spark's."""
    builder = SparkSession.builder.master(master).appName("dedup")
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    if master.startswith("local"):  # the executors live in this driver's JVM: more than Spark's 1 GB default
        builder = builder.config("spark.driver.memory", LOCAL_DRIVER_MEMORY)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def scan_files(
    paths: Sequence[str | Path],
    options: ScanOptions | None = None,
    out: str | Path | None = None,
    master: str = "local[*]",
    partitions: int | None = None,
    index: str | Path | Index | None = None,
) -> ScanResult:
    """A scan on Spark with the result of ``dedup.scan``: the tables in Parquet files (in ``out``, or a private
    folder), each row where the local engine writes it, and ``scan.json``. What ``--engine spark`` runs.

    ``partitions`` as for ``scan``; with ``index``, a scan against it, as ``dedup.scan(..., index=...)`` (the
    table of matches too; no update). Spark writes each table into a scratch folder on this machine, from
    which it is staged as the local engine stages its own: so ``master`` is a local one, or a cluster whose
    executors share this file system.

    Raises:
        InputError, NoDocumentsError, OutputError: as ``dedup.scan``.
        OptionsError: ``options`` differ from the index's in what decides a match.
    """
    from dedup.pipeline import open_index

    options = options or ScanOptions()
    idx = open_index(index, options) if index is not None else None
    return _scan_files(paths, options, out, master, partitions, index=idx)


def _scan_files(
    paths: Sequence[str | Path],
    options: ScanOptions,
    out: str | Path | None,
    master: str,
    partitions: int | None,
    index: Index | None = None,
    add_to: tuple[Index, str] | None = None,
) -> ScanResult:
    """``scan_files``, against ``index`` if given; with ``add_to`` (an index held as its writer, and a name),
    against that index, and the documents become its next add too (``index_add``), once the tables are
    staged: the tables and summary of a local add."""
    index = add_to[0] if add_to is not None else index
    names = [*output.TABLES, *([output.MATCHES] if index is not None else [])]
    with scan_folders(out, paths) as (folder, private, scratch):
        with output.writing(folder) as staged:
            spark = session(master)
            added = add_to[0].added_files() if add_to is not None else None
            with _shuffle_partitions(spark, partitions):
                found = _scan(spark, paths, options, partitions, DRIVER_EDGES, added, index)
            try:
                settings = output.settings_of(options, found.stats.bands, found.stats.rows, dedup_version())
                started = time.perf_counter()
                for name in names:
                    with _described(spark, f"write {name}"):
                        table = _written(found, name, scratch.path)
                        output.stage_table(staged, name, table, output.parquet_metadata(settings))
                found.stats.seconds["write"] = time.perf_counter() - started
                if add_to is not None:
                    started = time.perf_counter()
                    found.add = _write_add(found, *add_to, DRIVER_EDGES)
                    found.stats.seconds["index"] = time.perf_counter() - started
            finally:
                found.close()
            result = ScanResult(
                files={name: staged.path(output.table_file(name)) for name in names},
                stats=found.stats,
                options=options,
            )
            output.stage_summary(staged, result.saved())
            with output.output_errors(staged.folder):
                staged.commit()
        result.files = {name: staged.folder / output.table_file(name) for name in names}
        result.folder = private
        return result


def _written(found: SparkScan, name: str, scratch: Path) -> pl.LazyFrame:
    """A table written by Spark, read back lazily in the local engine's schema and row order.

    Spark writes the rows in any order with their place (``R.ORDER``), and polars sorts them as it stages
    the file: a sort in Spark would cost a sampling job and a shuffle per table.
    """
    return _read_back(
        found.ordered[name], scratch / name, R.TABLE_SCHEMAS[name], lambda frame: R.to_local(name, frame.sort(R.ORDER))
    )


def _read_back(
    frame: DataFrame, target: Path, schema: pl.Schema, to_local: Callable[[pl.LazyFrame], pl.LazyFrame]
) -> pl.LazyFrame:
    """A Spark frame written as Parquet into ``target`` and read back lazily by polars through ``to_local``
    (an empty frame of ``schema`` when Spark wrote no part)."""
    frame.write.parquet(str(target))
    parts = sorted(target.glob("*.parquet"))
    return to_local(pl.scan_parquet(parts)) if parts else pl.LazyFrame(schema=schema)


# ------------------------------------------------------------------------------------------------ index

REMOVED = "removed"
_PER_DOCUMENT = ("occurrences", "documents")  # the segments whose rows belong to a document


def read_index(spark: SparkSession, folder: str | Path) -> dict[str, DataFrame]:
    """An index made by ``dedup index add`` (``dedup.index``), as Spark DataFrames.

    One DataFrame per kind of segment (``texts``, ``postings``, ``occurrences``, ``documents``,
    ``clusters``, ``cluster_documents``) over every add the manifest lists, in its columns and the add's
    position in the manifest (``add``), and ``removed``, the removed document ids. Adds a writer has not
    committed are not read, and the rows of removed documents are left out of ``occurrences`` and
    ``documents``, as in every lookup of the local engine. Unsigned hashes come as the signed integers of
    the same bits, as in the tables of ``scan``. The folder must be one every executor can read.

    Raises:
        InputError: the folder is not an index, or its manifest is damaged.
    """
    return _index_tables(spark, Index.open(folder))


def _index_tables(spark: SparkSession, idx: Index, numbered: bool = False) -> dict[str, DataFrame]:
    """``read_index`` of an opened index (as its manifest was when opened or last written); ``numbered``: each
    occurrence with its row in its add's file (``R.ROW``), which orders the occurrences of a text."""
    removed_files = [str(path) for path in idx.removed_id_files()]
    removed = (
        spark.read.parquet(*removed_files).select(S.DOC_ID)
        if removed_files
        else spark.createDataFrame([], T.StructType([T.StructField(S.DOC_ID, T.StringType())]))
    )
    tables = {name: _segments(spark, idx, name, numbered and name == "occurrences") for name in SEGMENTS}
    for name in _PER_DOCUMENT:
        tables[name] = tables[name].join(F.broadcast(removed), on=S.DOC_ID, how="left_anti")
    return {**tables, REMOVED: removed}


def _segments(spark: SparkSession, idx: Index, name: str, numbered: bool = False) -> DataFrame:
    """One kind of segment over the committed adds, with each row's add (and its row in the file)."""
    columns = [_signed_column(column, dtype) for column, dtype in SEGMENTS[name].items()]
    rows = [F.col("_metadata.row_index").alias(R.ROW)] if numbered else []
    frames = [
        spark.read.parquet(str(path)).select(*columns, F.lit(number).cast("int").alias(ADD), *rows)
        for number, path in idx.segment_files(name)
    ]
    if not frames:
        fields = [T.StructField(column, _as_read(dtype)) for column, dtype in SEGMENTS[name].items()]
        fields.append(T.StructField(ADD, T.IntegerType()))
        fields.extend(T.StructField(R.ROW, T.LongType()) for _ in rows)
        return spark.createDataFrame([], T.StructType(fields))
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    return union


def _as_read(dtype: pl.DataType) -> T.DataType:
    """The Spark type of a segment's column as ``_segments`` gives it (for an index without adds)."""
    if isinstance(dtype, pl.List):
        inner = dtype.inner
        return T.ArrayType(_as_read(inner if isinstance(inner, pl.DataType) else inner()))
    types: dict[pl.DataType, T.DataType] = {
        pl.Int16(): T.ShortType(),
        pl.Int32(): T.IntegerType(),
        pl.String(): T.StringType(),
        pl.Boolean(): T.BooleanType(),
    }
    return types.get(dtype, T.LongType())  # Int64, UInt64 (as signed bits) and UInt32 (as Spark reads it)


def _signed_column(name: str, dtype: pl.DataType) -> F.Column:
    """A column as Spark holds the local engine's: Parquet's unsigned 64-bit integers, which Spark reads as
    decimals, become the signed integers of the same bits."""
    if dtype != pl.UInt64:
        return F.col(name)
    decimal = T.DecimalType(20, 0)
    value = F.col(name).cast(decimal)
    half, whole = (F.lit(Decimal(2**bits)).cast(decimal) for bits in (63, 64))
    bits = F.when(value >= half, value - whole).otherwise(value)
    return bits.cast(T.LongType()).alias(name)


# ------------------------------------------------------------------------------------------ index add


def index_add(
    spark: SparkSession,
    inputs: Sequence[str | Path] | DataFrame,
    folder: str | Path,
    options: ScanOptions | None = None,
    name: str | None = None,
    partitions: int | None = None,
    driver_edges: int = DRIVER_EDGES,
) -> SparkScan | None:
    """Scan documents with Spark and make them an index's next add (the index is made if missing).

    The add's segments and its entry in the manifest hold, row for row, what the local ``dedup index add``
    writes for the same documents and options (``dedup.index``): the documents are matched against the
    indexed texts as a local add matches them (``runners.spark.index_match``: exact and LSH lookups as joins
    of the scan's keys with the segments, verification on the indexed shingle sets, the centre rule over the
    index texts involved and the new near texts), Spark computes the segments and writes them into a scratch
    folder inside the add's staging folder, and polars stages them in the index's schemas (unsigned keys) and
    row order; the add is committed by the index's own journaled commit, holding the index as its one writer.
    A file an earlier add brought is passed over. The folder must be one the executors share with this driver.

    Args:
        spark, inputs, options, partitions, driver_edges: as for ``scan``.
        folder: the index.
        name: the add's name (default: the paths, or ``<DataFrame>``).

    Returns:
        The scan of the documents, with ``add``, the add written (``close`` it when done with its tables), or
        ``None`` when every file was added before. Its tables are those of a scan against the index before
        the add (``scan(..., index=folder)``), with the table of matches, as a local add returns them.

    Raises:
        InputError, NoDocumentsError: as ``scan``; a folder that is not an index.
        OptionsError: the index was made with other matching options.
        OutputError: the folder cannot be written, or another run is writing the index.
    """
    from dedup.pipeline import nothing_new, open_index

    options = options or ScanOptions()
    idx = open_index(folder, options, create=True)
    with idx.writing(), _shuffle_partitions(spark, partitions):
        try:
            found = _scan(spark, inputs, options, partitions, driver_edges, idx.added_files(), idx)
        except NoDocumentsError as exc:
            if nothing_new(exc):
                return None
            raise
        try:
            found.add = _write_add(found, idx, name or _name_of(inputs), driver_edges)
        except BaseException:
            found.close()
            raise
    return found


def index_add_files(
    folder: str | Path,
    paths: Sequence[str | Path],
    options: ScanOptions | None = None,
    name: str | None = None,
    master: str = "local[*]",
    partitions: int | None = None,
) -> ScanResult | None:
    """``index_add`` with the result of ``dedup.index_add`` (the scan's tables in a private folder), on a
    session of this master: what ``dedup index add --engine spark`` runs. As for ``scan_files``, the
    executors must share this machine's file system (the index's and the scratch folder's).

    Raises:
        see ``index_add``.
    """
    from dedup.pipeline import nothing_new, open_index

    options = options or ScanOptions()
    idx = open_index(folder, options, create=True)
    with idx.writing():
        try:
            return _scan_files(paths, options, None, master, partitions, add_to=(idx, name or _name_of(paths)))
        except NoDocumentsError as exc:
            if nothing_new(exc):
                return None
            raise


def _name_of(inputs: Sequence[str | Path] | DataFrame) -> str:
    """An add's default name, as a local add names it (``pipeline.add_name``), or ``<DataFrame>``."""
    from dedup.pipeline import add_name

    return "<DataFrame>" if isinstance(inputs, DataFrame) else add_name(inputs)


def _write_add(found: SparkScan, idx: Index, name: str, driver_edges: int) -> Add:
    """Match the scan's documents against the index, write them as its next add and commit it (the caller
    holds ``idx.writing``). The checkpoints this makes are the scan's to release (``close``)."""
    with R.holding_checkpoints(found.cached):
        return _add_written(found, idx, name, driver_edges)


def _add_written(found: SparkScan, idx: Index, name: str, driver_edges: int) -> Add:
    parts = found.parts
    keyed = parts.get("keyed")  # the scan against the index matched them (an index with adds)
    if keyed is None:
        keyed, _ = R.index_match(
            parts["texts"],
            parts["nodes"],
            parts["edges"],
            _index_tables(parts["texts"].sparkSession, idx),
            idx.next_text,
            found.options,
            driver_edges,
            standing_only=bool(idx.removed_files),
        )
    segments = R.index_segments(parts["blocks"], parts["documents"], parts["nodes"], keyed)
    segment = idx.new_segment()
    scratch = segment / "_spark"  # removed before the commit; with the staging folder if the run dies
    with commit_errors(idx.folder):
        for kind, frame in segments.items():
            local = _read_back(frame, scratch / kind, SEGMENTS[kind], functools.partial(R.segment_to_local, kind))
            local.sink_parquet(segment / f"{kind}.parquet")
        shutil.rmtree(scratch)
        commit.fsync_folder(segment)
    add = Add(
        id=idx.next_add_id(),
        name=name,
        time=now(),
        documents=found.stats.documents,
        blocks=found.stats.blocks,
        texts=keyed.filter(R.NEW).count(),
        first_text=idx.next_text,
        files=found.files,
    )
    idx.commit_add(segment, add)
    return add
