"""``dedup.spark.scan``: the scan of ``dedup.scan`` on Apache Spark, its tables as Spark DataFrames.

Needs the ``[spark]`` extra (PySpark 4) and a Java runtime; the rest of dedup never imports it.

    from pyspark.sql import SparkSession
    import dedup.spark

    spark = SparkSession.builder.master("local[*]").getOrCreate()
    result = dedup.spark.scan(spark, ["crawl/"])            # files, read by dedup's readers, a file per task
    result = dedup.spark.scan(spark, spark.read.parquet("s3://bucket/pages/"))  # or any DataFrame of id, text
    result.tables["clusters"].show()

On the same documents and options the tables hold the rows of the local engine's (``dedup.scan``), whatever
the number of partitions or executors (see ``dedup.runners.spark``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from dedup import candidates
from dedup.errors import NoDocumentsError
from dedup.options import ScanOptions
from dedup.result import ScanStats
from dedup.runners import spark as R

__all__ = ["SparkScan", "scan"]


@dataclass(slots=True)
class SparkScan:
    """The tables of a scan on Spark (``blocks``, ``pairs``, ``clusters``, ``documents``: the local engine's
    schemas, 64-bit hashes as signed longs of the same bits) and its statistics. The tables are lazy
    DataFrames over cached intermediate results; ``close`` releases those."""

    tables: dict[str, DataFrame]
    stats: ScanStats
    options: ScanOptions
    cached: list[DataFrame] = field(default_factory=list)

    def close(self) -> None:
        for frame in self.cached:
            frame.unpersist()
        self.cached.clear()


def scan(
    spark: SparkSession,
    inputs: Sequence[str | Path] | DataFrame,
    options: ScanOptions | None = None,
) -> SparkScan:
    """Find exact and near-duplicate blocks with Spark.

    Args:
        spark: the session to run in (``local[*]``, a cluster, Databricks…).
        inputs: folders, files or glob patterns every executor can read (read by dedup's readers, a file
            per task), or a DataFrame with the columns ``options.read.id_field`` and ``text_field``, read
            in its order.
        options: every stage's options, as for ``dedup.scan``.

    Raises:
        InputError: a path that does not exist; a DataFrame without the id or text column.
        NoDocumentsError: the inputs held no document.
    """
    options = options or ScanOptions()
    clock = _Clock()
    cached: list[DataFrame] = []
    with clock.stage("read"):
        if isinstance(inputs, DataFrame):
            documents, read_stats = R.frame_documents(inputs, options)
        else:
            documents, read_stats = R.numbered_documents(R.read_paths(spark, inputs, options))
        cached.append(documents)
    if read_stats.documents == 0:
        given = "<DataFrame>" if isinstance(inputs, DataFrame) else ", ".join(str(p) for p in inputs)
        raise NoDocumentsError(f"no documents found in {given}", read_stats.skips)
    with clock.stage("fingerprint"):
        blocks = R.materialized(R.fingerprint(documents, options))
        blocks = R.materialized(R.with_block_keys(blocks, R.block_bits(blocks), read_stats.documents))
        cached.append(blocks)
        n_blocks = blocks.count()
    with clock.stage("distinct"):
        texts = R.materialized(R.distinct_texts(blocks))
        cached.append(texts)
        nodes = R.materialized(R.near_nodes(blocks, texts))
        cached.append(nodes)
        near_count = nodes.count()
    with clock.stage("candidates"):
        pairs = R.materialized(R.candidate_pairs(nodes, near_count, options))
        cached.append(pairs)
        candidate_count = pairs.count()
    with clock.stage("verify"):
        edges = R.materialized(R.verified_pairs(pairs, nodes, options))
        cached.append(edges)
        verified_count = edges.count()
    with clock.stage("cluster"):
        centres = R.materialized(R.centre_rounds(edges))
        cached.append(centres)
        joined = R.materialized(R.members(edges, centres))
        cached.append(joined)
        numbers = R.materialized(R.cluster_numbers(texts, centres))
        cached.append(numbers)
        numbers.count()
    with clock.stage("tables"):
        tables = R.tables(blocks, documents, texts, numbers, joined)
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
        components_split=R.components_split(edges, centres),
        skips=read_stats.skips,
        warnings=read_stats.warnings,
        seconds=clock.seconds,
    )
    return SparkScan(tables=tables, stats=stats, options=options, cached=cached)


@dataclass(slots=True)
class _Clock:
    """Wall time per stage: the actions that end each stage make its work happen there."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
