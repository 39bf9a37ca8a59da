"""The Spark engine gives the local engine's tables, row for row, whatever the partitions.

One Spark session in local mode serves every test here (starting one costs seconds). The scans are
small: what is compared is every row of every table, not speed.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("pyspark", reason="pyspark is not installed: pip install -e '.[spark]' (needs a Java runtime)")

from pyspark.sql import SparkSession

import dedup
import dedup.spark
from dedup import candidates, cluster, sources
from dedup import schema as S
from dedup.runners import spark as runner
from dedup.runners.spark import CENTRE, NODE, OTHER, to_local
from tests import corpora

TABLES = ("blocks", "pairs", "clusters", "documents")
WITH_MATCHES = (*TABLES, "matches")  # the tables of a scan against an index


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    session = (
        SparkSession.builder.master("local[2]")
        .appName("dedup-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        # Seconds of CPU, not of data, make these tests' time: the JVM compiling its hot code and Spark generating
        # and compiling Java for each new query plan. Short-lived, they run faster with the quick JIT only and
        # Spark's interpreted expressions (the same results: what is compared is every row). A fifth less wall
        # time, half the CPU, on two cores.
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1")
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def local_tables(result: dedup.ScanResult, names: tuple[str, ...] = TABLES) -> dict[str, pl.DataFrame]:
    return {name: result.lazy(name).collect() for name in names}


def spark_tables(result: dedup.spark.SparkScan, names: tuple[str, ...] = TABLES) -> dict[str, pl.DataFrame]:
    return {name: to_local(name, pl.DataFrame(result.tables[name].toArrow())) for name in names}


def assert_same_tables(got: dict[str, pl.DataFrame], want: dict[str, pl.DataFrame]) -> None:
    """Every table holds the same rows, with the same schema, once both are sorted by every column."""
    assert set(got) == set(want)
    for name in want:
        assert got[name].schema == want[name].schema, name
        columns = list(want[name].columns)
        left, right = got[name].sort(columns), want[name].sort(columns)
        missing = right.join(left, on=columns, how="anti", nulls_equal=True)
        extra = left.join(right, on=columns, how="anti", nulls_equal=True)
        assert left.height == right.height and missing.is_empty() and extra.is_empty(), (name, missing, extra)
        assert left.equals(right), name


def assert_same_stats(got: dedup.spark.SparkScan, want: dedup.ScanResult) -> None:
    for count in ("documents", "blocks", "near_blocks", "verified_pairs", "components_split", "bands", "rows"):
        assert getattr(got.stats, count) == getattr(want.stats, count), count
    assert got.stats.skips == want.stats.skips
    assert got.stats.warnings == want.stats.warnings


def test_seeds_in_one_partition_with_the_centre_rule_in_rounds(spark: SparkSession, seeds: Path) -> None:
    want = dedup.scan([seeds])
    before = blocks_kept(spark)
    got = dedup.spark.scan(spark, [seeds], partitions=1, driver_edges=0)
    assert_same_tables(spark_tables(got), local_tables(want))
    assert_same_stats(got, want)
    assert want.clusters.height > 0
    # Closed, the scan leaves nothing in the executors: its checkpoints held blocks until then.
    assert blocks_kept(spark) - before
    got.close()
    assert not blocks_kept(spark) - before


def blocks_kept(spark: SparkSession) -> set[int]:
    """The RDDs whose blocks the executors keep (cached, or local checkpoints)."""
    return {info.id() for info in spark.sparkContext._jsc.sc().getRDDStorageInfo()}  # type: ignore[union-attr]


def test_generated_corpus_in_three_partitions(spark: SparkSession, tmp_path: Path) -> None:
    corpus = corpora.build(seed=3, n_docs=40)
    folder = corpora.write_folder(corpus, tmp_path / "pages")
    # A repeated id across files and a broken record: renamed and skipped as the local readers do.
    taken = next(iter(corpus.texts))
    corpora.write_jsonl([{"id": taken, "text": "Startseite\n\nEin eigener Absatz."}], folder / "more.jsonl")
    (folder / "broken.jsonl").write_text('{"id": "x", "text": "fine"}\n{"id": \n', encoding="utf-8")
    for name in ("gone-1.txt", "gone-2.txt"):  # what listing the folder skips, in its place among the files
        (folder / name).symlink_to(tmp_path / "nowhere")
    want = dedup.scan([folder])
    got = dedup.spark.scan(spark, [folder], partitions=3)
    assert_same_tables(spark_tables(got), local_tables(want))
    assert_same_stats(got, want)
    assert want.stats.skips and want.stats.warnings
    # The corpus's known repeats are there: exact copies of the pool and near variants of each group.
    kinds = set(want.clusters["kind"].to_list())
    assert kinds == {"exact", "near"}


def test_crawl_like_corpus_in_eight_partitions(spark: SparkSession, tmp_path: Path) -> None:
    from benchmarks.corpus import documents_of, write_corpus

    path = tmp_path / "crawl.jsonl"
    write_corpus(documents_of("crawl", 400_000, seed=4), path, {"profile": "crawl"})
    want = dedup.scan([path])
    got = dedup.spark.scan(spark, [path], partitions=8, piece_bytes=120_000)  # the file is read in 4 pieces
    assert_same_tables(spark_tables(got), local_tables(want))
    assert_same_stats(got, want)
    assert want.stats.verified_pairs > 0 and want.stats.components_split >= 0


def test_json_lines_read_in_pieces_are_read_as_one_file(spark: SparkSession, tmp_path: Path) -> None:
    rows = corpora.records(corpora.build(seed=6, n_docs=40))
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    lines[3] = json.dumps({"text": rows[3]["text"]})  # no id: named by its line, which a piece must know
    lines[25] = json.dumps({"text": rows[25]["text"]})
    lines[17] = '{"id": "broken", '  # skipped with its line
    lines[30] = json.dumps({"id": rows[2]["id"], "text": "Ein Absatz, der seine Kennung mit einem früheren teilt."})
    lines[33] = json.dumps({"id": "long", "text": "x" * 30_000})  # over max_document_bytes: skipped, line kept
    lines.insert(20, "")  # a blank line, which numbers on
    path = tmp_path / "pages.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")  # a BOM, and CRLF line ends
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n" * 5_000)  # pieces of blank lines only: read whole, an empty file
    options = dedup.ScanOptions(read=dedup.ReadOptions(max_document_bytes=20_000))
    want = dedup.scan([path, blank], options)
    found = [f for f in sources.discover([path, blank]) if isinstance(f, sources.Found)]
    pieces = runner._pieces(spark, found, options, 2_000, split=True)
    assert list(pieces) == [path]  # the blank lines' file is read whole
    assert len(pieces[path]) >= 5 and pieces[path][0][2] == 1 and pieces[path][-1][2] > 30
    got = dedup.spark.scan(spark, [path, blank], options, partitions=3, piece_bytes=2_000)
    assert_same_tables(spark_tables(got), local_tables(want))
    assert_same_stats(got, want)
    assert got.stats.files == want.stats.files == 2
    reasons = {skip.reason for skip in want.stats.skips}
    assert {"empty", "malformed JSON", "document too large"} <= reasons, reasons
    assert want.stats.warnings and want.stats.documents == len(rows) - 2
    assert f"{path}:4" in want.documents["doc_id"].to_list()  # a record without id: its file and line


def test_a_dataframe_is_read_in_its_order(spark: SparkSession, tmp_path: Path) -> None:
    rows = corpora.records(corpora.build(seed=5, n_docs=12))
    path = corpora.write_jsonl(rows, tmp_path / "pages.jsonl")
    want = local_tables(dedup.scan([path]))
    frame = spark.createDataFrame([(row["id"], row["text"]) for row in rows], "id string, text string")
    got = spark_tables(dedup.spark.scan(spark, frame, partitions=2))
    # Only where the documents came from differs: a DataFrame's rows, numbered from 1 in its order.
    assert got["documents"]["source"].unique().to_list() == ["<DataFrame>"]
    lines = dict(zip(got["documents"]["doc_id"], got["documents"]["source_line"], strict=True))
    assert lines == {row["id"]: number for number, row in enumerate(rows, start=1)}
    got["documents"] = got["documents"].drop("source", "source_line")
    want["documents"] = want["documents"].drop("source", "source_line")
    for name in TABLES:
        columns = list(want[name].columns)
        assert got[name].sort(columns).equals(want[name].sort(columns)), name


def random_graph(rng: random.Random, nodes: int, edges: int, first: int) -> list[tuple[int, int, float, float]]:
    pairs = {tuple(sorted(rng.sample(range(nodes), 2))) for _ in range(edges)}
    return [(first + 3 * a, first + 3 * b, rng.random(), rng.random()) for a, b in sorted(pairs)]


def test_centre_rounds_give_the_centres_of_the_streaming_rule(spark: SparkSession) -> None:
    """On random graphs (chains, stars, cliques mixed), the rounds give the centre of every node that
    ``cluster.CentreAssignment`` gives, and the same count of split components."""
    rng = random.Random(11)
    graphs = [
        random_graph(rng, nodes, edges, 1000 * k) for k, (nodes, edges) in enumerate([(40, 60), (30, 120), (50, 50)])
    ]
    graphs.append([(5000 + k, 5001 + k, 0.9, 0.9) for k in range(12)])  # a chain: one round per link at worst
    edges = [edge for graph in graphs for edge in graph]
    frame = spark.createDataFrame(edges, f"{NODE} long, {OTHER} long, jaccard double, containment double")
    rounds = runner.centre_rounds(frame)
    centres = {row[NODE]: row[CENTRE] for row in rounds.collect()}
    nodes = np.unique([edge[:2] for edge in edges])
    assignment = cluster.CentreAssignment(nodes.size)
    left, right = (np.searchsorted(nodes, [edge[k] for edge in edges]) for k in (0, 1))
    weights = np.array([edge[2] for edge in edges])
    assignment.add(left, right, weights, weights)
    want = {int(nodes[n]): int(nodes[c]) if c >= 0 else int(nodes[n]) for n, c in enumerate(assignment.centre)}
    assert centres == want
    assert runner.components_split(frame, rounds) == assignment.components_split()
    on_driver, split = runner.centres_on_driver(frame)
    assert {row[NODE]: row[CENTRE] for row in on_driver.collect()} == want
    assert split == assignment.components_split() > 0


def test_a_missing_text_column_is_an_error(spark: SparkSession) -> None:
    frame = spark.createDataFrame([("a", "x")], "id string, body string")
    with pytest.raises(dedup.InputError, match="no column 'text'"):
        dedup.spark.scan(spark, frame)


def test_the_command_line_writes_the_local_engines_files(spark: SparkSession, seeds: Path, tmp_path: Path) -> None:
    """``--engine spark`` writes every table with the local engine's rows in the local engine's order, and
    ``clean --engine spark`` writes the same cleaned pages and audit table."""
    from typer.testing import CliRunner

    from dedup.cli import app

    runner_ = CliRunner()
    for engine in ("local", "spark"):
        done = runner_.invoke(app, ["scan", str(seeds), "--engine", engine, "--out", str(tmp_path / engine), "-q"])
        assert done.exit_code == 0, done.output
        removed = str(tmp_path / f"removed-{engine}.parquet")
        command = [
            "clean",
            str(seeds),
            "--engine",
            engine,
            "--out",
            str(tmp_path / f"clean-{engine}"),
            "--removed",
            removed,
        ]
        cleaned = runner_.invoke(app, command)
        assert cleaned.exit_code == 0, cleaned.output
    for name in TABLES:
        got = pl.read_parquet(tmp_path / "spark" / f"{name}.parquet")
        assert got.equals(pl.read_parquet(tmp_path / "local" / f"{name}.parquet")), name
    local_pages = sorted((tmp_path / "clean-local").iterdir())
    assert [page.name for page in local_pages] == sorted(page.name for page in (tmp_path / "clean-spark").iterdir())
    for page in local_pages:
        assert (tmp_path / "clean-spark" / page.name).read_bytes() == page.read_bytes()
    audits = [pl.read_parquet(tmp_path / f"removed-{engine}.parquet") for engine in ("local", "spark")]
    assert audits[0].height > 0 and audits[0].equals(audits[1])


def test_an_index_reads_as_the_local_engine_reads_it(spark: SparkSession, seeds: Path, tmp_path: Path) -> None:
    """Two adds and a removal: every segment holds the rows ``Index.scan`` gives, less the removed
    document's, with its unsigned hashes as the signed integers of the same bits; an add left uncommitted
    (a segment folder the manifest does not list) is not read."""
    from dedup.index import ADD, SEGMENTS, Index
    from dedup.pipeline import index_add

    folder = tmp_path / "idx"
    pages = sorted(seeds.glob("*.txt"))
    index_add(folder, [pages[0]])
    index_add(folder, pages[1:])
    gone = str(pages[0])  # a file given by its path is named by it
    Index.open(folder).remove([gone])
    stray = folder / "adds" / "uncommitted"
    shutil.copytree(next(path for path in (folder / "adds").iterdir()), stray)
    idx = Index.open(folder)
    assert gone in idx.scan("occurrences").collect()[S.DOC_ID].to_list()  # so that leaving it out is seen
    tables = dedup.spark.read_index(spark, folder)
    assert set(tables) == {*SEGMENTS, "removed"}
    assert all(tables[name].count() > 0 for name in ("texts", "postings", "occurrences", "documents"))
    assert tables["removed"].toPandas()["doc_id"].tolist() == [gone]
    for name, schema in SEGMENTS.items():
        want = idx.scan(name).collect()
        if S.DOC_ID in schema:
            want = want.filter(pl.col(S.DOC_ID) != gone)
        got = pl.DataFrame(tables[name].toArrow())
        unsigned = [pl.col(c).reinterpret(signed=False) for c, dtype in schema.items() if dtype == pl.UInt64]
        got = got.with_columns(unsigned).cast({**dict(schema), ADD: pl.Int32}, strict=True)  # type: ignore[arg-type]
        columns = [c for c in want.columns if c != S.SHINGLES]
        assert got.height == want.height, name
        assert got.sort(columns).equals(want.select(got.columns).sort(columns)), name


def index_segments(folder: Path) -> dict[str, pl.DataFrame]:
    """Every segment of an index's last add, as its files hold them."""
    from dedup.index import SEGMENTS, Index

    add = Index.open(folder).adds[-1]
    return {name: pl.read_parquet(folder / "adds" / add.id / f"{name}.parquet") for name in SEGMENTS}


def add_fields(folder: Path) -> dict[str, object]:
    """An index's manifest, its adds without what differs by run (id, time)."""
    manifest = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    adds = [{k: v for k, v in add.items() if k not in ("id", "time")} for add in manifest["adds"]]
    return manifest | {"adds": adds}


def split_corpus(folder: Path, seed: int, documents_a: int) -> tuple[Path, Path]:
    """A generated corpus with known copies, its first documents in ``a/`` and the rest in ``b/``."""
    from benchmarks.corpus import make_corpus

    corpus = make_corpus(200_000, seed=seed, edit_rates=(0.02, 0.05, 0.1))
    for side in ("a", "b"):
        (folder / side).mkdir(parents=True)
    for number, text in enumerate(corpus.documents):
        side = "a" if number < documents_a else "b"
        (folder / side / f"doc{number:04d}.txt").write_text(text, encoding="utf-8")
    return folder / "a", folder / "b"


def test_an_add_written_by_spark_is_the_local_add_row_for_row(spark: SparkSession, tmp_path: Path) -> None:
    """A new index made on Spark holds the segments and manifest entry ``dedup index add`` writes for the same
    documents, row for row and in the same order; a local scan of more data against it finds the same matches.
    Against the local index, ``dedup scan --index --engine spark`` writes the local scan's files (the four tables,
    the table of matches, ``scan.json``'s counts) and ``dedup clean --index --engine spark`` the local clean."""
    from dedup.index import SEGMENTS
    from dedup.pipeline import index_add, scan

    a, b = split_corpus(tmp_path / "corpus", seed=5, documents_a=30)
    index_add(tmp_path / "local", [a], name="A")
    before = blocks_kept(spark)
    found = dedup.spark.index_add(spark, [a], tmp_path / "spark", name="A", partitions=3, driver_edges=0)
    found.close()
    assert not blocks_kept(spark) - before  # the add's checkpoints are released with the scan's
    assert found.add is not None and found.add.texts > 0 and found.add.files
    assert add_fields(tmp_path / "spark") == add_fields(tmp_path / "local")
    got, want = index_segments(tmp_path / "spark"), index_segments(tmp_path / "local")
    for name in SEGMENTS:
        assert got[name].schema == want[name].schema, name
        assert got[name].equals(want[name]), name
    # The add is not trivial: near clusters with members, exact copies, shingle sets only for the takers.
    texts = want["texts"]
    assert texts["member"].any() and texts.filter(pl.col("member"))["shingles"].is_null().all()
    assert (want["cluster_documents"]["n_docs"] > 1).any()
    columns = [S.DOC_ID, S.BLOCK, S.KIND, S.JACCARD, "index_doc_id", "index_block", "index_cluster"]
    matched = [
        scan([b], index=tmp_path / engine).lazy("matches").select(columns).collect() for engine in ("spark", "local")
    ]
    assert matched[0].height > 0 and set(matched[0][S.KIND]) == {S.EXACT, S.NEAR}
    assert matched[0].equals(matched[1])
    against_index(tmp_path, b, tmp_path / "local")


def against_index(tmp_path: Path, corpus: Path, index: Path) -> None:
    """``dedup scan --index`` of ``corpus`` writes the same files on both engines, and a clean against the index
    that takes the Spark scan (``scanner``, given the index; the scan saved, not run again) the local clean."""
    from typer.testing import CliRunner

    from dedup.clean import clean
    from dedup.cli import app

    runner_ = CliRunner()
    for engine in ("local", "spark"):
        command = ["scan", str(corpus), "--index", str(index), "--engine", engine, "-q"]
        done = runner_.invoke(app, [*command, "--out", str(tmp_path / f"scan-{engine}")])
        assert done.exit_code == 0, done.output

    def saved_scan(paths: list[Path], options: object, index: dedup.Index) -> dedup.ScanResult:
        assert index.folder == given.folder
        return dedup.load(tmp_path / "scan-spark")

    given = dedup.Index.open(index)
    for engine, scanner in (("local", None), ("spark", saved_scan)):
        removed = tmp_path / f"removed-{engine}.parquet"
        clean([corpus], tmp_path / f"clean-{engine}", index=given, removed=removed, scanner=scanner)
    for name in WITH_MATCHES:
        got, want = (pl.read_parquet(tmp_path / f"scan-{engine}" / f"{name}.parquet") for engine in ("spark", "local"))
        assert got.equals(want), name
    summaries = [json.loads((tmp_path / f"scan-{engine}" / "scan.json").read_text()) for engine in ("spark", "local")]
    ignored = {"stats": 0, "files": 0, "scan_id": 0, "candidate_pairs": 0}  # times; the local count before dedup
    assert summaries[0] | ignored == summaries[1] | ignored
    assert summaries[1]["index_exact_blocks"] > 0 and summaries[1]["index_near_blocks"] > 0
    pages = sorted(path.name for path in (tmp_path / "clean-local").iterdir())
    assert pages == sorted(path.name for path in (tmp_path / "clean-spark").iterdir())
    for page in pages:
        assert (tmp_path / "clean-spark" / page).read_bytes() == (tmp_path / "clean-local" / page).read_bytes()
    audits = [pl.read_parquet(tmp_path / f"removed-{engine}.parquet") for engine in ("local", "spark")]
    assert audits[0].height > 0 and audits[0].equals(audits[1])


def test_index_adds_on_spark_from_the_command_line(spark: SparkSession, seeds: Path, tmp_path: Path) -> None:
    """``dedup index add --engine spark`` writes the local add, also where the centre rule leaves a text a
    centre of none (it is its own cluster in the index) or unassigned (no cluster), and then a second add."""
    from typer.testing import CliRunner

    from dedup.cli import app
    from dedup.index import SEGMENTS

    chains = corpora.near_chains(tmp_path / "chains")
    runner_ = CliRunner()
    summaries = []
    for engine in ("local", "spark"):
        command = ["index", "add", str(tmp_path / engine), str(seeds), str(chains), "--engine", engine, "--json"]
        done = runner_.invoke(app, command)
        assert done.exit_code == 0, done.output
        summaries.append(json.loads(done.output))
    # The same summary, but for the count of candidate pairs before deduplication (the local engine's own). Split
    # components are those of a scan without an index: a new index holds no text to join them.
    assert summaries[0]["index_exact_blocks"] == 0 and summaries[0]["documents"] > 0
    split = dedup.scan([seeds, chains]).stats.components_split
    assert summaries[0]["components_split"] == summaries[1]["components_split"] == split > 0
    ignored = {"candidate_pairs": 0}
    assert summaries[0] | ignored == summaries[1] | ignored
    assert add_fields(tmp_path / "spark") == add_fields(tmp_path / "local")
    got, want = index_segments(tmp_path / "spark"), index_segments(tmp_path / "local")
    assert all(got[name].equals(want[name]) for name in SEGMENTS)
    texts = want["texts"].join(want["occurrences"].select("text", S.DOC_ID), on="text")
    clusters = dict(texts.filter(pl.col(S.DOC_ID).str.contains(r"^\d\w\.txt$")).select(S.DOC_ID, "cluster").rows())
    number = dict(texts.select(S.DOC_ID, "text").rows())
    assert clusters == {
        "1w.txt": number["1w.txt"],
        "2x.txt": number["2x.txt"],  # a centre of none
        "3y.txt": number["1w.txt"],
        "4u.txt": number["4u.txt"],
        "5v.txt": number["4u.txt"],
        "6z.txt": -1,  # unassigned
    }
    # A second add, to an index that holds one: a copy of a member (held) beside a near variant of it, a text
    # near the centre of none, and a file the first add brought (passed over).
    more = tmp_path / "more"
    more.mkdir()
    member = (chains / "3y.txt").read_text(encoding="utf-8").strip()
    (more / "7.txt").write_text(f"{member}\n\n{member.rsplit(maxsplit=3)[0]} a b c.\n", encoding="utf-8")
    (more / "8.txt").write_text((chains / "2x.txt").read_text(encoding="utf-8").replace(".", " extra."))
    shutil.copy(next(seeds.glob("*.txt")), more / "9.txt")
    summaries = []
    for engine in ("local", "spark"):
        command = ["index", "add", str(tmp_path / engine), str(more), "--engine", engine, "--json"]
        done = runner_.invoke(app, command)
        assert done.exit_code == 0, done.output
        summaries.append(json.loads(done.stdout))  # the file passed over is told on standard error
    # The summary of a scan against the index: blocks the index held, word for word and near.
    assert summaries[0]["index_exact_blocks"] > 0 and summaries[0]["index_near_blocks"] > 0
    assert summaries[0] | ignored == summaries[1] | ignored
    assert add_fields(tmp_path / "spark") == add_fields(tmp_path / "local")
    got, want = index_segments(tmp_path / "spark"), index_segments(tmp_path / "local")
    assert all(got[name].equals(want[name]) for name in SEGMENTS)
    assert want["clusters"].height > 0 and want["texts"]["member"].any()


def test_an_add_from_a_dataframe_is_the_local_add_of_the_same_rows(spark: SparkSession, tmp_path: Path) -> None:
    """A DataFrame's rows make the add a local add of the same rows (as a table) makes, but for where the
    documents came from; no file is recorded, and the add is named ``<DataFrame>``."""
    from dedup.index import SEGMENTS
    from dedup.pipeline import index_add

    rows = [(row["id"], row["text"]) for row in corpora.records(corpora.build(seed=6, n_docs=24))]
    index_add(tmp_path / "local", pl.DataFrame(rows, schema=["id", "text"], orient="row"))
    frame = spark.createDataFrame(rows, "id string, text string")
    dedup.spark.index_add(spark, frame, tmp_path / "spark", partitions=2).close()
    local, spark_ = add_fields(tmp_path / "local"), add_fields(tmp_path / "spark")
    assert spark_["adds"][0]["name"] == "<DataFrame>" and spark_["adds"][0]["files"] == {}
    for fields in (local, spark_):
        fields["adds"][0].pop("name")
    assert spark_ == local
    got, want = index_segments(tmp_path / "spark"), index_segments(tmp_path / "local")
    got["documents"], want["documents"] = (
        got["documents"].drop("source", "source_line"),
        want["documents"].drop("source", "source_line"),
    )
    for name in SEGMENTS:
        assert got[name].equals(want[name]), name
    assert want["texts"]["member"].any()


def member_copy(index: Path, corpus: Path) -> str:
    """The text of a block an index holds as a member of a near cluster, read from its document in ``corpus``."""
    from dedup.index import Index

    idx = Index.open(index)
    members = idx.scan("texts").filter(pl.col("member")).select("text")
    where = idx.scan("occurrences").join(members, on="text").sort("text").first().collect().row(0, named=True)
    page = (corpus / where[S.DOC_ID]).read_text(encoding="utf-8")
    return page[where[S.START] : where[S.END]]


def test_an_add_to_an_index_with_adds_on_spark_is_the_local_add(spark: SparkSession, tmp_path: Path) -> None:
    """An index of a/ with a document removed, then b/ added, locally and on Spark: the second add's segments and
    the manifest are row for row the local ones. b/ holds near variants and exact copies of a/'s texts (from the
    generated corpus), a copy of a text a/ holds as a near member (held: it takes no text) with a near variant,
    and a copy of a file of a/ (passed over as already indexed)."""
    from dedup.index import SEGMENTS, Index
    from dedup.pipeline import index_add

    a, b = split_corpus(tmp_path / "corpus", seed=7, documents_a=30)
    base = tmp_path / "base"
    index_add(base, [a], name="A")
    Index.open(base).remove(["doc0003.txt"])
    held = member_copy(base, a)  # and a near variant of it: the held text is paired in the new data
    (b / "held.txt").write_text(f"{held}\n\n{held.rsplit(maxsplit=1)[0]} Zusatz.\n", encoding="utf-8")
    shutil.copy(a / "doc0001.txt", b / "again.txt")
    for engine in ("local", "spark"):
        shutil.copytree(base, tmp_path / engine)
    local = index_add(tmp_path / "local", [b], name="B")
    found = dedup.spark.index_add(spark, [b], tmp_path / "spark", name="B", partitions=3)
    assert local is not None and found is not None
    # The scan against the index before the add: its four tables and the table of matches, as a local add's.
    assert_same_tables(spark_tables(found, WITH_MATCHES), local_tables(local, WITH_MATCHES))
    assert_same_stats(found, local)
    found.close()
    assert [skip.reason for skip in found.stats.skips] == ["already indexed"]
    assert add_fields(tmp_path / "spark") == add_fields(tmp_path / "local")
    got, want = index_segments(tmp_path / "spark"), index_segments(tmp_path / "local")
    for name in SEGMENTS:
        assert got[name].schema == want[name].schema, name
        assert got[name].equals(want[name]), (name, got[name], want[name])
    # The add is not trivial: texts of b/ that a/ holds, new texts that joined a/'s clusters, earlier texts
    # given a cluster, and the new data's own clusters; blocks that join one index cluster are one cluster.
    matches = local.lazy("matches").collect()
    assert set(matches[S.KIND]) == {S.EXACT, S.NEAR}
    # A text whose only document was removed is matched no more: every match has its place.
    assert matches["index_doc_id"].null_count() == 0
    assert matches["index_add"].drop_nulls().unique().to_list() == ["A"]
    joined = local.blocks.join(matches.select(S.DOC_ID, S.BLOCK, "index_cluster"), on=[S.DOC_ID, S.BLOCK])
    assert (joined.group_by("index_cluster").agg(pl.col(S.CLUSTER).n_unique())[S.CLUSTER] == 1).all()
    assert local.clusters["kind"].eq(S.NEAR).any() and local.stats.components_split > 0
    assert want["clusters"].height > 0 and want["texts"]["member"].any()
    assert want["occurrences"]["text"].min() < Index.open(tmp_path / "local").adds[-1].first_text


def test_an_add_with_large_buckets_and_the_centre_rule_in_rounds(spark: SparkSession, tmp_path: Path) -> None:
    """A second add on Spark is the local one where LSH buckets of index and new texts together pass
    ``max_bucket_pairs`` (3 here: the generated corpus's near variants fill larger buckets, chained and starred)
    and the centre rule runs in rounds of DataFrame operations."""
    from dedup.index import SEGMENTS
    from dedup.options import LSHOptions, ScanOptions
    from dedup.pipeline import index_add

    options = ScanOptions(lsh=LSHOptions(max_bucket_pairs=3))
    pages = corpora.write_folder(corpora.build(seed=3, n_docs=40), tmp_path / "a")
    later = tmp_path / "b"
    later.mkdir()
    for page in sorted(pages.iterdir())[20:]:
        page.rename(later / page.name)
    index_add(tmp_path / "base", [pages], options)
    for engine in ("local", "spark"):
        shutil.copytree(tmp_path / "base", tmp_path / engine)
    local = index_add(tmp_path / "local", [later], options)
    found = dedup.spark.index_add(spark, [later], tmp_path / "spark", options, partitions=2, driver_edges=0)
    assert local is not None and found is not None
    # The matches and split components found in rounds (the other tables come from them as on the driver).
    assert_same_tables(spark_tables(found, ("matches",)), local_tables(local, ("matches",)))
    assert_same_stats(found, local)
    found.close()
    assert add_fields(tmp_path / "spark") == add_fields(tmp_path / "local")
    got, want = index_segments(tmp_path / "spark"), index_segments(tmp_path / "local")
    assert all(got[name].equals(want[name]) for name in SEGMENTS), [n for n in SEGMENTS if not got[n].equals(want[n])]
    assert set(local.lazy("matches").collect()[S.KIND]) == {S.EXACT, S.NEAR}


@settings(max_examples=200, deadline=None)
@given(
    bucket_of=st.dictionaries(st.tuples(st.integers(0, 3), st.integers(0, 40)), st.integers(0, 5), max_size=120),
    cuts=st.lists(st.integers(0, 120), max_size=8),
    cap=st.integers(1, 6),
)
def test_buckets_cut_across_batches_give_the_pairs_of_the_local_kernel(
    bucket_of: dict[tuple[int, int], int], cuts: list[int], cap: int
) -> None:
    """A task's buckets arrive in Arrow batches cut anywhere, a bucket often over several: the pairs are those
    ``candidates.band_pairs`` makes of each band whole (the same buckets, the same cap, in node order)."""
    rows = sorted((band, bucket, node) for (band, node), bucket in bucket_of.items())  # as the task gets them
    table = pa.table({name: [row[k] for row in rows] for k, name in enumerate(("band", "bucket", NODE))})
    ends = sorted({min(cut, table.num_rows) for cut in cuts} | {table.num_rows})
    spans = [(start, end) for start, end in zip([0, *ends[:-1]], ends, strict=True) if end > start]
    batches = [table.slice(start, end - start).to_batches()[0] for start, end in spans]
    got = pa.Table.from_batches(list(runner.bucket_pairs(iter(batches), cap)), schema=runner.PAIRS_ARROW)
    want: set[tuple[int, int]] = set()
    for band in {band for band, _ in bucket_of}:
        nodes = sorted(node for b, node in bucket_of if b == band)
        column = np.array([bucket_of[band, node] for node in nodes], dtype=np.uint64)
        left, right = candidates.band_pairs(column, cap)
        want |= {(nodes[i], nodes[j]) for i, j in zip(left.tolist(), right.tolist(), strict=True)}
    assert set(zip(got.column(NODE).to_pylist(), got.column(OTHER).to_pylist(), strict=True)) == want
