"""The Spark runner: the local engine's scan as DataFrame operations, for corpora past one machine.

The stages are the library's own. The per-batch stage (``dedup.stage.fingerprint_batch``) runs inside
``mapInArrow`` on every partition of documents; what the local runner does corpus-wide with hash tables
and sorted runs is done here by key, with group-bys and joins:

- documents: dedup's own reader of each file, mapped over the list of files (or a DataFrame given by the
  caller), numbered in read order (``doc_key``); a block is known by ``block_key``, its document's key and
  its number packed in one long, so that comparing block keys compares positions in read order;
- distinct texts: matchable blocks grouped by exact key, the first occurrence the least block key;
- candidates: the band keys of every near text exploded into LSH buckets, each bucket brought to one
  partition in order and paired there by the local engine's kernel: a bucket of up to
  ``LSHOptions.max_bucket_pairs`` texts yields all its pairs, a larger one a chain and a star to its first
  text, as ``candidates.band_pairs`` does (with the same loss of the band key's high bits);
- verification: each pair joined with its two shingle sets and measured by ``cluster.similarities``;
- clusters: the centre rule of ``cluster.CentreAssignment`` in rounds (see ``centre_rounds``);
- tables: joins of blocks with their distinct texts, clusters and documents, the documents' best
  containers found as ``dedup.documents`` does (each candidate measured by the local engine's kernel).

Python code (the library's stages and kernels) runs inside ``mapInArrow``, one Arrow batch at a time.

Shuffles: reading (none), fingerprint (none), distinct texts (by exact key), candidates (by band bucket,
then by pair), verification (two joins by node), centre rounds (by node, once per round), tables (by
exact key, by cluster, by document).
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import polars as pl
import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import from_arrow_schema

from dedup import _kernels, candidates, cluster, sources, stage
from dedup import schema as S
from dedup._arrow import distinct_sorted, list_values
from dedup.documents import MAX_CANDIDATES
from dedup.errors import InputError
from dedup.fingerprint import ShingleSets
from dedup.formats.records import ReadWarning, Skip
from dedup.index import ADD, BAND, KEY, MEMBER, SEGMENTS, TEXT, file_hash, passed_over
from dedup.options import LSHOptions, ScanOptions

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)
BLOCK_KEY = S.BLOCK_KEY
NODE, OTHER = "node", "other"  # a near text (by its first block's key) and the text it is paired with
CENTRE = "centre"
HELD = "held"  # a node of the verified pairs that takes and joins nothing (an index's member)
FILE = "file"  # a file's number in read order
ROW = "row"  # a document's number within its file (or partition)
NOTE = "note"  # a reader's account of a file: skips, warnings, whether it was read (JSON)
REPRESENTATIVE = "representative"
# Up to this many rows of a few keys and a string (tens of MB), a small side of the tables' joins is broadcast:
# Spark cannot know how few rows a frame made in Python (``mapInArrow``) holds, and would shuffle the large side.
BROADCAST_ROWS = 500_000
ORDER = "_order"  # a table row's place in the local engine's file: blocks and pairs by block, clusters, documents

# Spark has no unsigned integers: 64-bit hashes and 32-bit shingle hashes travel as the signed integers of
# the same bits, which compare equal exactly when the unsigned ones do.
DOCUMENTS_TYPE_ARROW = pa.schema(
    [
        (FILE, pa.int64()),
        (ROW, pa.int64()),
        (S.DOC_ID, pa.string()),
        (S.TEXT, pa.string()),
        (S.SOURCE, pa.string()),
        (S.SOURCE_LINE, pa.int64()),
        (S.ANCHORS, pa.list_(pa.int64())),
        (NOTE, pa.string()),
    ]
)
PAIRS_ARROW = pa.schema([(NODE, pa.int64()), (OTHER, pa.int64())])
FINGERPRINT_ARROW = pa.schema(
    [
        (S.DOC_KEY, pa.int64()),
        (S.BLOCK, pa.int32()),
        (S.START, pa.int64()),
        (S.END, pa.int64()),
        (S.LINE, pa.int32()),
        (S.SOURCE_LINE, pa.int64()),
        (S.SOURCE_COLUMN, pa.int32()),
        (S.TEXT, pa.string()),  # Spark reads neither large strings nor large lists
        (S.EXACT_HASH, pa.int64()),
        (S.MATCHABLE, pa.bool_()),
        (S.SHORT, pa.bool_()),
        (S.NEAR_CANDIDATE, pa.bool_()),
        (S.SHINGLES, pa.list_(pa.int32())),
        (S.BAND_KEYS, pa.list_(pa.int64())),
    ]
)
# What Spark holds of them (the same columns, derived so that the two never drift apart).
DOCUMENTS_TYPE = from_arrow_schema(DOCUMENTS_TYPE_ARROW)
PAIRS_TYPE = from_arrow_schema(PAIRS_ARROW)
_SPARK_TYPES = {
    pl.Int64: T.LongType(),
    pl.UInt64: T.LongType(),
    pl.Int32: T.IntegerType(),
    pl.String: T.StringType(),
    pl.Boolean: T.BooleanType(),
    pl.Float64: T.DoubleType(),
}
TABLE_SCHEMAS = {
    "blocks": S.BLOCKS_SCHEMA,
    "pairs": S.PAIRS_SCHEMA,
    "clusters": S.CLUSTERS_SCHEMA,
    "documents": S.DOCUMENTS_SCHEMA,
    "matches": S.MATCHES_SCHEMA,  # of a scan against an index
}


def materialized(frame: DataFrame) -> DataFrame:
    """The frame computed now and its plan cut: reliably checkpointed when the session has a checkpoint
    folder (``spark.sparkContext.setCheckpointDir``, as a cluster should), else kept by the executors.

    Every corpus-wide step starts from materialized frames: a plan that stacked every step (and every
    round of the iterations) would be optimized and recomputed whole each time.
    """
    done = frame.checkpoint() if frame.sparkSession.sparkContext.getCheckpointDir() else frame.localCheckpoint()
    held = _held.get()
    if held is not None:
        held.append(done)
    return done


# The frames ``materialized`` made inside ``holding_checkpoints`` (in this thread), for ``release``.
_held: ContextVar[list[DataFrame] | None] = ContextVar("dedup_spark_checkpoints", default=None)


@contextlib.contextmanager
def holding_checkpoints(held: list[DataFrame] | None = None) -> Iterator[list[DataFrame]]:
    """The list (``held``, or a new one) of every frame ``materialized`` makes inside the block, as it makes them."""
    held = [] if held is None else held
    token = _held.set(held)
    try:
        yield held
    finally:
        _held.reset(token)


def release(frames: list[DataFrame]) -> None:
    """Free what the executors keep of ``frames``. ``DataFrame.unpersist`` frees a cached frame but not a local
    checkpoint, whose blocks stay until the driver's JVM collects its RDD (Spark's cleaner): so a session that
    ran many scans held every scan's blocks, texts included. The checkpoint's RDD is reached through Spark's
    internals; a Spark without them only leaves the blocks to its cleaner, as before."""
    for frame in frames:
        frame.unpersist()
        with contextlib.suppress(Exception):
            plan = frame._jdf.queryExecution().analyzed()
            if plan.getClass().getSimpleName() == "LogicalRDD":
                plan.rdd().unpersist(False)


def spark_type(schema: pl.Schema) -> T.StructType:
    """The Spark type of a table of the local engine (unsigned integers as signed ones of the same bits)."""
    return T.StructType([T.StructField(name, _SPARK_TYPES[dtype]) for name, dtype in schema.items()])  # type: ignore[index]


def to_local(name: str, frame: FrameT) -> FrameT:
    """A table the Spark runner made, in the local engine's schema (its 64-bit hashes unsigned again)."""
    schema = TABLE_SCHEMAS[name]
    unsigned = [pl.col(column).reinterpret(signed=False) for column, dtype in schema.items() if dtype == pl.UInt64]
    return frame.with_columns(unsigned).select(list(schema)).cast(schema)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------- reading


# JSON Lines files larger than a piece are read in pieces of whole lines, a task each, so that a single large
# file is read on every core, not on one. A piece is at most this, and less when the input is small for the
# cores there are (its size over the default parallelism, at least MIN_PIECE_BYTES): Spark's own rule for
# splitting the files its readers read (spark.sql.files.maxPartitionBytes, openCostInBytes).
PIECE_BYTES = 128 << 20
MIN_PIECE_BYTES = 4 << 20


def read_paths(
    spark: SparkSession,
    paths: Sequence[str | Path],
    options: ScanOptions,
    added: dict[str, str] | None = None,
    piece_bytes: int = PIECE_BYTES,
) -> DataFrame:
    """Every document of the files under ``paths``, read by dedup's own readers, a file per task, or a piece
    of whole lines per task for large JSON Lines (``sources.Piece``, ``PIECE_BYTES``).

    The files are listed here (the driver must see the paths, as every executor must); each is read
    where its task runs. Rows with a ``note`` are a file's account (skips, warnings), not documents. With
    ``added`` (what an index add is given: ``Index.added_files``), the note holds the file's name and the
    XXH64 of its bytes too, and a file whose hash is in ``added`` is passed over, as a local add does (such
    files are read whole: a file is hashed in one piece).

    Raises:
        InputError: a path that does not exist, or standard input (``-``), which a cluster cannot read.
    """
    if any(str(path) == sources.STDIN for path in paths):
        raise InputError("-: standard input cannot be scanned on Spark; save it to a file first")
    listed: list[tuple[int, str, str, str, bool, int, int, int]] = []
    notes: list[tuple[int, str]] = []
    discovered = list(sources.discover(paths))
    pieces = _pieces(spark, [f for f in discovered if not isinstance(f, Skip)], options, piece_bytes, added is None)
    # Files, their pieces and what listing skipped share one numbering (``FILE``), so that documents and
    # skips come in the local engine's order.
    for found in discovered:
        if isinstance(found, Skip):
            notes.append((len(listed) + len(notes), _note(0, [found], [])))
            continue
        for start, end, first_line in pieces.get(found.path, [(0, -1, 1)]):
            number = len(listed) + len(notes)
            listed.append((number, str(found.path), found.name, found.doc_id, found.explicit, start, end, first_line))
    # Consecutive runs of files and pieces, as many runs as cores (each as long as the others, give or take
    # one): partitioning by the file's hash put both pieces of a file read in two in one task, on one core.
    in_runs = spark.sparkContext.parallelize(listed, max(1, min(len(listed), spark.sparkContext.defaultParallelism)))
    files = spark.createDataFrame(
        in_runs,
        "file long, path string, name string, doc_id string, explicit boolean, start long, end long, first_line long",
        verifySchema=False,
    )
    read_options = options.read

    def read(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for file in batch.to_pylist():
                found = sources.Found(Path(file["path"]), file["name"], file["doc_id"], file["explicit"])
                whole = file["end"] < 0
                piece = None if whole else sources.Piece(file["start"], file["end"], file["first_line"])
                yield from _read_one(file[FILE], found, read_options, added, piece)

    documents = files.mapInArrow(read, DOCUMENTS_TYPE)
    if notes:
        rows = [(number, -1, None, None, None, None, None, note) for number, note in notes]
        given = spark.createDataFrame(rows, DOCUMENTS_TYPE)
        documents = documents.unionByName(given)
    return documents


def _pieces(
    spark: SparkSession, files: list[sources.Found], options: ScanOptions, piece_bytes: int, split: bool
) -> dict[Path, list[tuple[int, int, int]]]:
    """The (start byte, end byte, first line) of each piece of the JSON Lines files that are read in pieces
    (see ``read_paths``; none unless ``split``); the others are read whole. Each piece's lines are counted by
    one job for all of them (a task a piece), not on the driver, which reads a few bytes at each cut only."""
    sizes = [_size(found.path) for found in files]
    size = min(piece_bytes, max(MIN_PIECE_BYTES, sum(sizes) // spark.sparkContext.defaultParallelism))
    cut: dict[Path, list[tuple[int, int]]] = {}
    for found, file_size in zip(files, sizes, strict=True) if split else ():
        with contextlib.suppress(OSError):  # the task that reads it whole reports why it cannot
            if file_size > size and sources.splittable(found, options.read):
                ranges = sources.line_ranges(found.path, size)
                if len(ranges) > 1:
                    cut[found.path] = ranges
    if not cut:
        return {}
    every = [(str(path), start, end) for path, ranges in cut.items() for start, end in ranges]
    counted = iter(
        spark.sparkContext.parallelize(every, len(every))
        .map(lambda piece: sources.range_lines(Path(piece[0]), piece[1], piece[2]))
        .collect()
    )
    pieces: dict[Path, list[tuple[int, int, int]]] = {}
    for path, ranges in cut.items():
        lines = [next(counted) for _ in ranges]
        # Pieces report no empty file: one of blank lines only is read whole, to be reported as one.
        if any(content for _, content in lines):
            first_lines = np.cumsum([1] + [ends for ends, _ in lines[:-1]])
            pieces[path] = [(start, end, int(first)) for (start, end), first in zip(ranges, first_lines, strict=True)]
    return pieces


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # the task that reads it reports why it cannot
        return 0


def _read_one(
    number: int,
    found: sources.Found,
    options: Any,
    added: dict[str, str] | None = None,
    piece: sources.Piece | None = None,
) -> Iterator[pa.RecordBatch]:
    """The documents of one file (or piece of one) as record batches, then its note."""
    stats = sources.ReadStats()
    digest = None
    if added is not None:
        with contextlib.suppress(OSError):  # the reader reports it, as a local add does
            digest = file_hash(found.path)
    skip = passed_over(found.name, digest, added) if digest is not None and added is not None else None
    if skip is not None:
        stats.skips.append(skip)
        digest = None  # a file passed over is not recorded again
    row = 0
    for item in () if skip is not None else sources.read_file(found, options, stats, piece):
        frame = item.frame if isinstance(item, sources.DocumentFrame) else sources.documents_frame([item])
        rows = np.arange(row, row + frame.height, dtype=np.int64)
        row += frame.height
        yield pa.RecordBatch.from_pydict(
            {
                FILE: pa.array(np.full(frame.height, number, dtype=np.int64)),
                ROW: pa.array(rows),
                S.DOC_ID: frame[S.DOC_ID].to_arrow().cast(pa.string()),
                S.TEXT: frame[S.TEXT].to_arrow().cast(pa.string()),
                S.SOURCE: frame[S.SOURCE].to_arrow().cast(pa.string()),
                S.SOURCE_LINE: frame[S.SOURCE_LINE].to_arrow(),
                S.ANCHORS: _anchors(frame),
                NOTE: pa.nulls(frame.height, pa.string()),
            },
            schema=DOCUMENTS_TYPE_ARROW,
        )
    note = _note(stats.files, stats.skips, stats.warnings, {found.name: digest} if digest is not None else None)
    yield pa.RecordBatch.from_pylist(
        [
            {
                FILE: number,
                ROW: -1,
                S.DOC_ID: None,
                S.TEXT: None,
                S.SOURCE: None,
                S.SOURCE_LINE: None,
                S.ANCHORS: None,
                NOTE: note,
            }
        ],
        schema=DOCUMENTS_TYPE_ARROW,
    )


def _anchors(frame: pl.DataFrame) -> pa.Array:
    """The places of the documents' text in their files (``dedup.locations``), null for records without them."""
    if S.ANCHORS not in frame.columns:
        return pa.nulls(frame.height, pa.list_(pa.int64()))
    return frame[S.ANCHORS].cast(pl.List(pl.Int64)).to_arrow().cast(pa.list_(pa.int64()))


def _note(files: int, skips: list[Skip], warnings: list[ReadWarning], hashes: dict[str, str] | None = None) -> str:
    note = {"files": files, "skips": [asdict(s) for s in skips], "warnings": [asdict(w) for w in warnings]}
    return json.dumps(note | ({"hashes": hashes} if hashes else {}))


def file_hashes(notes: list[str]) -> dict[str, str]:
    """The content hash of every file read, by its name, from the notes of ``read_paths`` given ``added``."""
    return {name: digest for text in notes for name, digest in json.loads(text).get("hashes", {}).items()}


def read_stats(notes: list[str]) -> sources.ReadStats:
    """The reading counts of a scan from its files' notes, in read order."""
    stats = sources.ReadStats()
    for text in notes:
        note = json.loads(text)
        stats.files += note["files"]
        stats.skips.extend(Skip(**skip) for skip in note["skips"])
        stats.warnings.extend(ReadWarning(**warning) for warning in note["warnings"])
    return stats


def numbered_documents(read: DataFrame) -> tuple[DataFrame, sources.ReadStats, dict[str, str]]:
    """The documents read by ``read_paths`` with their keys in read order (0, 1, …) and ids made distinct,
    the reading counts, and the files' content hashes (when ``read_paths`` took them).

    A document whose id an earlier one took is renamed ``<id> (<source>:<line>)``, with a warning, as the
    local readers do.
    """
    read = materialized(read)
    # One pass for every file's count of documents and its note (a file's account holds no document).
    per_file = read.groupBy(FILE).agg(F.count(S.TEXT).alias("count"), F.max(NOTE).alias(NOTE)).orderBy(FILE)
    files = per_file.collect()
    notes = [row[NOTE] for row in files if row[NOTE] is not None]
    stats = read_stats(notes)
    counts = [(row[FILE], row["count"]) for row in files if row["count"]]
    documents = _dense_keys(read.filter(F.col(NOTE).isNull()).drop(NOTE), FILE, counts)
    # The ids alone are shuffled to find the repeated ones (most corpora have none), not the texts.
    earlier = Window.partitionBy(S.DOC_ID).orderBy(S.DOC_KEY)
    renamed = F.concat(
        F.col(S.DOC_ID), F.lit(" ("), F.col(S.SOURCE), F.lit(":"), F.col(S.SOURCE_LINE).cast("string"), F.lit(")")
    )
    repeated = materialized(
        documents.select(S.DOC_KEY, S.DOC_ID, S.SOURCE, S.SOURCE_LINE)
        .withColumn("_nth", F.row_number().over(earlier))
        .filter(F.col("_nth") > 1)
        .select(S.DOC_KEY, F.col(S.DOC_ID).alias("_old_id"), renamed.alias("_new_id"), S.SOURCE)
    )
    found = repeated.orderBy(S.DOC_KEY).collect()
    for row in found:
        message = f"id {row['_old_id']!r} was taken by an earlier document; this one is now {row['_new_id']!r}"
        stats.warnings.append(ReadWarning(row[S.SOURCE], None, "repeated id", message))
    if found:
        new_ids = repeated.select(S.DOC_KEY, "_new_id")
        new_id = F.coalesce(F.col("_new_id"), F.col(S.DOC_ID)).alias(S.DOC_ID)
        columns = [new_id if name == S.DOC_ID else F.col(name) for name in documents.columns]
        documents = documents.join(new_ids, S.DOC_KEY, "left").select(*columns)
    documents = materialized(documents)
    stats.documents = sum(count for _, count in counts)
    return documents, stats, file_hashes(notes)


def frame_documents(frame: DataFrame, options: ScanOptions) -> tuple[DataFrame, sources.ReadStats]:
    """The documents of a DataFrame the caller made (columns ``ReadOptions.id_field`` and ``text_field``),
    numbered in the DataFrame's order; ``source`` is ``<DataFrame>``, ``source_line`` the row from 1.

    Raises:
        InputError: the DataFrame lacks the id or the text column.
    """
    read = options.read
    for field, option in ((read.id_field, "id_field"), (read.text_field, "text_field")):
        if field not in frame.columns:
            raise InputError(f"<DataFrame>: no column {field!r} (set ReadOptions.{option}); it has {frame.columns}")
    ordered = frame.select(
        F.col(read.id_field).cast("string").alias(S.DOC_ID), F.col(read.text_field).cast("string").alias(S.TEXT)
    ).withColumn("_position", F.monotonically_increasing_id())
    # The id holds the partition in its high bits and the row within it in the low 33 (Spark's layout).
    ordered = ordered.withColumn(FILE, F.shiftright("_position", 33)).withColumn(
        ROW, F.col("_position").bitwiseAND(F.lit((1 << 33) - 1))
    )
    ordered = materialized(ordered)
    stats = sources.ReadStats()
    counts = [(row[FILE], row["count"]) for row in ordered.groupBy(FILE).count().orderBy(FILE).collect()]
    documents = _dense_keys(ordered.drop("_position"), FILE, counts)
    documents = documents.withColumn(S.SOURCE, F.lit("<DataFrame>")).withColumn(S.SOURCE_LINE, F.col(S.DOC_KEY) + 1)
    documents = documents.withColumn(S.ANCHORS, F.lit(None).cast("array<bigint>"))  # a row is placed by its number
    nulls = documents.filter(F.col(S.TEXT).isNull() | F.col(S.DOC_ID).isNull())
    for row in nulls.orderBy(S.DOC_KEY).collect():
        field = read.text_field if row[S.TEXT] is None else read.id_field
        stats.skips.append(
            Skip("<DataFrame>", row[S.SOURCE_LINE], "missing field", f"field {field!r} is null", unit="row")
        )
    documents = documents.filter(F.col(S.TEXT).isNotNull() & F.col(S.DOC_ID).isNotNull())
    documents = materialized(documents)
    stats.documents = documents.count()
    stats.files = 0
    return documents, stats


def _dense_keys(rows: DataFrame, group: str, counts: list[tuple[int, int]]) -> DataFrame:
    """``doc_key`` 0, 1, … in the order of (``group``, ``row``), from each group's count of rows, in order."""
    offsets, total = [], 0
    for number, count in counts:
        offsets.append((number, total))
        total += count
    spark = rows.sparkSession
    starts = spark.createDataFrame(offsets, f"{group} long, _offset long") if offsets else None
    if starts is None:
        return rows.withColumn(S.DOC_KEY, F.lit(0).cast("long")).drop(group, ROW)
    keyed = rows.join(F.broadcast(starts), group).withColumn(S.DOC_KEY, F.col("_offset") + F.col(ROW))
    return keyed.drop("_offset", group, ROW)


# ------------------------------------------------------------------------------------------- fingerprint


def fingerprint(documents: DataFrame, options: ScanOptions) -> DataFrame:
    """The per-batch stage on every partition of documents (``mapInArrow``): one row per block."""

    # In read order within each partition: the first block of a text in the corpus must be the first in its batch.
    in_order = documents.select(S.DOC_KEY, S.TEXT, S.SOURCE_LINE, S.ANCHORS).sortWithinPartitions(S.DOC_KEY)
    return each_batch(in_order, FINGERPRINT_ARROW, functools.partial(_fingerprinted, options=options))


def _fingerprinted(documents: pl.DataFrame, options: ScanOptions) -> pa.Table:
    return _signed(stage.fingerprint_batch(documents, options)).to_arrow().cast(FINGERPRINT_ARROW)


def each_batch(frame: DataFrame, schema: pa.Schema, function: Callable[[pl.DataFrame], pa.Table]) -> DataFrame:
    """``function`` of every (non-empty) Arrow batch of ``frame``, as a polars frame, in the batch's task
    (``mapInArrow``): how the library's stages and kernels run on Spark. Its tables have ``schema``."""

    def each(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows:
                polars_frame = pl.from_arrow(batch)
                assert isinstance(polars_frame, pl.DataFrame)
                yield from function(polars_frame).to_batches()

    return frame.mapInArrow(each, from_arrow_schema(schema))


def _signed(blocks: pl.DataFrame) -> pl.DataFrame:
    """The stage's blocks in the types Spark holds: unsigned integers as signed ones of the same bits."""
    return blocks.select(
        S.DOC_KEY,
        S.BLOCK,
        S.START,
        S.END,
        S.LINE,
        S.SOURCE_LINE,
        S.SOURCE_COLUMN,
        pl.col(S.TEXT).cast(pl.String),
        pl.col(S.EXACT_HASH).reinterpret(signed=True),
        S.MATCHABLE,
        S.SHORT,
        S.NEAR_CANDIDATE,
        pl.col(S.SHINGLES).list.eval(pl.element().reinterpret(signed=True)),
        pl.col(S.BAND_KEYS).list.eval(pl.element().reinterpret(signed=True)),
    )


# ----------------------------------------------------------------------------------------- corpus-wide


def counted_blocks(blocks: DataFrame) -> tuple[int, int]:
    """How many blocks there are, and the bits of a block's number in its block key: enough for the most
    blocks any document has (one pass)."""
    found = blocks.agg(F.count("*"), F.max(S.BLOCK)).first()
    assert found is not None
    return int(found[0]), max(1, int(found[1] or 0).bit_length())


def with_block_keys(blocks: DataFrame, bits: int, documents: int) -> DataFrame:
    """Each block's key: its document's key and its number in one long, in read order.

    Raises:
        InputError: the corpus has too many documents and blocks per document for 63 bits.
    """
    if max(1, documents.bit_length()) + bits > 63:
        raise InputError(f"{documents:,} documents with up to 2**{bits} blocks each are too many for one scan")
    return blocks.withColumn(BLOCK_KEY, F.shiftleft(S.DOC_KEY, bits).bitwiseOR(F.col(S.BLOCK).cast("long")))


def distinct_texts(blocks: DataFrame) -> DataFrame:
    """Every distinct matchable text: its exact key, first occurrence (``first``), how many blocks have it,
    and whether it takes part in near matching (its first occurrence is a near candidate)."""
    matchable = blocks.filter(S.MATCHABLE)
    texts = matchable.groupBy(S.EXACT_HASH).agg(F.min(BLOCK_KEY).alias("first"), F.count("*").alias("count"))
    firsts = matchable.select(
        F.col(BLOCK_KEY).alias("first"),
        F.col(S.DOC_KEY).alias("first_doc"),
        F.col(S.BLOCK).alias("first_block"),
        F.col(S.LINE).alias("first_line"),
        F.col(S.NEAR_CANDIDATE).alias("near"),
    )
    return texts.join(firsts, "first")


def near_nodes(blocks: DataFrame, texts: DataFrame) -> DataFrame:
    """The near texts (``node``: their first block's key) with their shingles and band keys."""
    nodes = texts.filter("near").select(F.col("first").alias(NODE))
    sets = blocks.filter(S.NEAR_CANDIDATE).select(F.col(BLOCK_KEY).alias(NODE), S.SHINGLES, S.BAND_KEYS)
    return nodes.join(sets, NODE)


def candidate_pairs(nodes: DataFrame, count: int, options: ScanOptions) -> DataFrame:
    """Distinct candidate pairs (``node`` < ``other``) of near texts that share a bucket in some band.

    As ``candidates.band_pairs``: a bucket of up to ``max_bucket_pairs`` texts yields every pair, a larger
    one a chain through its texts and a star to its first; and a bucket is told by the band key without
    its highest bits, as many as the number of a text needs there, so the same texts share a bucket.
    The members of a bucket are brought to one partition in order, and each task pairs its buckets with
    the local engine's ``candidates.band_pairs``: a self-join of the buckets in SQL made the same
    pairs at many times the cost.
    """
    if count < 2:
        return nodes.sparkSession.createDataFrame([], PAIRS_TYPE)
    row_bits = max(1, (count - 1).bit_length())
    kept_bits = F.lit((1 << (64 - row_bits)) - 1).cast("long")
    cap = options.lsh.max_bucket_pairs
    members = nodes.select(NODE, F.posexplode(S.BAND_KEYS).alias("band", "key")).select(
        "band", F.col("key").bitwiseAND(kept_bits).alias("bucket"), NODE
    )
    in_buckets = members.repartition("band", "bucket").sortWithinPartitions("band", "bucket", NODE)

    def pairs_of(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return bucket_pairs(batches, cap)

    return in_buckets.mapInArrow(pairs_of, PAIRS_TYPE).distinct()


def bucket_pairs(batches: Iterator[pa.RecordBatch], cap: int) -> Iterator[pa.RecordBatch]:
    """The pairs of every bucket in a partition of (``band``, ``bucket``, ``node``) rows sorted by all three.

    A bucket may go on from one batch into the next, so the last bucket of each batch waits for the
    next one (or the partition's end); memory holds a batch and the bucket it ends in.
    """
    waiting: list[pa.RecordBatch] = []
    for batch in batches:
        if batch.num_rows == 0:
            continue
        band, bucket = (batch.column(name).to_numpy() for name in ("band", "bucket"))
        before_last = np.flatnonzero((band != band[-1]) | (bucket != bucket[-1]))  # rows of the earlier buckets
        whole = int(before_last[-1]) + 1 if before_last.size else 0
        if whole:
            yield _pairs_in_buckets(pa.Table.from_batches([*waiting, batch.slice(0, whole)]), cap)
            waiting = []
        waiting.append(batch.slice(whole))
    if waiting:
        yield _pairs_in_buckets(pa.Table.from_batches(waiting), cap)


def _pairs_in_buckets(rows: pa.Table, cap: int) -> pa.RecordBatch:
    """The pairs of whole buckets (rows sorted by band, bucket and node), by the local engine's kernel."""
    band, bucket, node = (rows.column(name).to_numpy() for name in ("band", "bucket", NODE))
    # Each row keyed by its bucket's number among these rows: ``band_pairs`` pairs rows of equal keys, in row
    # order, which is node order within a bucket.
    starts = np.ones(node.size, dtype=bool)
    starts[1:] = (band[1:] != band[:-1]) | (bucket[1:] != bucket[:-1])
    left, right = candidates.band_pairs(np.cumsum(starts, dtype=np.uint64), cap)
    return pa.RecordBatch.from_arrays([pa.array(node[left]), pa.array(node[right])], schema=PAIRS_ARROW)


def verified_pairs(pairs: DataFrame, nodes: DataFrame, options: ScanOptions) -> DataFrame:
    """The candidate pairs that are near repeats, with their Jaccard similarity and containment measured on
    the distinct shingle sets (``cluster.similarities``)."""
    sets = nodes.select(NODE, S.SHINGLES)
    left = sets.select(F.col(NODE), F.col(S.SHINGLES).alias("set_a"))
    right = sets.select(F.col(NODE).alias(OTHER), F.col(S.SHINGLES).alias("set_b"))
    return _near_repeats(pairs.join(left, NODE).join(right, OTHER), NODE, OTHER, options)


def _near_repeats(measured: DataFrame, a: str, b: str, options: ScanOptions) -> DataFrame:
    """The pairs (``a``, ``b``) whose shingle sets ``set_a`` and ``set_b`` make them near repeats, with their
    Jaccard similarity and containment, measured in each task by the local engine's ``cluster.similarities``
    and kept by its ``cluster.accepted`` (intersections of arrays in SQL cost several times more)."""
    schema = pa.schema([(a, pa.int64()), (b, pa.int64()), (S.JACCARD, pa.float64()), (S.CONTAINMENT, pa.float64())])
    near_pairs = functools.partial(_near_pairs_of, schema=schema, lsh=options.lsh)
    return each_batch(measured.select(a, b, "set_a", "set_b"), schema, near_pairs)


def _near_pairs_of(frame: pl.DataFrame, schema: pa.Schema, lsh: LSHOptions) -> pa.Table:
    """The near repeats among one batch of pairs with both shingle sets (32-bit hashes, signed or in longs)."""
    values_a, offsets_a = list_values(frame["set_a"])
    values_b, offsets_b = list_values(frame["set_b"])
    # As the hashes they are (unsigned 32 bits), so that the kernels compiled for the local engine serve.
    values = np.concatenate([values_a.astype(np.uint32), values_b.astype(np.uint32)])
    sets = ShingleSets(values, np.concatenate([offsets_a, offsets_b[1:] + offsets_a[-1]]), distinct=False)
    n = frame.height
    jaccard, containment = cluster.similarities(sets, np.arange(n), np.arange(n, 2 * n))
    near = cluster.accepted(jaccard, containment, lsh)
    a, b = schema.names[:2]
    columns = [frame[a].to_numpy()[near], frame[b].to_numpy()[near], jaccard[near], containment[near]]
    return pa.Table.from_arrays([pa.array(column) for column in columns], schema=schema)


def centres_on_driver(edges: DataFrame) -> tuple[DataFrame, int]:
    """The centre of every node of the verified pairs, and the components they split, by the local
    engine's own ``cluster.CentreAssignment`` on the driver: for a graph that fits there (a small corpus,
    or what is left of a large one), a single job instead of a few per round.

    ``edges`` may have a column ``HELD``: the pair's ``node`` is held (``CentreAssignment.hold``), taking
    and joining nothing; it is left out of the centres.

    Returns:
        ``node``, ``centre`` (itself for a centre, as ``centre_rounds``), and ``components_split``.
    """
    held_column = [HELD] if HELD in edges.columns else []
    found = edges.select(NODE, OTHER, S.JACCARD, S.CONTAINMENT, *held_column).toArrow()
    left, right = found[NODE].to_numpy(), found[OTHER].to_numpy()
    order = np.lexsort((right, left))
    nodes = distinct_sorted(np.concatenate((left, right)))
    assignment = cluster.CentreAssignment(nodes.size)
    held = np.zeros(nodes.size, dtype=bool)
    if held_column:
        held[np.searchsorted(nodes, left[found[HELD].to_numpy(zero_copy_only=False)])] = True
        assignment.hold(np.flatnonzero(held))
    assignment.add(
        np.searchsorted(nodes, left[order]),
        np.searchsorted(nodes, right[order]),
        found[S.JACCARD].to_numpy()[order],
        found[S.CONTAINMENT].to_numpy()[order],
    )
    # A node that only had pairs with taken nodes is left unassigned there: it is a centre of none.
    centre = np.where(assignment.centre >= 0, assignment.centre, np.arange(nodes.size))[~held]
    table = pa.table({NODE: pa.array(nodes[~held], pa.int64()), CENTRE: pa.array(nodes[centre], pa.int64())})
    frame = edges.sparkSession.createDataFrame(table)
    return frame, assignment.components_split()


def centre_rounds(edges: DataFrame) -> DataFrame:
    """The centre of every node of the verified pairs, as ``cluster.CentreAssignment`` gives it.

    The streaming rule (pairs in sorted order; a node not taken when its own pairs come up becomes a centre
    and takes every node it is paired with that is not taken yet) says: a node's centre is the least of its
    smaller neighbours that is a centre, and a node with no such neighbour is a centre itself. A node is
    decided once every smaller neighbour up to that centre is decided: in each round, a node whose least
    undecided smaller neighbour (if any) comes after its least centre neighbour becomes that centre's
    member, and a node whose smaller neighbours are all decided members (or that has none) a centre.
    Rounds go on until every node is decided; each decides at least the least undecided node, and in
    practice a round decides a whole layer of stars. Each round's state is materialized.

    Returns:
        ``node``, ``centre`` (itself for a centre) for every node of ``edges``.
    """
    pairs = edges.select(F.col(NODE).alias("u"), F.col(OTHER).alias("v"))
    nodes = pairs.select(F.col("u").alias(NODE)).union(pairs.select(F.col("v").alias(NODE))).distinct()
    state = materialized(nodes.withColumn(CENTRE, F.lit(None).cast("long")))
    while not state.filter(F.col(CENTRE).isNull()).isEmpty():
        undecided = state.filter(F.col(CENTRE).isNull()).select(NODE)
        decided = state.filter(F.col(CENTRE).isNotNull()).select(
            F.col(NODE).alias("u"), F.col(CENTRE).alias("u_centre")
        )
        # Each undecided node's smaller neighbours, with what is known of them.
        smaller = pairs.join(undecided.withColumnRenamed(NODE, "v"), "v").join(decided, "u", "left")
        seen = smaller.groupBy(F.col("v").alias(NODE)).agg(
            F.min(F.when(F.col("u_centre").isNull(), F.col("u"))).alias("open"),
            F.min(F.when(F.col("u_centre") == F.col("u"), F.col("u"))).alias("centre_near"),
        )
        member = F.col("centre_near").isNotNull() & (F.col("open").isNull() | (F.col("centre_near") < F.col("open")))
        alone = F.col("open").isNull() & F.col("centre_near").isNull()
        now = state.join(seen, NODE, "left").select(
            NODE,
            F.when(F.col(CENTRE).isNotNull(), F.col(CENTRE))
            .when(member, F.col("centre_near"))
            .when(alone, F.col(NODE))
            .alias(CENTRE),
        )
        state = materialized(now)  # a plan that stacked the rounds would recompute them all
    return state


def members(edges: DataFrame, centres: DataFrame) -> DataFrame:
    """The nodes that joined a centre other than themselves, with the similarities of their pair with it."""
    joined = centres.filter(F.col(NODE) != F.col(CENTRE))
    return joined.join(
        edges.select(F.col(NODE).alias(CENTRE), F.col(OTHER).alias(NODE), S.JACCARD, S.CONTAINMENT), [CENTRE, NODE]
    )


def cluster_numbers(texts: DataFrame, centres: DataFrame) -> DataFrame:
    """The cluster of every distinct text that has one (``first`` -> ``cluster``), numbered in order of
    representatives as ``cluster.cluster_numbers`` does, and ``near``: whether the cluster holds several texts.

    A text repeated is its own cluster's representative; a text in a near cluster (a member, or a centre that
    has members) takes its centre's.
    """
    joined = centres.filter(F.col(NODE) != F.col(CENTRE))
    with_members = joined.select(F.col(CENTRE).alias(NODE)).distinct().withColumn(CENTRE, F.col(NODE))
    clustered = joined.unionByName(with_members)
    keyed = texts.select("first", "count").join(clustered.withColumnRenamed(NODE, "first"), "first", "left")
    keyed = keyed.select(
        "first", F.when(F.col(CENTRE).isNotNull(), F.col(CENTRE)).when(F.col("count") >= 2, F.col("first")).alias("key")
    ).filter(F.col("key").isNotNull())
    return numbered_keys(keyed)


def numbered_keys(keyed: DataFrame) -> DataFrame:
    """Clusters numbered in order of their representatives from each text's key (``first``, ``key``: the
    ``first`` of the text that represents its cluster), as ``cluster.numbered`` numbers them: ``first``,
    ``cluster``, ``near`` (the cluster holds several texts) and the ``representative``."""
    representatives = keyed.groupBy("key").agg(F.count("*").alias("texts")).orderBy("key")
    numbered = representatives.rdd.zipWithIndex().map(lambda pair: (pair[0]["key"], pair[1], pair[0]["texts"] >= 2))
    numbers = keyed.sparkSession.createDataFrame(numbered, f"key long, {S.CLUSTER} long, near boolean")
    return keyed.join(numbers, "key").select("first", S.CLUSTER, "near", F.col("key").alias(REPRESENTATIVE))


# ---------------------------------------------------------------------------------------------- tables


def tables(
    blocks: DataFrame,
    documents: DataFrame,
    texts: DataFrame,
    numbers: DataFrame,
    joined: DataFrame,
    document_count: int,
) -> dict[str, DataFrame]:
    """The four tables of the local engine, from the blocks, documents, distinct texts, clusters and members,
    each with an ``ORDER`` column beside its schema's.

    With ``document_count`` at most ``BROADCAST_ROWS``, the documents' ids are sent to every task (broadcast)
    instead of the blocks being shuffled to meet them.
    """
    ids = documents.select(S.DOC_KEY, S.DOC_ID)
    if document_count <= BROADCAST_ROWS:
        ids = F.broadcast(ids)
    text_of = (
        blocks.filter(S.MATCHABLE)
        .select(BLOCK_KEY, S.EXACT_HASH)
        .join(texts.select(S.EXACT_HASH, "first"), S.EXACT_HASH)
    )
    clustered = text_of.join(numbers.select("first", S.CLUSTER), "first", "left").select(BLOCK_KEY, "first", S.CLUSTER)
    # Without the shingles and band keys, which no table holds: every table scans these rows again, and the lists
    # made most of their bytes.
    slim = blocks.drop(S.SHINGLES, S.BAND_KEYS)
    placed = materialized(slim.join(clustered, BLOCK_KEY, "left"))
    return {
        "blocks": _blocks_table(placed, ids),
        "pairs": _pairs_table(placed, ids, texts, joined),
        "clusters": _clusters_table(placed, ids, numbers),
        "documents": _documents_table(placed, documents),
    }


def _schema_select(frame: DataFrame, name: str, order: str) -> DataFrame:
    """The table's columns in its schema, and ``ORDER``: where the local engine writes its row."""
    kinds = spark_type(TABLE_SCHEMAS[name])
    columns = [F.col(field.name).cast(field.dataType).alias(field.name) for field in kinds.fields]
    return frame.select(*columns, F.col(order).alias(ORDER))


def _blocks_table(placed: DataFrame, ids: DataFrame) -> DataFrame:
    return _schema_select(placed.join(ids, S.DOC_KEY), "blocks", BLOCK_KEY)


def _pairs_table(placed: DataFrame, ids: DataFrame, texts: DataFrame, joined: DataFrame) -> DataFrame:
    """Each block with the block it repeats: an exact copy with its text's first occurrence, the first
    occurrence of a near text that joined a centre with the centre's first occurrence."""
    where = texts.select(
        F.col("first").alias("repeated"),
        F.col("first_doc").alias("doc_key_a"),
        F.col("first_block").alias(S.BLOCK_A),
        F.col("first_line").alias("line_a"),
    )
    copies = placed.filter(F.col("first").isNotNull() & (F.col("first") != F.col(BLOCK_KEY))).select(
        "*",
        F.col("first").alias("repeated"),
        F.lit(S.EXACT).alias(S.KIND),
        F.lit(1.0).alias(S.JACCARD),
        F.lit(1.0).alias(S.CONTAINMENT),
    )
    near = placed.join(
        joined.select(F.col(NODE).alias(BLOCK_KEY), F.col(CENTRE).alias("repeated"), S.JACCARD, S.CONTAINMENT),
        BLOCK_KEY,
    ).withColumn(S.KIND, F.lit(S.NEAR))
    both = copies.unionByName(near).join(where, "repeated")
    ids_a = ids.select(F.col(S.DOC_KEY).alias("doc_key_a"), F.col(S.DOC_ID).alias(S.DOC_A))
    both = both.join(ids_a, "doc_key_a").join(ids.withColumnRenamed(S.DOC_ID, S.DOC_B), S.DOC_KEY)
    both = both.withColumn(S.BLOCK_B, F.col(S.BLOCK)).withColumn("line_b", F.col(S.LINE))
    return _schema_select(both, "pairs", BLOCK_KEY)


def _clusters_table(placed: DataFrame, ids: DataFrame, numbers: DataFrame) -> DataFrame:
    chars = F.col(S.END) - F.col(S.START)
    counts = (
        placed.filter(F.col(S.CLUSTER).isNotNull())
        .groupBy(S.CLUSTER)
        .agg(
            F.count("*").alias(S.N_BLOCKS),
            F.count_distinct(S.DOC_KEY).alias(S.N_DOCS),
            F.sum(F.col(S.SHORT).cast("long")).alias("n_short"),
            F.sum(chars).alias(S.N_CHARS),
        )
    )
    representatives = numbers.filter(F.col("first") == F.col(REPRESENTATIVE)).select(S.CLUSTER, "near", "first")
    if representatives.count() <= BROADCAST_ROWS:  # one row per cluster: the blocks need not be shuffled to them
        representatives = F.broadcast(representatives)
    shown = placed.select(F.col(BLOCK_KEY).alias("first"), S.DOC_KEY, S.BLOCK, S.LINE, S.TEXT)
    table = (
        shown.join(representatives, "first")
        .join(counts, S.CLUSTER)
        .join(ids, S.DOC_KEY)
        .withColumn(S.KIND, F.when(F.col("near"), F.lit(S.NEAR)).otherwise(F.lit(S.EXACT)))
        .withColumn(S.SCOPE, F.when(F.col(S.N_DOCS) > 1, F.lit(S.CROSS_DOC)).otherwise(F.lit(S.WITHIN_DOC)))
        .withColumn(S.SHORT, F.col("n_short") == F.col(S.N_BLOCKS))
    )
    return _schema_select(table, "clusters", S.CLUSTER)


def _documents_table(placed: DataFrame, documents: DataFrame) -> DataFrame:
    """Per document: blocks, characters, duplicated characters, and its best container as ``dedup.documents``
    finds it (votes for each cluster's earliest other holder, the ``MAX_CANDIDATES`` best measured exactly)."""
    chars = F.col(S.END) - F.col(S.START)
    per_doc = placed.groupBy(S.DOC_KEY).agg(
        F.count("*").alias(S.N_BLOCKS),
        F.sum(chars).alias(S.N_CHARS),
        F.sum(F.when(F.col(S.CLUSTER).isNotNull(), chars).otherwise(0)).alias(S.DUP_CHARS),
    )
    held = placed.filter(F.col(S.CLUSTER).isNotNull()).groupBy(S.DOC_KEY, S.CLUSTER).agg(F.sum(chars).alias("weight"))
    held = materialized(held)
    by_doc = Window.partitionBy(S.CLUSTER).orderBy(S.DOC_KEY)
    holders = (
        held.select(S.CLUSTER, S.DOC_KEY)
        .withColumn("nth", F.row_number().over(by_doc))
        .filter(F.col("nth") <= 2)
        .groupBy(S.CLUSTER)
        .agg(
            F.min(F.when(F.col("nth") == 1, F.col(S.DOC_KEY))).alias("first_doc"),
            F.min(F.when(F.col("nth") == 2, F.col(S.DOC_KEY))).alias("second_doc"),
        )
    )
    holder = F.when(F.col("first_doc") != F.col(S.DOC_KEY), F.col("first_doc")).otherwise(F.col("second_doc"))
    votes = (
        held.join(holders, S.CLUSTER)
        .select(S.DOC_KEY, holder.alias("candidate"), "weight")
        .filter(F.col("candidate").isNotNull())
        .groupBy(S.DOC_KEY, "candidate")
        .agg(F.sum("weight").alias("votes"))
    )
    best_votes = Window.partitionBy(S.DOC_KEY).orderBy(F.desc("votes"), F.asc("candidate"))
    chosen = votes.withColumn("rank", F.row_number().over(best_votes)).filter(F.col("rank") <= MAX_CANDIDATES)
    # Each document's clusters in order with its characters in each, a row per document: a candidate is
    # measured by one merge of two sorted lists, where joining every (document, cluster) row with each of the
    # document's candidates shuffled up to eight rows for each (4.7 M on the crawl 100 MB corpus).
    in_order = F.array_sort(F.collect_list(F.struct(S.CLUSTER, "weight")))
    lists = materialized(held.groupBy(S.DOC_KEY).agg(in_order.alias("held")))
    mine = lists.select(S.DOC_KEY, F.col(f"held.{S.CLUSTER}").alias("mine"), F.col("held.weight").alias("weights"))
    theirs = lists.select(F.col(S.DOC_KEY).alias("candidate"), F.col(f"held.{S.CLUSTER}").alias("theirs"))
    measured = _covered(chosen.select(S.DOC_KEY, "candidate").join(theirs, "candidate").join(mine, S.DOC_KEY))
    best_cover = Window.partitionBy(S.DOC_KEY).orderBy(F.desc("covered"), F.asc("candidate"))
    best = measured.withColumn("rank", F.row_number().over(best_cover)).filter(F.col("rank") == 1)
    container_ids = documents.select(F.col(S.DOC_KEY).alias("candidate"), F.col(S.DOC_ID).alias(S.CONTAINED_IN))
    best = best.join(container_ids, "candidate").select(S.DOC_KEY, S.CONTAINED_IN, "covered")
    table = (
        documents.select(S.DOC_KEY, S.DOC_ID, S.SOURCE, S.SOURCE_LINE)
        .join(per_doc, S.DOC_KEY, "left")
        .join(best, S.DOC_KEY, "left")
        .fillna(0, subset=[S.N_BLOCKS, S.N_CHARS, S.DUP_CHARS])
    )
    has_chars = F.col(S.N_CHARS) > 0
    table = table.withColumn(
        S.CONTAINMENT, F.when(F.col("covered").isNotNull(), F.col("covered") / F.col(S.N_CHARS))
    ).withColumn(S.DUP_FRACTION, F.when(has_chars, F.col(S.DUP_CHARS) / F.col(S.N_CHARS)).otherwise(F.lit(0.0)))
    return _schema_select(table, "documents", S.DOC_KEY)


COVERED_ARROW = pa.schema([(S.DOC_KEY, pa.int64()), ("candidate", pa.int64()), ("covered", pa.int64())])


def _covered(pairs: DataFrame) -> DataFrame:
    """How many characters of each document (``doc_key``) stand in blocks whose cluster its candidate holds too:
    the sum of the document's ``weights`` over the clusters both lists (``mine``, ``theirs``, sorted) hold."""
    return each_batch(pairs.select(S.DOC_KEY, "candidate", "mine", "weights", "theirs"), COVERED_ARROW, _covered_batch)


def _covered_batch(frame: pl.DataFrame) -> pa.Table:
    mine, mine_offsets = list_values(frame["mine"])
    weights, _ = list_values(frame["weights"])
    theirs, their_offsets = list_values(frame["theirs"])
    rows = np.arange(frame.height)
    covered = _kernels.covered_weights(mine_offsets, mine, weights, rows, theirs, their_offsets, rows)
    columns = [frame[S.DOC_KEY].to_numpy(), frame["candidate"].to_numpy(), covered]
    return pa.Table.from_arrays([pa.array(column) for column in columns], schema=COVERED_ARROW)


def components(edges: DataFrame) -> DataFrame:
    """The connected component of every node of ``edges`` (``node``, ``component``: its least node).

    Hash-to-min with pointer jumping: each round a node takes the least label among its own, its
    neighbours' and its label's label, until no label changes (about log(diameter) rounds, not diameter).
    """
    both = (
        edges.select(F.col(NODE).alias("a"), F.col(OTHER).alias("b"))
        .unionByName(edges.select(F.col(OTHER).alias("a"), F.col(NODE).alias("b")))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    try:
        labels = both.groupBy(F.col("a").alias(NODE)).agg(F.least(F.min("b"), F.first("a")).alias("label"))
        while True:
            from_neighbours = (
                both.join(labels.withColumnRenamed(NODE, "b"), "b")
                .groupBy(F.col("a").alias(NODE))
                .agg(F.min("label").alias("seen"))
            )
            jumped = labels.join(
                labels.select(F.col(NODE).alias("label"), F.col("label").alias("label_of_label")), "label", "left"
            )
            updated = jumped.join(from_neighbours, NODE).select(
                NODE, "label", F.least("label", "seen", F.coalesce("label_of_label", "label")).alias("new")
            )
            updated = materialized(updated)
            if updated.filter(F.col("new") < F.col("label")).isEmpty():
                break
            labels = updated.select(NODE, F.col("new").alias("label"))
    finally:
        both.unpersist()  # the rounds' result is materialized apart from it
    return updated.select(NODE, F.col("new").alias("component"))


def components_split(edges: DataFrame, centres: DataFrame) -> int:
    """How many connected components of the verified pairs are not exactly one cluster (as
    ``CentreAssignment.components_split`` counts them): a node's cluster is its centre when it is
    clustered, else its own."""
    joined = centres.filter(F.col(NODE) != F.col(CENTRE))
    clustered_centres = joined.select(F.col(CENTRE).alias(NODE)).distinct().withColumn("label", F.col(NODE))
    labels = joined.select(NODE, F.col(CENTRE).alias("label")).unionByName(clustered_centres)
    placed = (
        components(edges)
        .join(labels, NODE, "left")
        .select("component", F.coalesce("label", F.col(NODE)).alias("label"))
    )
    per_component = placed.groupBy("component").agg(F.count_distinct("label").alias("clusters"))
    return per_component.filter(F.col("clusters") > 1).count()


# ----------------------------------------------------------------------------------------------- index

SAME = "same"  # the index text a distinct text is, word for word
ID = "id"  # a node of the clusters over index and new texts: an index text's number less the next one, else ``node``
NEW = "new"  # a distinct text the index does not hold yet
MATCHED = "matched"  # the index text a distinct text matched: itself word for word, or the centre it joined
OWN_CENTRE = "own_centre"  # a new near text's centre among the new texts (itself for a centre)


def index_match(
    texts: DataFrame,
    nodes: DataFrame,
    edges: DataFrame,
    index: dict[str, DataFrame],
    next_text: int,
    options: ScanOptions,
    driver_edges: int,
    standing_only: bool,
) -> tuple[DataFrame, int]:
    """The scan's distinct texts matched against an index, as ``runners.indexed.IndexMatcher`` matches them
    and ``new_texts`` numbers them: exact lookups by exact key; the LSH buckets of the near texts the index
    does not hold word for word, looked up in its postings with the bucket rule of a scan; those pairs
    verified on the indexed shingle sets; and the centre rule over the index texts involved (first, in their
    order, a member held) and the new near texts, with the scan's own verified pairs.

    Args:
        texts, nodes, edges: the scan's distinct texts, near texts and verified pairs.
        index: the index's segments (``dedup.spark.read_index``); an index without adds matches nothing.
        next_text: the number the index's next new text gets.
        driver_edges: as for ``dedup.spark.scan``.
        standing_only: some documents were removed: lookups find only texts that still stand in one.

    Returns:
        Per distinct text (``first``): ``exact_hash``, ``count``, ``near``, whether it is ``new`` to the index,
        its number (``text``), ``member``, ``cluster`` as the index records them, the index text it
        ``matched`` (null: none) with ``jaccard`` and ``containment``; and the components the centres split.
    """
    found = materialized(texts.join(_indexed_texts(index, standing_only), S.EXACT_HASH, "left"))
    near = found.filter("near").select(
        F.col("first").alias(NODE),
        F.coalesce(F.col(SAME) - F.lit(next_text), F.col("first")).alias(ID),
        F.coalesce(F.col(HELD), F.lit(False)).alias(HELD),
    )
    open_nodes = nodes.join(found.filter(F.col(SAME).isNull()).select(F.col("first").alias(NODE)), NODE, "left_semi")
    pairs = _index_pairs(open_nodes, index["postings"], options.lsh.max_bucket_pairs)
    if standing_only:  # a text whose every document was removed is matched no more, as by the exact lookup
        pairs = _standing(pairs, index)
    verified = _index_verified(pairs, index["texts"], nodes, options)
    graph = materialized(_joint_graph(verified, edges, near, next_text))
    if graph.count() <= driver_edges:
        centres, split = centres_on_driver(graph)
    else:
        centres = centre_rounds(graph.filter(~F.col(HELD)))  # a held node's pairs decide nothing
        split = components_split(graph, centres)
    centres = materialized(centres)
    outcome = _near_outcome(near, graph, centres, next_text)
    return materialized(_keyed(found, outcome, next_text)), split


def _indexed_texts(index: dict[str, DataFrame], standing_only: bool) -> DataFrame:
    """The index texts an exact lookup finds (``Index.exact``): ``exact_hash``, ``same``, ``held`` (a member),
    ``same_cluster`` (the latest add's assignment wins over the text's own)."""
    latest = index["clusters"].groupBy(TEXT).agg(F.max_by(S.CLUSTER, ADD).alias("_assigned"))
    indexed = index["texts"].join(latest, TEXT, "left")
    if standing_only:
        indexed = _standing(indexed, index)
    return indexed.select(
        S.EXACT_HASH,
        F.col(TEXT).alias(SAME),
        F.col(MEMBER).alias(HELD),
        F.coalesce("_assigned", S.CLUSTER).alias("same_cluster"),
    )


def _standing(frame: DataFrame, index: dict[str, DataFrame]) -> DataFrame:
    """The rows of ``frame`` whose ``text`` still stands in a document that is not removed (``Index.standing``):
    ``read_index`` leaves the removed documents' occurrences out."""
    return frame.join(index["occurrences"].select(TEXT), TEXT, "left_semi")


def _index_pairs(open_nodes: DataFrame, postings: DataFrame, cap: int) -> DataFrame:
    """Candidate pairs (``text``, ``node``) of index texts and new near texts, by the bucket rule of
    ``IndexMatcher._index_pairs``: a bucket of up to ``cap`` index and new texts pairs every new text with its
    index texts that take others; a larger one pairs each new text with its first index text, and its first
    new text with its last index text (the star and the chain of a scan of both), when those take others."""
    keys = open_nodes.select(NODE, F.posexplode(S.BAND_KEYS).alias(BAND, KEY)).select(
        F.col(BAND).cast("short").alias(BAND), KEY, NODE
    )
    bucket = [BAND, KEY]
    found = postings.select(BAND, KEY, TEXT, MEMBER).join(keys.select(*bucket).distinct(), bucket, "left_semi")
    found = materialized(found)
    old = found.groupBy(*bucket).agg(F.count("*").alias("old"), F.min(TEXT).alias("first"), F.max(TEXT).alias("last"))
    new = keys.groupBy(*bucket).agg(F.count("*").alias("new"), F.min(NODE).alias("first_new"))
    sizes = old.join(new, bucket).withColumn("small", F.col("old") + F.col("new") <= cap)
    takers = found.filter(~F.col(MEMBER)).select(BAND, KEY, TEXT)
    small = takers.join(sizes.filter("small").select(*bucket), bucket, "left_semi").join(keys, bucket)
    large = sizes.filter(~F.col("small"))
    star = large.select(BAND, KEY, F.col("first").alias(TEXT)).join(keys, bucket)
    chain = large.select(BAND, KEY, F.col("last").alias(TEXT), F.col("first_new").alias(NODE))
    reaching = small.unionByName(star).unionByName(chain).join(takers, [*bucket, TEXT], "left_semi")
    return reaching.select(TEXT, NODE).distinct()


def _index_verified(pairs: DataFrame, texts: DataFrame, nodes: DataFrame, options: ScanOptions) -> DataFrame:
    """The candidate pairs of index and new texts that are near repeats, measured on the indexed shingle
    sets (unsigned, as Spark reads them) and the new texts' distinct sets (made unsigned too)."""
    indexed = texts.filter(F.col(S.SHINGLES).isNotNull()).select(TEXT, F.col(S.SHINGLES).alias("set_a"))
    unsigned = F.transform(S.SHINGLES, lambda value: value.cast("long").bitwiseAND(F.lit(0xFFFFFFFF)))
    new = nodes.select(NODE, F.array_distinct(unsigned).alias("set_b"))
    return _near_repeats(pairs.join(indexed, TEXT).join(new, NODE), TEXT, NODE, options)


def _joint_graph(verified: DataFrame, edges: DataFrame, near: DataFrame, next_text: int) -> DataFrame:
    """The verified pairs of the index texts and the new near texts, by ``ID`` (index texts first, in their
    order; a new text the index holds word for word is that text), as ``IndexMatcher._combined`` makes them:
    a pair of two index texts was settled when they were added and is left out, a pair found twice is kept
    once (the index lookup's), and ``HELD`` marks the pairs whose ``node`` is an index member."""
    similarity = [S.JACCARD, S.CONTAINMENT]
    from_index = verified.select(
        (F.col(TEXT) - F.lit(next_text)).alias("a"), F.col(NODE).alias("b"), *similarity, F.lit(0).alias("_source")
    )
    ids_a = near.select(NODE, F.col(ID).alias("a"))
    ids_b = near.select(F.col(NODE).alias(OTHER), F.col(ID).alias("b"))
    own = edges.join(ids_a, NODE).join(ids_b, OTHER).select("a", "b", *similarity, F.lit(1).alias("_source"))
    low, high = F.least("a", "b"), F.greatest("a", "b")
    kept = (
        from_index.unionByName(own)
        .filter(high >= 0)
        .groupBy(low.alias(NODE), high.alias(OTHER))
        .agg(F.min(F.struct("_source", *similarity)).alias("_first"))
    )
    held = near.filter(HELD).select(F.col(ID).alias(NODE), HELD)
    graph = kept.select(NODE, OTHER, *(F.col(f"_first.{name}").alias(name) for name in similarity))
    return graph.join(held, NODE, "left").fillna(False, subset=[HELD])


def _near_outcome(near: DataFrame, graph: DataFrame, centres: DataFrame, next_text: int) -> DataFrame:
    """Per new near text (``first``): the index text it joined (``matched``, with the pair's ``jaccard`` and
    ``containment``), the new text whose cluster it is in (``own_centre``: its centre, itself for a node
    with a larger partner that no centre took), and whether it is a ``member`` of a cluster around another."""
    takers = graph.select(F.col(NODE).alias(ID)).distinct().withColumn("_taker", F.lit(True))
    joined = members(graph, centres).select(F.col(NODE).alias(ID), CENTRE, S.JACCARD, S.CONTAINMENT)
    placed = (
        near.filter(F.col(ID) >= 0)
        .join(centres.withColumnRenamed(NODE, ID), ID, "left")
        .join(takers, ID, "left")
        .join(joined, [ID, CENTRE], "left")
    )
    centre = F.col(CENTRE)
    return placed.select(
        F.col(NODE).alias("first"),
        F.when(centre < 0, centre + F.lit(next_text)).alias(MATCHED),
        S.JACCARD,
        S.CONTAINMENT,
        F.when((centre >= 0) & ((centre != F.col(ID)) | F.col("_taker").isNotNull()), centre).alias(OWN_CENTRE),
        (centre.isNotNull() & (centre != F.col(ID))).alias(MEMBER),
    )


def _keyed(found: DataFrame, outcome: DataFrame, next_text: int) -> DataFrame:
    """Every distinct text as the index records it (``runners.indexed.new_texts``): a text the index holds is
    that text, in its cluster (or its own, now that it repeats); a new text takes the next number in read
    order, and the cluster of the index text it joined, else of its own centre, else its own when it stands
    in two blocks or more. ``own_centre`` is kept for the tables of the scan (``index_cluster_keys``), and
    ``jaccard``, ``containment`` of a new text are those of its pair with its centre, wherever that is."""
    new = F.col(SAME).isNull()
    numbers = materialized(text_numbers(found.filter(new).select("first"), next_text))
    centre_numbers = numbers.select(F.col("first").alias(OWN_CENTRE), F.col(TEXT).alias("_centre_text"))
    keyed = (
        found.join(outcome, "first", "left")
        .join(numbers, "first", "left")
        .join(centre_numbers, OWN_CENTRE, "left")
        .withColumn(TEXT, F.coalesce(TEXT, SAME))
    )
    cluster_of = (
        F.when(~new, F.when(F.col("same_cluster") >= 0, F.col("same_cluster")).otherwise(F.col(SAME)))
        .when(F.col(MATCHED).isNotNull(), F.col(MATCHED))
        .when(F.col("_centre_text").isNotNull(), F.col("_centre_text"))
        .when(F.col("count") >= 2, F.col(TEXT))
        .otherwise(F.lit(-1))
    )
    exact = F.lit(1.0)
    return keyed.select(
        "first",
        S.EXACT_HASH,
        "count",
        "near",
        new.alias(NEW),
        TEXT,
        (new & F.coalesce(F.col(MEMBER), F.lit(False))).alias(MEMBER),
        cluster_of.cast("long").alias(S.CLUSTER),
        F.coalesce(F.col(SAME), F.col(MATCHED)).alias(MATCHED),
        F.when(~new, exact).otherwise(F.coalesce(F.col(S.JACCARD), F.lit(0.0))).alias(S.JACCARD),
        F.when(~new, exact).otherwise(F.coalesce(F.col(S.CONTAINMENT), F.lit(0.0))).alias(S.CONTAINMENT),
        OWN_CENTRE,
    )


def index_cluster_keys(keyed: DataFrame) -> DataFrame:
    """The key of every distinct text's cluster in the tables of a scan against an index, from ``index_match``,
    as ``runners.indexed._keys`` gives it: the texts that matched one index cluster together, keyed by the
    first of them when they stand in two blocks or more (else none); the others by the new data's own
    clusters (a member: its centre; a centre with members, or a text repeated: itself).

    Returns:
        ``first``, ``key`` (a ``first``) for the texts in a cluster.
    """
    own_member = _own_member()
    centres = keyed.filter(own_member).select(F.col(OWN_CENTRE).alias("first")).distinct()
    matched = F.col(MATCHED).isNotNull()
    # Only matched texts form groups: a new text's own cluster number may equal an index cluster's.
    grouped = keyed.withColumn("_group", F.when(matched, F.col(S.CLUSTER)))
    groups = (
        grouped.filter(matched)
        .groupBy("_group")
        .agg(F.min("first").alias("_group_first"), F.sum("count").alias("_group_blocks"))
    )
    placed = grouped.join(groups, "_group", "left").join(centres.withColumn("_centre", F.lit(True)), "first", "left")
    key = (
        F.when(matched, F.when(F.col("_group_blocks") >= 2, F.col("_group_first")))
        .when(own_member, F.col(OWN_CENTRE))
        .when(F.col("_centre").isNotNull() | (F.col("count") >= 2), F.col("first"))
    )
    return placed.select("first", key.alias("key")).filter(F.col("key").isNotNull())


def _own_member() -> F.Column:
    """Whether a text of ``index_match`` joined a new centre other than itself."""
    return F.col(OWN_CENTRE).isNotNull() & (F.col(OWN_CENTRE) != F.col("first"))


def own_members(keyed: DataFrame) -> DataFrame:
    """The new near texts that joined a new centre other than themselves (``node``, ``centre``), with the
    similarities of their pair with it: ``members`` of the new data's own clusters, for the pairs table."""
    return keyed.filter(_own_member()).select(
        F.col("first").alias(NODE), F.col(OWN_CENTRE).alias(CENTRE), S.JACCARD, S.CONTAINMENT
    )


def first_occurrences(occurrences: DataFrame, adds: DataFrame, keyed: DataFrame) -> DataFrame:
    """Where each index text a scan matched first stands (``Index.first_occurrences``): the first of its
    occurrences by add and by row in the add's file, named as in the matches table (``index_text``,
    ``index_doc_id``, …, the add's ``index_add`` name and ``index_added_at`` time).

    Args:
        occurrences: the index's occurrences (``read_index``, removed documents left out) with ``ROW``.
        adds: ``add``, ``name``, ``time`` of every add.
        keyed: ``index_match``'s texts.
    """
    wanted = keyed.filter(F.col(MATCHED).isNotNull()).select(F.col(MATCHED).alias(TEXT)).distinct()
    place = [S.DOC_ID, S.BLOCK, S.START, S.END, S.LINE]
    found = occurrences.join(wanted, TEXT, "left_semi")
    first = found.groupBy(TEXT).agg(F.min(F.struct(ADD, ROW, *place)).alias("_first"))
    return first.join(
        adds.select(F.col(ADD).alias("_add"), "name", "time"), F.col(f"_first.{ADD}") == F.col("_add"), "left"
    ).select(
        F.col(TEXT).alias("index_text"),
        *(F.col(f"_first.{column}").alias(f"index_{column}") for column in place),
        F.col("name").alias("index_add"),
        F.col("time").alias("index_added_at"),
    )


def matches_table(blocks: DataFrame, documents: DataFrame, keyed: DataFrame, first: DataFrame) -> DataFrame:
    """The table of matches of a scan against an index (``TableWriter._matches``): every block whose text
    matched an index text, with that text's first occurrence (``first_occurrences``), and ``ORDER``."""
    matched = keyed.filter(F.col(MATCHED).isNotNull()).select(
        S.EXACT_HASH,
        F.col(MATCHED).alias("index_text"),
        F.when(F.col(NEW), F.lit(S.NEAR)).otherwise(F.lit(S.EXACT)).alias(S.KIND),
        S.JACCARD,
        S.CONTAINMENT,
        F.col(S.CLUSTER).alias("index_cluster"),
    )
    placed = (
        blocks.filter(S.MATCHABLE)
        .select(BLOCK_KEY, S.EXACT_HASH, S.DOC_KEY, S.BLOCK, S.LINE)
        .join(matched, S.EXACT_HASH)
        .join(documents.select(S.DOC_KEY, S.DOC_ID), S.DOC_KEY)
        .join(first, "index_text", "left")  # every matched text stands (lookups find no other); no row is lost
    )
    return _schema_select(placed, "matches", BLOCK_KEY)


def text_numbers(firsts: DataFrame, start: int) -> DataFrame:
    """Texts (``first``) numbered from ``start`` in read order: ``first``, ``text``."""
    ordered = firsts.orderBy("first").rdd.zipWithIndex()
    numbered = ordered.map(lambda pair: (pair[0]["first"], start + pair[1]))
    return firsts.sparkSession.createDataFrame(numbered, f"first long, {TEXT} long")


def index_segments(blocks: DataFrame, documents: DataFrame, nodes: DataFrame, keyed: DataFrame) -> dict[str, DataFrame]:
    """The segments of an add of the scanned documents (``dedup.index``), from their distinct texts as
    ``index_match`` keys them, as ``runners.indexed.write_segment`` writes them, each with ``ORDER``: its
    row's place in the local file (``texts`` and ``postings`` are ordered by their unsigned keys when staged).

    The texts the index does not hold are written with their shingle sets when they are near texts that are
    no member, and their postings; every block is an occurrence of its text; the texts the index holds that
    now have a cluster are ``clusters``; ``cluster_documents`` counts documents per cluster over every block.
    """
    added = keyed.filter(NEW)
    sets = nodes.select(F.col(NODE).alias("first"), F.array_distinct(S.SHINGLES).alias("_set"))
    kept = F.when(F.col("near") & ~F.col(MEMBER), F.col("_set")).alias(S.SHINGLES)
    near = F.col("near").alias(S.NEAR)
    columns: list[Column | str] = [TEXT, S.EXACT_HASH, near, MEMBER, S.CLUSTER, kept, F.lit(0).alias(ORDER)]
    segment_texts = added.join(sets, "first", "left").select(*columns)
    postings = (
        nodes.select(F.col(NODE).alias("first"), F.posexplode(S.BAND_KEYS).alias(BAND, KEY))
        .join(added.select("first", TEXT, MEMBER), "first")
        .select(F.col(BAND).cast("short").alias(BAND), KEY, TEXT, MEMBER, F.lit(0).alias(ORDER))
    )
    placed = (
        blocks.filter(S.MATCHABLE)
        .select(BLOCK_KEY, S.EXACT_HASH, S.DOC_KEY, S.BLOCK, S.START, S.END, S.LINE)
        .join(keyed.select(S.EXACT_HASH, TEXT, S.CLUSTER), S.EXACT_HASH)
        .join(documents.select(S.DOC_KEY, S.DOC_ID), S.DOC_KEY)
    )
    placed = materialized(placed)
    occurrences = placed.select(TEXT, S.DOC_ID, S.BLOCK, S.START, S.END, S.LINE, F.col(BLOCK_KEY).alias(ORDER))
    cluster_documents = (
        placed.filter(F.col(S.CLUSTER) >= 0)
        .groupBy(S.CLUSTER)
        .agg(F.count_distinct(S.DOC_KEY).alias(S.N_DOCS))
        .select(S.CLUSTER, S.N_DOCS, F.col(S.CLUSTER).alias(ORDER))
    )
    assigned = keyed.filter(~F.col(NEW) & (F.col(S.CLUSTER) >= 0)).select(TEXT, S.CLUSTER, F.col("first").alias(ORDER))
    return {
        "texts": segment_texts,
        "postings": postings,
        "occurrences": occurrences,
        "documents": documents.select(S.DOC_ID, S.SOURCE, S.SOURCE_LINE, F.col(S.DOC_KEY).alias(ORDER)),
        "clusters": assigned,
        "cluster_documents": cluster_documents,
    }


def segment_to_local(name: str, frame: pl.LazyFrame) -> pl.LazyFrame:
    """A segment ``index_segments`` made, read back by polars: in the index's schema (unsigned keys and
    shingle hashes again) and in the local writer's row order."""
    schema = SEGMENTS[name]
    converted = []
    for column, dtype in schema.items():
        if dtype == pl.UInt64:
            converted.append(pl.col(column).reinterpret(signed=False))
        elif column == S.SHINGLES:  # sorted as unsigned, as ``ShingleSets.distinct_sets`` sorts them
            converted.append(pl.col(column).list.eval(pl.element().reinterpret(signed=False).sort()))
        else:
            converted.append(pl.col(column))
    types: Any = {**dict(schema), ORDER: pl.Int64}
    local = frame.select(*converted, ORDER).cast(types)
    order = {"texts": [S.EXACT_HASH], "postings": [BAND, KEY, TEXT]}.get(name, [ORDER])
    return local.sort(order).select(list(schema))
