"""The index of earlier crawls: what a scan against it finds is what a scan of everything finds."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

import dedup
from benchmarks.corpus import make_corpus
from dedup import commit
from dedup import schema as S
from dedup.cli import app
from dedup.index import FORMAT, TEXT, Index
from dedup.pipeline import index_add, scan
from tests import corpora
from tests.conftest import SEEDS

runner = CliRunner()


def _split_corpus(folder: Path, seed: int, documents_a: int) -> tuple[Path, Path]:
    """A generated corpus with known copies, its first documents in ``a/`` and the rest in ``b/``."""
    corpus = make_corpus(300_000, seed=seed, edit_rates=(0.02, 0.05, 0.1))
    for side in ("a", "b"):
        (folder / side).mkdir()
    for number, text in enumerate(corpus.documents):
        side = "a" if number < documents_a else "b"
        (folder / side / f"doc{number:04d}.txt").write_text(text, encoding="utf-8")
    return folder / "a", folder / "b"


def _index_mates(idx: Index, matches: pl.DataFrame) -> dict[tuple[str, int], frozenset[tuple[str, int]]]:
    """For each matched block of the new data, the indexed blocks of the index cluster it joined."""
    texts = idx.scan("texts").select(TEXT, S.CLUSTER).collect()
    later = idx.scan("clusters").sort("add").group_by(TEXT).agg(pl.col(S.CLUSTER).last().alias("later"))
    texts = texts.join(later.collect(), on=TEXT, how="left").with_columns(pl.coalesce("later", S.CLUSTER))
    # A text with no cluster of its own stands for itself (a copy of it makes an exact cluster).
    texts = texts.with_columns(pl.when(pl.col(S.CLUSTER) >= 0).then(S.CLUSTER).otherwise(TEXT).alias("group"))
    blocks = idx.scan("occurrences").select(TEXT, S.DOC_ID, S.BLOCK).collect().join(texts, on=TEXT)
    members: dict[int, set[tuple[str, int]]] = {}
    for group, doc_id, block in blocks.select("group", S.DOC_ID, S.BLOCK).iter_rows():
        members.setdefault(group, set()).add((f"a/{doc_id}", block))
    return {
        (f"b/{doc_id}", block): frozenset(members[cluster])
        for doc_id, block, cluster in matches.select(S.DOC_ID, S.BLOCK, "index_cluster").iter_rows()
    }


def _joint_mates(result: dedup.ScanResult) -> dict[tuple[str, int], frozenset[tuple[str, int]]]:
    """For each block of b/ in a scan of a/ and b/, the blocks of a/ in its cluster (if any)."""
    blocks = result.blocks.filter(pl.col(S.CLUSTER).is_not_null())
    members: dict[int, set[tuple[str, int]]] = {}
    for doc_id, block, cluster in blocks.select(S.DOC_ID, S.BLOCK, S.CLUSTER).iter_rows():
        members.setdefault(cluster, set()).add((doc_id, block))
    mates = {}
    newer = blocks.filter(pl.col(S.DOC_ID).str.starts_with("b/")).select(S.DOC_ID, S.BLOCK, S.CLUSTER)
    for doc_id, block, cluster in newer.iter_rows():
        old = frozenset(m for m in members[cluster] if m[0].startswith("a/"))
        if old:
            mates[(doc_id, block)] = old
    return mates


@pytest.mark.parametrize("seed", [5, 6])
def test_a_scan_against_the_index_finds_the_clusters_a_scan_of_everything_finds(tmp_path: Path, seed: int) -> None:
    a, b = _split_corpus(tmp_path, seed, documents_a=40)
    index_add(tmp_path / "idx", [a], name="A")
    against = scan([b], index=tmp_path / "idx")
    matches = against.lazy("matches").collect()
    assert matches.height > 0 and set(matches[S.KIND]) == {S.EXACT, S.NEAR}
    joint = scan([tmp_path])  # a/ is read before b/
    assert _index_mates(Index.open(tmp_path / "idx"), matches) == _joint_mates(joint)


def test_cleaning_against_the_index_cuts_what_cleaning_everything_cuts_from_the_new_data(tmp_path: Path) -> None:
    a, b = _split_corpus(tmp_path, 7, documents_a=40)
    index_add(tmp_path / "idx", [a])
    dedup.clean([b], tmp_path / "against", index=tmp_path / "idx", removed=tmp_path / "r1.parquet")
    dedup.clean([tmp_path / "a", tmp_path / "b"], tmp_path / "everything", removed=tmp_path / "r2.parquet")
    for path in sorted(b.iterdir()):
        cleaned = tmp_path / "against" / path.name
        expected = tmp_path / "everything" / path.name  # a folder's files keep their names relative to it
        assert cleaned.exists() == expected.exists(), path.name
        if cleaned.exists():
            assert cleaned.read_text(encoding="utf-8") == expected.read_text(encoding="utf-8"), path.name


def test_adds_one_after_another_match_what_one_add_of_both_matches(tmp_path: Path) -> None:
    a, b = _split_corpus(tmp_path, 8, documents_a=30)
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        folder.mkdir()
    for number, path in enumerate(sorted(a.iterdir())):
        (first if number < 15 else second).joinpath(path.name).write_bytes(path.read_bytes())
    index_add(tmp_path / "two", [first])
    index_add(tmp_path / "two", [second])
    index_add(tmp_path / "one", [a])
    columns = [S.DOC_ID, S.BLOCK, S.KIND, "index_doc_id", "index_block"]
    two = scan([b], index=tmp_path / "two").lazy("matches").select(columns).collect()
    one = scan([b], index=tmp_path / "one").lazy("matches").select(columns).collect()
    assert two.equals(one)


def test_files_added_before_are_passed_over_and_a_new_one_is_added(tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    pages = tmp_path / "pages"
    pages.mkdir()
    for seed in SEEDS.iterdir():
        (pages / seed.name).write_bytes(seed.read_bytes())
    assert index_add(idx, [pages]) is not None
    assert index_add(idx, [pages]) is None  # every file was added before: nothing to do
    (pages / "new.txt").write_text("A page that came later, with a paragraph no page had before it.\n")
    again = index_add(idx, [pages])
    assert again is not None and again.stats.documents == 1
    assert [skip.reason for skip in again.stats.skips] == ["already indexed"] * 3
    assert Index.open(idx).info()["documents"] == 4


def test_removed_documents_are_no_longer_matched_or_named(tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    index_add(idx, [SEEDS])
    before = scan([SEEDS / "001_09200cf2f9f01141.txt"], index=idx).lazy("matches").collect()
    assert "000_e4840d95eb31815a.txt" in before["index_doc_id"].to_list()
    (tmp_path / "ids").write_text("000_e4840d95eb31815a.txt\n")
    result = runner.invoke(app, ["index", "remove", str(idx), "--ids", str(tmp_path / "ids")])
    assert result.exit_code == 0 and result.output == f"Removed 1 document ids from {idx}.\n"
    after = scan([SEEDS / "001_09200cf2f9f01141.txt"], index=idx).lazy("matches").collect()
    assert "000_e4840d95eb31815a.txt" not in after["index_doc_id"].to_list()
    assert after.height > 0  # 001 itself is still indexed: it matches itself
    runner.invoke(app, ["index", "compact", str(idx)])
    compacted = scan([SEEDS / "001_09200cf2f9f01141.txt"], index=idx).lazy("matches").collect()
    assert compacted.select(S.DOC_ID, S.BLOCK, "index_doc_id", "index_block").equals(
        after.select(S.DOC_ID, S.BLOCK, "index_doc_id", "index_block")
    )
    assert Index.open(idx).info()["documents"] == 2


def test_a_removed_document_is_no_longer_matched_as_a_near_repeat(tmp_path: Path) -> None:
    """A near lookup, as an exact one, finds only texts that still stand in a document that is not removed: a
    match never lacks its place. (One word of 60 changed: Jaccard 55/61 = 0.90, a candidate at the default
    banding with probability 1 - (1 - 0.9**3)**26, more than 1 - 1e-14.)"""
    words = [f"wort{k}" for k in range(60)]
    paragraph = " ".join(words) + "."
    variant = " ".join([*words[:30], "anders", *words[31:]]) + "."
    pages, new = tmp_path / "pages", tmp_path / "new"
    pages.mkdir()
    new.mkdir()
    (pages / "x.txt").write_text(f"{paragraph}\n\nEin Absatz, den nur diese Seite hat und keine andere.\n")
    (pages / "y.txt").write_text("Eine ganz andere Seite mit einem Absatz, der nirgends sonst steht.\n")
    (new / "n.txt").write_text(f"{variant}\n")
    idx = tmp_path / "idx"
    index_add(idx, [pages])
    before = scan([new], index=idx).lazy("matches").collect()
    assert before.select(S.KIND, "index_doc_id").rows() == [(S.NEAR, "x.txt")]
    Index.open(idx).remove(["x.txt"])
    after = scan([new], index=idx).lazy("matches").collect()
    assert after.is_empty()


def test_other_matching_options_are_refused_with_the_difference_named(tmp_path: Path) -> None:
    runner.invoke(app, ["index", "add", str(tmp_path / "idx"), str(SEEDS)])
    result = runner.invoke(app, ["scan", str(SEEDS), "--index", str(tmp_path / "idx"), "--threshold", "0.8"])
    assert result.exit_code == 2
    assert result.output == (
        f"Error: {tmp_path / 'idx'}: the index was made with lsh.threshold=0.5 (this scan: 0.8); "
        "scan with the same options\n"
    )


def test_a_foreign_or_damaged_index_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    result = runner.invoke(app, ["index", "info", str(tmp_path / "folder")])
    assert (
        result.exit_code == 2 and result.output == f"Error: {tmp_path / 'folder'}: not a dedup index (no index.json)\n"
    )
    runner.invoke(app, ["index", "add", str(tmp_path / "idx"), str(SEEDS)])
    manifest = json.loads((tmp_path / "idx" / "index.json").read_text())
    (tmp_path / "idx" / "index.json").write_text(json.dumps({"dedup_index": FORMAT, "adds": 5}))
    result = runner.invoke(app, ["scan", str(SEEDS), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 2 and "index.json: not a dedup index manifest" in result.output
    # An index of format 1 holds word shingles for code and tables: it cannot be matched against.
    (tmp_path / "idx" / "index.json").write_text(json.dumps({**manifest, "dedup_index": 1}))
    result = runner.invoke(app, ["scan", str(SEEDS), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 2 and f"index format 1, this dedup reads {FORMAT}" in result.output


def test_decontamination_cuts_every_block_the_test_set_holds(tmp_path: Path) -> None:
    test_set = tmp_path / "test"
    test_set.mkdir()
    (test_set / "q.txt").write_text("Regisseur\n- Jacques Audiard\n")  # a short line of a seed page
    index_add(tmp_path / "idx", [SEEDS / "000_e4840d95eb31815a.txt", test_set])
    result = dedup.clean(
        [SEEDS / "001_09200cf2f9f01141.txt"],
        tmp_path / "train",
        dedup.CleanOptions(keep="none"),
        index=tmp_path / "idx",
    )
    cleaned = (tmp_path / "train" / "001_09200cf2f9f01141.txt").read_text(encoding="utf-8")
    original = (SEEDS / "000_e4840d95eb31815a.txt").read_text(encoding="utf-8")
    for line in original.splitlines():
        if len(line) > 40:
            assert line not in cleaned  # every paragraph the index holds is gone
    assert result.stats.blocks_removed > 0
    with pytest.raises(dedup.OptionsError, match="--keep none cuts what the index holds"):
        dedup.clean([SEEDS], tmp_path / "t2", dedup.CleanOptions(keep="none"), index=tmp_path / "idx", update=True)


def test_signatures_go_to_datasketch_which_finds_the_same_candidates(tmp_path: Path) -> None:
    from datasketch import MinHashLSH

    from dedup.candidates import band_keys, candidate_pairs

    a, _ = _split_corpus(tmp_path, 9, documents_a=60)
    index_add(tmp_path / "idx", [a])
    idx = Index.open(tmp_path / "idx")
    hashed = list(idx.lean_minhashes())
    bands, rows = idx.banding
    lsh = MinHashLSH(num_perm=128, params=(bands, rows))
    for text, minhash in hashed:
        lsh.insert(text, minhash)
    theirs = {(a, b) for a, m in hashed for b in lsh.query(m) if a < b}
    signatures = np.array([m.hashvalues for _, m in hashed], dtype=np.uint32)
    keys = band_keys(signatures, bands, rows)
    ids = np.array([text for text, _ in hashed])
    left, right = candidate_pairs(keys, ids, max_bucket_pairs=len(ids) ** 2)
    ours = {(min(a, b), max(a, b)) for a, b in zip(left.tolist(), right.tolist(), strict=True)}
    assert theirs == ours and theirs


def test_an_add_killed_half_way_leaves_the_index_as_it_was(tmp_path: Path) -> None:
    from benchmarks.corpus import documents_of, write_corpus

    idx = tmp_path / "idx"
    index_add(idx, [SEEDS])
    before = json.loads((idx / "index.json").read_text())
    corpus = tmp_path / "crawl.jsonl"
    write_corpus(documents_of("crawl", 16_000_000, seed=2), corpus, {"profile": "crawl"})
    command = [sys.executable, "-c", "from dedup.cli import main; main()", "index", "add", str(idx), str(corpus)]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not any(p.name.endswith(commit.TEMP_SUFFIX) for p in (idx / "adds").iterdir()):  # writing its segment
        assert time.monotonic() < deadline and child.poll() is None
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    assert json.loads((idx / "index.json").read_text()) == before
    assert Index.open(idx).info()["documents"] == 3
    again = index_add(idx, [SEEDS / "002_97e78c12a69bdb34.txt"])  # added before: nothing, but it clears up
    assert again is None
    (tmp_path / "new.txt").write_text("A page added after the run that was killed, with words of its own.\n")
    index_add(idx, [tmp_path / "new.txt"])
    assert Index.open(idx).info()["documents"] == 4
    assert not [p for p in (idx / "adds").iterdir() if p.name.endswith(commit.TEMP_SUFFIX)]


def test_a_second_writer_of_an_index_fails_at_once(tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    index_add(idx, [SEEDS])
    with commit.writer_lock(idx / commit.LOCK_NAME, str(idx)):
        result = runner.invoke(app, ["index", "add", str(idx), str(SEEDS / "002_97e78c12a69bdb34.txt"), "--name", "x"])
        reading = runner.invoke(app, ["scan", str(SEEDS), "--index", str(idx)])  # readers are never blocked
    assert result.exit_code == 2 and "another dedup run is writing it" in result.output
    assert reading.exit_code == 0


def test_an_add_counts_the_components_the_centre_rule_split(tmp_path: Path) -> None:
    """An add to a new index clusters as a scan does, and says so: the same split components (the chains of
    ``near_chains`` split two), counted over the verified pairs of the new and the index's texts."""
    chains = corpora.near_chains(tmp_path / "chains")
    added = index_add(tmp_path / "idx", [SEEDS, chains], name="A")
    plain = scan([SEEDS, chains])
    assert added.stats.components_split == plain.stats.components_split == 2
