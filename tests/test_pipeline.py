"""End to end: the seed acceptance criteria, generated corpora with known copies, invariants."""

from __future__ import annotations

import shutil
from itertools import combinations
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dedup
from benchmarks.corpus import make_corpus
from dedup import schema as S
from dedup.candidates import candidate_probability
from dedup.normalize import near_words, normalize
from dedup.runners import local
from tests.conftest import DOUBLED, INTRO, SECOND, listed
from tests.shingles import containment, jaccard, reference_shingles


def _clusters_of(result: dedup.ScanResult, prefix: str) -> pl.DataFrame:
    return result.blocks.filter(pl.col(S.TEXT).str.starts_with(prefix))


# ------------------------------------------------------------- seed acceptance


def test_shared_intro_is_one_cross_document_cluster(seed_scan: dedup.ScanResult) -> None:
    intro = _clusters_of(seed_scan, "De rouille et d'os: Als sich der mittellose")
    assert intro[S.DOC_ID].to_list() == [INTRO, DOUBLED]
    assert intro[S.CLUSTER].n_unique() == 1 and intro[S.CLUSTER][0] is not None
    cluster = seed_scan.clusters.filter(pl.col(S.CLUSTER) == intro[S.CLUSTER][0])
    assert cluster[S.SCOPE].to_list() == [S.CROSS_DOC]


def test_doubled_synopsis_is_one_cluster_with_a_near_pair(seed_scan: dedup.ScanResult) -> None:
    synopsis = _clusters_of(seed_scan, "Steph geht in ihrem Beruf")
    assert synopsis[S.DOC_ID].to_list() == [INTRO, INTRO, DOUBLED, DOUBLED]
    assert synopsis[S.CLUSTER].n_unique() == 1
    cluster_id = synopsis[S.CLUSTER][0]
    assert seed_scan.clusters.filter(pl.col(S.CLUSTER) == cluster_id)[S.KIND].to_list() == [S.NEAR]

    first, second = (near_words(t) for t in synopsis[S.TEXT][:2])
    a, b = reference_shingles(first), reference_shingles(second)
    # The pair must be a candidate with probability >= 0.999 for any seed, or
    # this test would be asserting luck.
    bands, rows = seed_scan.stats.bands, seed_scan.stats.rows
    assert candidate_probability(jaccard(a, b), bands, rows) >= 0.999
    near = seed_scan.pairs.filter(pl.col(S.KIND) == S.NEAR)
    assert near.height == 1
    row = near.row(0, named=True)
    assert (row[S.DOC_A], row[S.BLOCK_A], row[S.DOC_B], row[S.BLOCK_B]) == (INTRO, 3, INTRO, 4)
    assert row[S.JACCARD] == pytest.approx(jaccard(a, b)) and 0.6 < row[S.JACCARD] < 0.66
    assert row[S.CONTAINMENT] == pytest.approx(containment(a, b)) and 0.8 < row[S.CONTAINMENT] < 0.85


def test_cast_list_with_two_bullet_styles_repeats_across_documents(seed_scan: dedup.ScanResult) -> None:
    cast = _clusters_of(seed_scan, "Regisseur")
    assert cast[S.DOC_ID].to_list() == [INTRO, DOUBLED]
    assert "- Jacques Audiard" in cast[S.TEXT][0] and "• Jacques Audiard" in cast[S.TEXT][1]
    assert cast[S.CLUSTER].n_unique() == 1 and cast[S.CLUSTER][0] is not None


def test_first_page_is_contained_in_the_second(seed_scan: dedup.ScanResult) -> None:
    row = seed_scan.documents.filter(pl.col(S.DOC_ID) == INTRO).row(0, named=True)
    assert row[S.CONTAINED_IN] == DOUBLED
    assert row[S.CONTAINMENT] > 0.95
    # What is not contained is exactly the one line 001 does not have.
    missing = row[S.N_CHARS] - round(row[S.CONTAINMENT] * row[S.N_CHARS])
    assert missing == len("„ Der Geschmack von Rost und Knochen“ im Kino")


def test_third_page_joins_only_genuine_repeats(seed_scan: dedup.ScanResult) -> None:
    blocks = seed_scan.blocks
    touching = blocks.filter((pl.col(S.DOC_ID) == SECOND) & pl.col(S.CLUSTER).is_not_null())[S.CLUSTER].unique()
    for cluster_id in touching:
        texts = blocks.filter(pl.col(S.CLUSTER) == cluster_id)[S.TEXT].to_list()
        for a, b in combinations(texts, 2):
            same = normalize(a) == normalize(b)
            similar = jaccard(reference_shingles(near_words(a)), reference_shingles(near_words(b))) >= 0.5
            assert same or similar, (a, b)


def test_short_lines_repeat_but_only_exactly(seed_scan: dedup.ScanResult) -> None:
    short = seed_scan.clusters.filter(pl.col(S.SHORT))
    assert set(short[S.TEXT]) >= {"Anzeige", "Handlung und Hintergrund", "Besetzung und Crew"}
    assert set(short[S.KIND]) == {S.EXACT}
    anzeige = short.filter(pl.col(S.TEXT) == "Anzeige").row(0, named=True)
    assert (anzeige[S.N_BLOCKS], anzeige[S.SCOPE]) == (3, S.WITHIN_DOC)


def test_every_offset_traces_back_to_the_document(seed_scan: dedup.ScanResult, seed_texts: dict[str, str]) -> None:
    for row in seed_scan.blocks.iter_rows(named=True):
        assert seed_texts[row[S.DOC_ID]][row[S.START] : row[S.END]] == row[S.TEXT]


def test_no_repeats_no_clusters(tmp_path: Path) -> None:
    corpus = make_corpus(60_000, seed=3, exact_rate=0, near_rate=0, extended_rate=0, sites=1)
    # Without the shared header and footer nothing repeats.
    for i, text in enumerate(corpus.documents):
        body = text.split("\n\n")[1:-1]
        (tmp_path / f"{i:03d}.txt").write_text("\n\n".join(body))
    result = dedup.scan([tmp_path])
    assert result.clusters.height == 0 and result.pairs.height == 0
    assert result.documents[S.DUP_CHARS].sum() == 0


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(dedup.NoDocumentsError, match="no documents found"):
        dedup.scan([tmp_path])


# Code samples and navigation tables of the Python and PostgreSQL documentation (Debian's python3.11-doc,
# postgresql-doc-15): their words are alike (word shingle Jaccard 0.73 and 0.5), their code and titles are not.
SETUP_PY = (
    "from distutils.core import setup\nsetup(name='foo',\n      version='1.0',\n      py_modules=['foo'],\n      )"
)
SETUP_20 = (
    'from distutils.core import setup\nsetup (name = "foo", version = "1.0",\n'
    '       py_modules = ["module1", "module2"])'
)
NAVIGATION = "| {} |\n| Prev | Up | Chapter 34. libpq — C Library | Home | Next |\n"


def test_code_and_tables_are_near_only_when_their_characters_are(tmp_path: Path) -> None:
    code = {"examples": SETUP_PY, "2.0": SETUP_20, "another": SETUP_PY.replace("1.0", "2.0")}  # another: one change
    tables = {"async": "34.4. Asynchronous Command Processing", "control": "34.11. Control Functions"}
    for name, sample in code.items():
        (tmp_path / f"{name}.html").write_text(f"<html><body><pre>{sample}</pre></body></html>")
    for name, title in tables.items():
        (tmp_path / f"{name}.txt").write_text(NAVIGATION.format(title))
    near = dedup.scan([tmp_path]).pairs.filter(pl.col(S.KIND) == S.NEAR)
    assert sorted(zip(near[S.DOC_A], near[S.DOC_B], strict=True)) == [("another.html", "examples.html")]
    # Their word shingles alone (of the text without fence or bars) would have paired all three samples, and the
    # two tables.
    texts = (SETUP_PY, SETUP_20, *(NAVIGATION.format(title).replace("|", " ") for title in tables.values()))
    words = [reference_shingles(near_words(text)) for text in texts]
    assert jaccard(words[0], words[1]) > 0.7 and jaccard(words[2], words[3]) >= 0.5


# ------------------------------------------------ generated corpus, known copies


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, dedup.ScanResult]:
    corpus = make_corpus(400_000, seed=11, edit_rates=(0.02, 0.05))
    path = tmp_path_factory.mktemp("corpus") / "corpus.jsonl"
    corpus.write_jsonl(path)
    return corpus, dedup.scan([path])


def _cluster_map(result: dedup.ScanResult) -> dict[tuple[str, int], int | None]:
    blocks = result.blocks
    return dict(zip(zip(blocks[S.DOC_ID], blocks[S.BLOCK], strict=True), blocks[S.CLUSTER], strict=True))


def test_generated_copies_are_found(generated: tuple) -> None:
    corpus, result = generated
    ids = corpus.ids()
    clusters = _cluster_map(result)
    near_copies = []
    for copy in corpus.copies:
        if copy.kind == "boilerplate":
            continue
        source = clusters[(ids[copy.source_doc], copy.source_block)]
        target = clusters[(ids[copy.doc], copy.block)]
        if copy.kind == "exact":
            assert source is not None and source == target, copy
            continue
        texts = [
            corpus.documents[d].split("\n\n")[b]
            for d, b in ((copy.source_doc, copy.source_block), (copy.doc, copy.block))
        ]
        a, b = (reference_shingles(near_words(t)) for t in texts)
        if jaccard(a, b) >= 0.5 or containment(a, b) >= 0.8:
            near_copies.append((copy, jaccard(a, b), source, target))

    # LSH is probabilistic: assert only on pairs that are candidates with a
    # probability high enough that, by the union bound, all of them are with
    # probability >= 0.999 for any seed.
    bands, rows = result.stats.bands, result.stats.rows
    floor = 1 - 0.001 / len(near_copies)
    certain = [c for c in near_copies if candidate_probability(c[1], bands, rows) >= floor]
    assert len(certain) >= 0.7 * len(near_copies)
    for copy, j, source, target in certain:
        assert source is not None and source == target, (copy, j)


def test_generated_boilerplate_is_found_across_documents(generated: tuple) -> None:
    _, result = generated
    footers = result.clusters.filter(pl.col(S.TEXT).str.starts_with("Copyright"))
    assert footers.height == 20
    assert (footers[S.SCOPE] == S.CROSS_DOC).all()


def test_generated_clusters_hold_only_copies(generated: tuple) -> None:
    corpus, result = generated
    ids = corpus.ids()
    copied = {(ids[c.doc], c.block) for c in corpus.copies} | {
        (ids[c.source_doc], c.source_block) for c in corpus.copies if c.source_doc >= 0
    }
    clustered = result.blocks.filter(pl.col(S.CLUSTER).is_not_null())
    strays = [k for k in zip(clustered[S.DOC_ID], clustered[S.BLOCK], strict=True) if k not in copied]
    assert strays == []


def test_near_pairs_are_verified_on_real_shingles(generated: tuple) -> None:
    _, result = generated
    texts = {(d, b): t for d, b, t in result.blocks.select(S.DOC_ID, S.BLOCK, S.TEXT).iter_rows()}
    near = result.pairs.filter(pl.col(S.KIND) == S.NEAR)
    assert near.height > 0
    for row in near.iter_rows(named=True):
        a = reference_shingles(near_words(texts[(row[S.DOC_A], row[S.BLOCK_A])]))
        b = reference_shingles(near_words(texts[(row[S.DOC_B], row[S.BLOCK_B])]))
        assert row[S.JACCARD] == pytest.approx(jaccard(a, b))
        assert row[S.JACCARD] >= 0.5 or row[S.CONTAINMENT] >= 0.8


# ------------------------------------------------------------------ invariants


def test_batches_do_not_change_the_result(seeds: Path) -> None:
    whole = dedup.scan([seeds])
    piecewise = dedup.scan([seeds], dedup.ScanOptions(batch_chars=1))
    for name in ("blocks", "pairs", "clusters", "documents"):
        assert getattr(whole, name).equals(getattr(piecewise, name)), name


def test_the_number_of_workers_does_not_change_the_result(
    generated: tuple, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    corpus, _ = generated
    path = tmp_path / "corpus.jsonl"
    corpus.write_jsonl(path)
    results = []
    for workers in (1, 3):
        monkeypatch.setattr(local, "workers", lambda workers=workers: workers)
        # Small batches, so that batches finish out of order on three workers.
        results.append(dedup.scan([path], dedup.ScanOptions(batch_chars=20_000)))
    for name in ("blocks", "pairs", "clusters", "documents"):
        assert getattr(results[0], name).equals(getattr(results[1], name)), name


def test_candidate_pairs_in_many_partitions_give_the_same_result(
    generated: tuple, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    corpus, _ = generated
    path = tmp_path / "corpus.jsonl"
    corpus.write_jsonl(path)
    whole = dedup.scan([path])
    # Every pair partitioned as if memory were short: each partition is read, verified and clustered apart.
    monkeypatch.setattr(local, "MIN_PARALLEL_PAIR_BYTES", 1)
    monkeypatch.setattr(local, "workers", lambda: 3)
    partitions: list[int | None] = []
    parted = dedup.scan(
        [path], progress=lambda stage, done, total: partitions.append(total) if stage == "verify" else None
    )
    assert partitions[-1] == 6  # two per worker
    assert parted.stats.candidate_pairs == whole.stats.candidate_pairs > 0
    for name in ("blocks", "pairs", "clusters", "documents"):
        assert getattr(parted, name).equals(getattr(whole, name)), name


def test_same_input_same_bytes(seeds: Path, tmp_path: Path) -> None:
    first, second, during = tmp_path / "a", tmp_path / "b", tmp_path / "written-by-the-scan"
    dedup.scan([seeds]).write(first)
    dedup.scan([seeds]).write(second)
    dedup.scan([seeds], out=during)  # blocks.parquet streamed out while the other tables are built
    names = listed(first)
    assert names == ["blocks.parquet", "clusters.parquet", "documents.parquet", "pairs.parquet", "scan.json"]
    assert listed(during) == names
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes() == (during / name).read_bytes(), name


def test_a_full_disk_while_blocks_stream_out_is_an_output_error_and_leaves_no_file(
    seeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(blocks: pl.LazyFrame, path: str, **options: object) -> None:
        Path(path).write_bytes(b"PAR1 half a file")
        raise OSError(28, "No space left on device", path)

    monkeypatch.setattr(pl.LazyFrame, "sink_parquet", full_disk)
    with pytest.raises(dedup.OutputError, match="No space left on device"):
        dedup.scan([seeds], out=tmp_path / "out")
    assert listed(tmp_path / "out") == []  # the temporary file is gone, nothing else was written


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in listed(folder)}


@pytest.mark.parametrize("how", ["scan(out=...)", "ScanResult.write"])
def test_a_table_that_cannot_be_written_leaves_the_last_output_as_it_was(
    seeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    out = tmp_path / "out"
    dedup.scan([seeds], out=out)
    before = _snapshot(out)
    other_input = tmp_path / "other.txt"
    other_input.write_text("One page, another scan.\n\nIts paragraph, repeated.\n\nIts paragraph, repeated.\n")
    sink, copy = pl.LazyFrame.sink_parquet, shutil.copyfile

    def full_disk_at_the_clusters(path: str) -> None:
        if "clusters" in str(path):
            Path(path).write_bytes(b"PAR1 half a file")
            raise OSError(28, "No space left on device", path)

    def sink_until_full(frame: pl.LazyFrame, path: str, **options: object) -> None:
        full_disk_at_the_clusters(path)
        sink(frame, path, **options)  # type: ignore[arg-type]

    def copy_until_full(source: str, target: str) -> None:
        full_disk_at_the_clusters(target)
        copy(source, target)

    monkeypatch.setattr(pl.LazyFrame, "sink_parquet", sink_until_full)
    monkeypatch.setattr(shutil, "copyfile", copy_until_full)
    with pytest.raises(dedup.OutputError, match="No space left on device"):
        if how == "ScanResult.write":
            dedup.scan([other_input]).write(out)
        else:
            dedup.scan([other_input], out=out)
    # Every file is the last scan's, not a mix of two scans; no temporary file is left.
    assert _snapshot(out) == before


def test_an_output_that_is_a_file_fails_before_anything_is_read(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("a file, not a folder")
    with pytest.raises(dedup.OutputError, match="exists and is not a folder"):
        dedup.scan([tmp_path / "does-not-exist"], out=taken)  # no InputError: the output is checked first


def test_saved_tables_carry_the_minhash_settings(seed_scan: dedup.ScanResult, tmp_path: Path) -> None:
    import json

    import pyarrow.parquet as pq

    seed_scan.write(tmp_path)
    settings = json.loads(pq.read_metadata(tmp_path / "pairs.parquet").metadata[b"dedup"])
    assert settings["minhash"] == {
        "num_perm": 128,
        "seed": 1,
        "scheme": "affine32",
        "hashfunc": "xxh32",
        "datasketch_equivalent": "MinHash(num_perm=128, seed=1, scheme='affine32', hashfunc=xxhash.xxh32_intdigest)",
    }
    saved = pl.read_parquet(tmp_path / "blocks.parquet")
    assert saved.columns[:9] == [
        S.DOC_ID,
        S.BLOCK,
        S.START,
        S.END,
        S.LINE,
        S.SOURCE_LINE,
        S.SOURCE_COLUMN,
        S.TEXT,
        S.CLUSTER,
    ]
    assert saved.equals(seed_scan.blocks)


def test_document_roll_up_adds_up(seed_scan: dedup.ScanResult) -> None:
    blocks = seed_scan.blocks.with_columns((pl.col(S.END) - pl.col(S.START)).alias(S.N_CHARS))
    expected = (
        blocks.group_by(S.DOC_ID)
        .agg(
            pl.col(S.N_CHARS).sum(), pl.col(S.N_CHARS).filter(pl.col(S.CLUSTER).is_not_null()).sum().alias(S.DUP_CHARS)
        )
        .sort(S.DOC_ID)
    )
    docs = seed_scan.documents.sort(S.DOC_ID)
    assert docs.select(S.DOC_ID, S.N_CHARS, S.DUP_CHARS).equals(expected)
    assert ((docs[S.DUP_FRACTION] >= 0) & (docs[S.DUP_FRACTION] <= 1)).all()


VOCABULARY = [f"w{n}" for n in range(40)]


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(VOCABULARY), min_size=12, max_size=30), min_size=1, max_size=3),
    st.lists(
        st.tuples(st.integers(0, 2), st.lists(st.tuples(st.integers(0, 29), st.sampled_from(VOCABULARY)))),
        min_size=2,
        max_size=12,
    ),
)
def test_no_near_member_falls_below_the_floor_against_its_representative(
    tmp_path_factory: pytest.TempPathFactory, bases: list[list[str]], variants: list[tuple[int, list[tuple[int, str]]]]
) -> None:
    """Variants of a few paragraphs, each a chain of edits away from the others: whatever the chains,
    every near member is a verified near repeat of its cluster's representative."""
    folder = tmp_path_factory.mktemp("variants")
    for number, (base, edits) in enumerate(variants):
        words = list(bases[base % len(bases)])
        for position, word in edits:
            words[position % len(words)] = word
        (folder / f"v{number:02d}.txt").write_text(" ".join(words) + "\n", encoding="utf-8")
    options = dedup.ScanOptions()
    result = dedup.scan([folder], options)
    blocks = result.blocks.filter(pl.col(S.CLUSTER).is_not_null())
    for cluster in result.clusters.filter(pl.col(S.KIND) == S.NEAR).iter_rows(named=True):
        representative = reference_shingles(near_words(cluster[S.TEXT]))
        for text in blocks.filter(pl.col(S.CLUSTER) == cluster[S.CLUSTER])[S.TEXT].unique().to_list():
            member = reference_shingles(near_words(text))
            similar = jaccard(member, representative) >= options.lsh.threshold
            assert similar or containment(member, representative) >= options.lsh.containment, text
