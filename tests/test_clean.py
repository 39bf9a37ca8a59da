"""dedup clean: cutting, keeping, dropping, writing formats, atomicity, safety, and the audit table."""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import dedup
from dedup import schema as S
from dedup import writers
from dedup.clean import apply_cuts, cut_spans, restore
from dedup.cli import app
from dedup.options import CleanOptions, ScanOptions, SegmentOptions
from dedup.segment import segment
from tests.corpora import build, records, write_folder, write_jsonl

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEED_000 = "000_e4840d95eb31815a.txt"
SEED_001 = "001_09200cf2f9f01141.txt"
SEED_002 = "002_97e78c12a69bdb34.txt"
runner = CliRunner()


def seed_lines(name: str) -> list[str]:
    return (SEEDS / name).read_text(encoding="utf-8").split("\n")


def blocks_of(text: str, options: SegmentOptions | None = None) -> pl.DataFrame:
    frame = pl.DataFrame({S.DOC_KEY: [0], S.TEXT: [text]}, schema={S.DOC_KEY: pl.Int64, S.TEXT: pl.String})
    return segment(frame, options or SegmentOptions())


def blank_run(text: str) -> int:
    """The longest run of blank lines in a text."""
    runs = re.findall(r"\n(?:[ \t\r]*\n)+", text)
    return max((run.count("\n") - 1 for run in runs), default=0)


def digest(folder: Path) -> dict[str, str]:
    """Every file and folder below ``folder``, with a hash of each file."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "folder"
        for p in folder.rglob("*")
    }


def audit_restores(removed: Path, originals: dict[str, str], cleaned: dict[str, str]) -> None:
    """Putting every cut back gives every original text."""
    audit = pl.read_parquet(removed)
    for doc_id, original in originals.items():
        cuts = audit.filter(pl.col(S.DOC_ID) == doc_id).select(S.CUT_START, S.REMOVED).rows()
        assert restore(cleaned.get(doc_id, ""), cuts) == original, doc_id


# --- cutting one document ---------------------------------------------------------------------------------------


def cut(text: str, remove: list[int], options: SegmentOptions | None = None) -> str:
    blocks = blocks_of(text, options)
    mask = [i in remove for i in range(blocks.height)]
    return apply_cuts(text, cut_spans(text, blocks[S.START].to_list(), blocks[S.END].to_list(), mask))


def test_a_paragraph_between_paragraphs_leaves_one_blank_line() -> None:
    assert cut("One.\n\nTwo.\n\nThree.\n", [1]) == "One.\n\nThree.\n"


def test_the_stronger_separator_survives_on_either_side() -> None:
    assert cut("One.\nTwo.\n\nThree.", [1]) == "One.\n\nThree."
    assert cut("One.\n\nTwo.\nThree.", [1]) == "One.\n\nThree."


def test_a_list_run_goes_with_all_its_lines_and_the_next_keeps_its_indentation() -> None:
    text = "Intro line.\n\nCast\n  • A\n  • B\nCrew\n  • C\n\n    1. Review text here.\n"
    blocks = blocks_of(text)
    assert blocks[S.TEXT][1] == "Cast\n  • A\n  • B\nCrew\n  • C"
    assert cut(text, [1]) == "Intro line.\n\n    1. Review text here.\n"


def test_one_list_item_among_items_leaves_a_list() -> None:
    text = "Shopping\n- eggs\n- milk\n- bread\n"
    assert cut(text, [2], SegmentOptions(lists="item")) == "Shopping\n- eggs\n- bread\n"


def test_first_and_last_blocks_keep_the_documents_edges() -> None:
    assert cut("\nAnzeige\nAnzeige\n\nText.\n", [0, 1]) == "\nText.\n"
    assert cut("Text.\n  Mehr\n    Anzeige", [2]) == "Text.\n  Mehr"
    assert cut("Text.\n\nAnzeige\n", [1]) == "Text.\n"


def test_removing_every_block_leaves_nothing() -> None:
    assert cut("  A\n\nB  \n", [0, 1]) == ""


def test_windows_line_ends_stay_whole() -> None:
    assert cut("One.\r\nTwo.\r\n\r\nThree.\r\n", [1]) == "One.\r\n\r\nThree.\r\n"


_line = st.one_of(
    st.sampled_from(["", "  ", "\t"]),
    st.from_regex(r"[ ]{0,4}(- |• |1\. )?[A-Za-zäß]{1,8}( [a-z.]{1,8}){0,12}", fullmatch=True),
)


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(_line, min_size=1, max_size=14),
    newline=st.sampled_from(["\n", "\r\n"]),
    tail=st.booleans(),
    data=st.data(),
)
def test_cutting_is_undone_by_restore_and_never_doubles_blank_lines(
    lines: list[str], newline: str, tail: bool, data: st.DataObject
) -> None:
    text = newline.join(lines) + (newline if tail else "")
    if not text.strip():
        return
    blocks = blocks_of(text)
    starts, ends = blocks[S.START].to_list(), blocks[S.END].to_list()
    mask = data.draw(st.lists(st.booleans(), min_size=len(starts), max_size=len(starts)))
    cuts = cut_spans(text, starts, ends, mask)
    removed = [i for i, gone in enumerate(mask) if gone]
    assert len(cuts) == len(removed)
    for (cut_start, cut_end), i in zip(cuts, removed, strict=True):
        assert cut_start <= starts[i] and ends[i] <= cut_end
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(cuts))
    cleaned = apply_cuts(text, cuts)
    assert restore(cleaned, [(a, text[a:b]) for a, b in cuts]) == text
    assert blank_run(cleaned) <= blank_run(text)
    kept = [text[s:e] for s, e, gone in zip(starts, ends, mask, strict=True) if not gone]
    position = 0
    for block in kept:
        position = cleaned.index(block, position) + len(block)
    assert (cleaned == "") == (not kept)


@settings(max_examples=100, deadline=None)
@given(
    paragraphs=st.lists(st.from_regex(r"[A-Z][a-z]{1,6}( [a-z]{1,6}){0,6}\.", fullmatch=True), min_size=1, max_size=8)
)
def test_paragraph_documents_keep_their_other_paragraphs_as_they_were(paragraphs: list[str]) -> None:
    options = SegmentOptions(split="paragraph")
    text = "\n\n".join(paragraphs) + "\n"
    for gone in range(len(paragraphs)):
        cleaned = cut(text, [gone], options)
        expected = paragraphs[:gone] + paragraphs[gone + 1 :]
        assert cleaned == ("\n\n".join(expected) + "\n" if expected else "")
        if expected:
            assert blocks_of(cleaned, options)[S.TEXT].to_list() == expected


# --- the seeds ---------------------------------------------------------------------------------------------------


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SEEDS, tmp_path / "seeds"))


def test_clean_on_the_seeds_removes_each_repeat_from_the_right_place(seeds: Path, tmp_path: Path) -> None:
    before = digest(seeds)
    result = dedup.clean([seeds], tmp_path / "out")
    assert digest(seeds) == before
    lines_000, lines_001 = seed_lines(SEED_000), seed_lines(SEED_001)
    out_000 = (tmp_path / "out" / SEED_000).read_text(encoding="utf-8")
    out_001 = (tmp_path / "out" / SEED_001).read_text(encoding="utf-8")
    out_002 = (tmp_path / "out" / SEED_002).read_text(encoding="utf-8")

    intro, synopsis, second_synopsis, story = lines_000[0], lines_000[3], lines_000[4], lines_000[5]
    cast_list = "\n".join(lines_001[18:43])  # Regisseur … • Richard Rousseau, with its bullets
    # 000 reads first: it keeps every first occurrence and loses only its second synopsis.
    assert out_000 == (SEEDS / SEED_000).read_text(encoding="utf-8").replace(second_synopsis + "\n", "")
    # 001 loses the intro, both synopsis copies, the story and the cast list.
    for gone in (intro, lines_001[10], lines_001[12], story, cast_list):
        assert gone not in out_001
    assert synopsis not in out_001 and second_synopsis not in out_001
    # Short lines used again in a document or two are no duplicate content: they stay.
    assert out_001.count("Anzeige") == 3 and "Handlung und Hintergrund" in out_001
    for kept in lines_001[5:7] + lines_001[44:58]:
        assert kept in out_001
    assert blank_run(out_001) == 1
    assert out_002 == (SEEDS / SEED_002).read_text(encoding="utf-8")
    assert result.stats.short_removed == 0 and result.stats.written == 3 and result.stats.dropped == 0
    rescan = dedup.scan([tmp_path / "out"])
    assert rescan.clusters.filter(~pl.col(S.SHORT)).height == 0
    assert rescan.pairs.filter(pl.col(S.KIND) == S.NEAR).height == 0


def test_cut_short_also_cuts_the_repeated_short_lines(seeds: Path, tmp_path: Path) -> None:
    result = dedup.clean([seeds], tmp_path / "out", CleanOptions(cut_short=True))
    lines_002 = seed_lines(SEED_002)
    out_001 = (tmp_path / "out" / SEED_001).read_text(encoding="utf-8")
    out_002 = (tmp_path / "out" / SEED_002).read_text(encoding="utf-8")
    assert out_001.count("Anzeige") == 1 and out_001.startswith("Anzeige\n\nErfahre mehr")
    for gone in ("Handlung und Hintergrund", "Besetzung und Crew"):
        assert gone not in out_001
    # 002's second "User folgen" and second "3,5" rating are repeats of short lines within it.
    assert out_002 == "\n".join(lines_002[:11] + lines_002[12:19] + lines_002[20:])
    assert result.stats.short_removed > 0
    rescan = dedup.scan([tmp_path / "out"])
    assert rescan.clusters.height == 0 and rescan.pairs.height == 0


def test_boilerplate_keeps_one_copy_or_none(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    footer = "Copyright Example Site. All rights reserved."
    rng = random.Random(3)
    for number in range(12):
        body = " ".join(
            rng.choice(["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa"]) + str(rng.random())
            for _ in range(14)
        )
        aside = f"See page {number}."  # a short line twice on one page: no boilerplate
        (inputs / f"p{number:02d}.txt").write_text(f"{body}\n\n{aside}\n{aside}\n\n{footer}\n", encoding="utf-8")
    kept = dedup.clean([inputs], tmp_path / "kept", CleanOptions(boilerplate_docs=10))
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted((tmp_path / "kept").iterdir())}
    assert [name for name, text in texts.items() if footer in text] == ["p00.txt"]
    assert all(text.count("See page") == 2 for text in texts.values())
    assert kept.stats.boilerplate_removed == 11
    dropped = dedup.clean([inputs], tmp_path / "dropped", CleanOptions(boilerplate_docs=10, drop_boilerplate=True))
    assert not any(footer in p.read_text(encoding="utf-8") for p in (tmp_path / "dropped").iterdir())
    assert dropped.stats.boilerplate_removed == 12
    audit = pl.read_parquet(dropped.removed).filter(pl.col(S.REMOVED).str.contains("Copyright"))
    assert audit.height == 12 and audit[S.KEPT_DOC_ID].null_count() == 12
    few = dedup.clean([inputs], tmp_path / "few", CleanOptions(boilerplate_docs=13, drop_boilerplate=True))
    assert few.stats.blocks_removed == 0  # below the boilerplate bar, the footer is a short line used again: it stays


def test_drop_docs_over_drops_000_as_contained_in_001_which_keeps_the_text(seeds: Path, tmp_path: Path) -> None:
    result = dedup.clean([seeds], tmp_path / "out", CleanOptions(drop_docs_over=0.9))
    assert not (tmp_path / "out" / SEED_000).exists()
    assert result.stats.dropped == 1 and result.stats.written == 2
    lines_001 = seed_lines(SEED_001)
    out_001 = (tmp_path / "out" / SEED_001).read_text(encoding="utf-8")
    # With 000 gone, 001 holds the kept occurrences: intro, first synopsis, story and cast list stay.
    for kept in (lines_001[3], lines_001[10], lines_001[14], "\n".join(lines_001[18:43])):
        assert kept in out_001
    assert lines_001[12] not in out_001  # the second synopsis copy
    audit = pl.read_parquet(result.removed)
    dropped = audit.filter(pl.col(S.KIND) == S.DOCUMENT).row(0, named=True)
    assert (dropped[S.DOC_ID], dropped[S.KEPT_DOC_ID]) == (SEED_000, SEED_001)
    assert dropped[S.REMOVED] == (SEEDS / SEED_000).read_text(encoding="utf-8")
    assert dropped[S.CONTAINMENT] >= 0.9
    rescan = dedup.scan([tmp_path / "out"])
    assert rescan.clusters.filter(~pl.col(S.SHORT)).height == 0


def test_the_audit_table_undoes_every_removal(seeds: Path, tmp_path: Path) -> None:
    for over in (None, 0.9):
        out = tmp_path / f"out-{over}"
        result = dedup.clean(
            [seeds], out, CleanOptions(drop_docs_over=over), removed=tmp_path / f"removed-{over}.parquet"
        )
        originals = {p.name: p.read_text(encoding="utf-8") for p in sorted(seeds.iterdir())}
        cleaned = {p.name: p.read_text(encoding="utf-8") for p in sorted(out.iterdir())}
        audit_restores(result.removed, originals, cleaned)
        audit = pl.read_parquet(result.removed)
        assert audit.schema == S.REMOVED_SCHEMA
        blocks = audit.filter(pl.col(S.KIND) != S.DOCUMENT)
        # Each row names its block exactly as the scan does, and the occurrence kept instead.
        scan_blocks = dedup.scan([seeds]).blocks
        joined = blocks.join(scan_blocks, on=[S.DOC_ID, S.BLOCK], suffix="_scan")
        assert joined.height == blocks.height
        assert (joined[S.START] == joined["start_scan"]).all() and (joined[S.LINE] == joined["line_scan"]).all()
        kept = blocks.join(
            scan_blocks, left_on=[S.KEPT_DOC_ID, S.KEPT_BLOCK], right_on=[S.DOC_ID, S.BLOCK], suffix="_kept"
        )
        assert (kept[S.CLUSTER] == kept["cluster_kept"]).all()


def test_keep_longest_and_last_choose_other_occurrences(tmp_path: Path) -> None:
    base = "the quick brown fox jumps over the lazy dog near the river bank today and again tomorrow"
    longer = base + " while the cat sleeps"
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.txt").write_text(f"Alpha unique opening line.\n\n{base}\n", encoding="utf-8")
    (inputs / "b.txt").write_text(f"Beta unique opening line.\n\n{longer}\n", encoding="utf-8")
    (inputs / "c.txt").write_text(f"Gamma unique opening line.\n\n{base}\n", encoding="utf-8")
    expected = {"first": ["a.txt"], "longest": ["b.txt"], "last": ["c.txt"], "none": []}
    for keep, holder in expected.items():
        out = tmp_path / keep
        dedup.clean([inputs], out, CleanOptions(keep=keep), removed=tmp_path / f"{keep}.parquet")  # type: ignore[arg-type]
        holding = [p.name for p in sorted(out.iterdir()) if base in p.read_text(encoding="utf-8")]
        assert holding == holder, keep


def test_two_documents_never_drop_each_other(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    text = "A paragraph that both pages carry in full, word for word, every time.\n\nAnd a second one, the same.\n"
    (inputs / "a.txt").write_text(text, encoding="utf-8")
    (inputs / "b.txt").write_text(text, encoding="utf-8")
    result = dedup.clean([inputs], tmp_path / "out", CleanOptions(drop_docs_over=0.9))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.txt"]
    assert (tmp_path / "out" / "a.txt").read_text(encoding="utf-8") == text
    assert result.stats.dropped == 1


def test_a_document_of_nothing_but_repeats_is_not_written_and_is_counted(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    second = "The second line of the page, long enough to count as content and not as a short line.\n"
    (inputs / "a.txt").write_text("First line of the page.\n" + second, encoding="utf-8")
    (inputs / "b.txt").write_text(second, encoding="utf-8")
    result = dedup.clean([inputs], tmp_path / "out")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.txt"]
    assert (result.stats.documents, result.stats.written, result.stats.emptied) == (2, 1, 1)
    audit_restores(result.removed, {"b.txt": second}, {})


# --- a generated corpus with known duplicates --------------------------------------------------------------------


def test_generated_folder_keeps_one_copy_of_everything_and_rescans_clean(tmp_path: Path) -> None:
    corpus = build(seed=11)
    inputs = write_folder(corpus, tmp_path / "crawl" / "site")
    result = dedup.clean([tmp_path / "crawl"], tmp_path / "out")
    texts = {
        p.relative_to(tmp_path / "out").as_posix(): p.read_text("utf-8") for p in (tmp_path / "out").rglob("*.txt")
    }
    assert sorted(texts) == sorted(f"site/{doc_id}" for doc_id in corpus.texts)
    everything = "\n".join(texts.values())
    for paragraph in corpus.unique:
        assert everything.count(paragraph) == 1
    for paragraph, holders in corpus.exact.items():
        assert everything.count(paragraph) == 1 and paragraph in texts[f"site/{holders[0]}"]
    for group in corpus.near:
        (first_doc, first), *others = group
        assert first in texts[f"site/{first_doc}"]
        assert not any(variant in everything for _, variant in others if variant != first)
    assert everything.count(corpus.shared_list) == 1
    assert result.stats.blocks_removed == corpus.expected_removals()
    assert all(blank_run(text) <= blank_run(corpus.texts[name.split("/")[1]]) for name, text in texts.items())
    rescan = dedup.scan([tmp_path / "out"])
    assert rescan.clusters.filter(~pl.col(S.SHORT)).height == 0  # repeated headings stay
    audit_restores(result.removed, {f"site/{k}": v for k, v in corpus.texts.items()}, texts)
    assert inputs.exists()


def test_shards_that_number_their_records_alike_are_scanned_and_cleaned_apart(tmp_path: Path) -> None:
    shared = "A paragraph that every shard repeats word for word, long enough to count as a block of its own."
    own = {
        "a": ["Apples ripen slowly in northern orchards.", "The ferry leaves at dawn from the old pier."],
        "b": ["Violins need humid rooms to keep their tone.", "Snow closed the mountain pass for a week."],
    }
    (tmp_path / "dump").mkdir()
    for shard, texts in own.items():
        records = [{"id": str(i), "text": f"{text}\n\n{shared}"} for i, text in enumerate(texts)]
        (tmp_path / "dump" / f"{shard}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    scan = dedup.scan([tmp_path / "dump"])
    assert scan.documents[S.DOC_ID].n_unique() == 4 and len(scan.stats.warnings) == 2
    result = dedup.clean([tmp_path / "dump"], tmp_path / "out")
    outputs = [(tmp_path / "out" / f"{name}.jsonl").read_text() for name in ("a", "b")]
    kept = [json.loads(line) for output in outputs for line in output.splitlines()]
    assert [r["id"] for r in kept] == ["0", "1", "0", "1"]  # the files keep their own ids
    assert sum(r["text"].count(shared) for r in kept) == 1 and result.stats.blocks_removed == 3
    assert all(text in " ".join(r["text"] for r in kept) for texts in own.values() for text in texts)


def test_generated_jsonl_keeps_every_other_field_and_the_field_order(tmp_path: Path) -> None:
    corpus = build(seed=5)
    rows = records(corpus)
    source = write_jsonl(rows, tmp_path / "in" / "crawl.jsonl")
    with source.open("a", encoding="utf-8") as handle:  # lines that are not documents
        handle.write('{"id": "broken", "text": \n{"id": "no-text"}\n')
    raw_lines = source.read_bytes().splitlines(keepends=True)
    result = dedup.clean([source], tmp_path / "out")
    assert [s.reason for s in result.scan.stats.skips] == ["malformed JSON", "missing text"]
    out_lines = (tmp_path / "out" / "crawl.jsonl").read_bytes().splitlines(keepends=True)
    out_rows = [json.loads(line) for line in out_lines]
    assert [r["id"] for r in out_rows] == [r["id"] for r in rows]
    for row, out_row, raw in zip(rows, out_rows, raw_lines, strict=False):
        assert list(out_row) == list(row)
        assert {k: v for k, v in out_row.items() if k != "text"} == {k: v for k, v in row.items() if k != "text"}
        if out_row["text"] == row["text"]:
            assert raw in out_lines  # an untouched record is copied byte for byte
    assert sum(out_row["text"] != row["text"] for row, out_row in zip(rows, out_rows, strict=True)) > 0
    everything = "\n".join(r["text"] for r in out_rows)
    for paragraph in corpus.exact:
        assert everything.count(paragraph) == 1
    rescan = dedup.scan([tmp_path / "out"])
    assert rescan.clusters.filter(~pl.col(S.SHORT)).height == 0
    audit_restores(result.removed, {r["id"]: r["text"] for r in rows}, {r["id"]: r["text"] for r in out_rows})
    # The audit rows point at the record's line in the input file.
    audit = pl.read_parquet(result.removed)
    for doc_id, line in audit.select(S.DOC_ID, S.SOURCE_LINE).unique().iter_rows():
        assert json.loads(raw_lines[line - 1])["id"] == doc_id


def test_generated_parquet_keeps_every_other_column_end_to_end(tmp_path: Path) -> None:
    corpus = build(seed=9)
    # Parquet columns have one type: no 2**70 integers, no lists mixing strings and booleans.
    rows = [
        {**{k: v for k, v in row.items() if k != "big"}, "meta": {"lang": "de", "score": row["meta"]["score"]}}
        for row in records(corpus)
    ]
    source = tmp_path / "in" / "crawl.parquet"
    source.parent.mkdir()
    pl.DataFrame(rows).write_parquet(source)
    result = dedup.clean([source], tmp_path / "out")
    assert result.scan.stats.skips == []
    original = pl.read_parquet(source)
    cleaned = pl.read_parquet(tmp_path / "out" / "crawl.parquet")
    assert cleaned.schema == original.schema
    assert cleaned.drop("text").equals(original.drop("text"))
    assert (cleaned["text"] != original["text"]).sum() > 0
    everything = "\n".join(cleaned["text"])
    for paragraph in corpus.exact:
        assert everything.count(paragraph) == 1
    assert dedup.scan([tmp_path / "out"]).clusters.filter(~pl.col(S.SHORT)).height == 0
    before = dict(zip(original["id"], original["text"], strict=True))
    after = dict(zip(cleaned["id"], cleaned["text"], strict=True))
    audit_restores(result.removed, before, after)


def test_jsonl_with_a_nested_text_field(tmp_path: Path) -> None:
    shared = "Shared closing paragraph that repeats on both pages, long enough to be a repeat of content."
    rows = [
        {
            "id": "a",
            "body": {
                "lang": "en",
                "content": f"Kept opening line of page a.\n{shared}",
            },
        },
        {
            "id": "b",
            "body": {
                "content": f"Kept opening line of page b.\n{shared}",
                "z": 1,
            },
        },
    ]
    source = write_jsonl(rows, tmp_path / "in.jsonl")
    options = CleanOptions(scan=ScanOptions(read=dedup.ReadOptions(text_field="body.content")))
    dedup.clean([source], tmp_path / "out", options)
    out_rows = [json.loads(line) for line in (tmp_path / "out" / "in.jsonl").read_text("utf-8").splitlines()]
    assert out_rows[0] == rows[0]
    assert out_rows[1] == {"id": "b", "body": {"content": "Kept opening line of page b.", "z": 1}}


# --- writing safely ----------------------------------------------------------------------------------------------


def test_an_interrupted_clean_leaves_no_output_and_no_temporary_files(
    seeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def crash_on_second(source: Path, target: Path, documents, options) -> int:  # type: ignore[no-untyped-def]
        calls.append(source.name)
        if len(calls) == 2:
            target.write_text("half a docu", encoding="utf-8")
            raise OSError(28, "No space left on device", str(target))
        return writers.write_text(source, target, documents, options)

    monkeypatch.setitem(writers.WRITERS, ".txt", writers.Writer(crash_on_second))
    parent = tmp_path / "target"
    parent.mkdir()
    with pytest.raises(dedup.OutputError, match="No space left on device"):
        dedup.clean([seeds], parent / "out")
    assert len(calls) == 2
    assert list(parent.iterdir()) == []  # no output, no staging folder, no removed.parquet, no temporary file

    # Replacing an earlier output: the crash leaves the earlier output as it was.
    monkeypatch.undo()
    dedup.clean([seeds], parent / "out")
    before = digest(parent)
    calls.clear()
    monkeypatch.setitem(writers.WRITERS, ".txt", writers.Writer(crash_on_second))
    with pytest.raises(dedup.OutputError):
        dedup.clean([seeds], parent / "out", overwrite=True)
    assert digest(parent) == before
    assert sorted(p.name for p in parent.iterdir()) == ["out", "out.removed.parquet"]


def test_the_removed_table_goes_beside_the_output_by_default(seeds: Path, tmp_path: Path) -> None:
    result = dedup.clean([seeds], tmp_path / "work" / "out")
    assert result.removed == (tmp_path / "work" / "out.removed.parquet").resolve()
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["out", "out.removed.parquet"]
    assert sorted(p.name for p in (tmp_path / "work" / "out").iterdir()) == [SEED_000, SEED_001, SEED_002]


def test_cleans_into_two_folders_keep_two_audits(seeds: Path, tmp_path: Path) -> None:
    first = dedup.clean([seeds], tmp_path / "first")
    second = dedup.clean([seeds], tmp_path / "second", CleanOptions(cut_short=True))
    assert first.removed != second.removed
    audits = [pl.read_parquet(result.removed) for result in (first, second)]
    assert audits[0].height < audits[1].height  # the second cut its short lines too, the first's audit still stands


def test_an_existing_removed_table_is_replaced_only_with_overwrite(seeds: Path, tmp_path: Path) -> None:
    audit = tmp_path / "audit.parquet"
    audit.write_bytes(b"an earlier audit")
    with pytest.raises(dedup.OutputError, match=r"audit\.parquet: exists; choose another --removed, or replace it"):
        dedup.clean([seeds], tmp_path / "out", removed=audit)
    assert audit.read_bytes() == b"an earlier audit"
    assert not (tmp_path / "out").exists()
    dedup.clean([seeds], tmp_path / "out", removed=audit, overwrite=True)
    assert pl.read_parquet(audit).height > 0


# --- the command -------------------------------------------------------------------------------------------------


def test_cli_clean_prints_what_it_did(seeds: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["clean", str(seeds), "--out", str(out), "--drop-docs-over", "0.9"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"Cleaned 3 documents: wrote 2 to {out}/ (2 files)."
    assert "Dropped 1 document contained in a kept one." in result.output
    summary = runner.invoke(
        app, ["clean", str(seeds), "--out", str(tmp_path / "o2"), "--json", "--removed", str(tmp_path / "r.parquet")]
    )
    assert summary.exit_code == 0
    data = json.loads(summary.stdout)
    assert data["written"] + data["dropped"] + data["emptied"] == data["documents"] == 3
    assert data["removed"] == str(tmp_path / "r.parquet")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["{seeds}", "--out", "{seeds}"],
            "Error: {seeds}: the output must not be an input or inside an input folder ({seeds})",
        ),
        (
            ["{seeds}", "--out", "{seeds}/clean"],
            "Error: {seeds}/clean: the output must not be an input or inside an input folder ({seeds})",
        ),
        (
            ["{seeds}", "--out", "{tmp}"],
            "Error: {tmp}: the output folder holds the input {seeds}; write the output elsewhere",
        ),
        (
            ["{seeds}/" + SEED_000, "--out", "{seeds}/" + SEED_000],
            "Error: {seeds}/"
            + SEED_000
            + ": the output must not be an input or inside an input folder ({seeds}/"
            + SEED_000
            + ")",
        ),
        (
            ["{seeds}", "--out", "{tmp}/out", "--removed", "{seeds}/removed.parquet"],
            "Error: {seeds}/removed.parquet: the removed table must not be an input or inside an input folder "
            "({seeds})",
        ),
        (
            ["{seeds}", "--out", "{tmp}/out", "--removed", "{tmp}/out/removed.parquet"],
            "Error: {tmp}/out/removed.parquet: the removed table must not be inside the output folder {tmp}/out",
        ),
        (
            ["{seeds}", "--out", "{tmp}/full"],
            "Error: {tmp}/full: exists and is not empty; choose a new folder, or replace it with --overwrite",
        ),
        (
            ["{seeds}", "--out", "{tmp}/out", "--keep", "best"],
            "Error: keep must be first, longest, last or none, got 'best'",
        ),
        (
            ["{seeds}", "--out", "{tmp}/out", "--drop-docs-over", "90"],
            "Error: drop_docs_over must be in (0, 1], got 90.0; did you pass a percentage?",
        ),
        (["{tmp}/nothing", "--out", "{tmp}/out"], "Error: {tmp}/nothing: no such file or folder"),
    ],
)
def test_cli_clean_refuses_with_a_clear_error_and_touches_nothing(
    seeds: Path, tmp_path: Path, arguments: list[str], message: str
) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep-me.txt").write_text("mine", encoding="utf-8")
    before = digest(tmp_path)
    values = {"seeds": str(seeds), "tmp": str(tmp_path)}
    result = runner.invoke(app, ["clean", *(a.format(**values) for a in arguments)])
    assert result.exit_code == 2
    assert result.stderr.strip() == message.format(**values)
    assert digest(tmp_path) == before


def test_cli_clean_refuses_two_inputs_that_would_share_an_output_file(tmp_path: Path) -> None:
    for site in ("a", "b"):
        (tmp_path / site).mkdir()
        (tmp_path / site / "index.txt").write_text(f"Site {site} page.\n", encoding="utf-8")
    result = runner.invoke(app, ["clean", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Error: {tmp_path}/a/index.txt and {tmp_path}/b/index.txt would both be written to "
        f"{tmp_path}/out/index.txt; clean them in separate runs"
    )


def test_cli_clean_overwrite_replaces_an_earlier_output(seeds: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier run", encoding="utf-8")
    result = runner.invoke(app, ["clean", str(seeds), "--out", str(out), "--overwrite"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [SEED_000, SEED_001, SEED_002]


def test_every_command_has_help() -> None:
    for command in ("scan", "clean", "check"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output


CODE_LINES = ["{", "}", "import json", ">>> x = 1", "return x", "    pass", "print(x)", "body=[", "Module("]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.lists(st.sampled_from(CODE_LINES), min_size=1, max_size=6), min_size=2, max_size=6), st.data())
def test_a_code_sample_is_kept_or_cut_whole_never_torn(
    tmp_path_factory: pytest.TempPathFactory, samples: list[list[str]], data: st.DataObject
) -> None:
    """Pages sharing code lines, and sometimes whole samples: clean cuts whole samples or nothing of them."""
    folder = tmp_path_factory.mktemp("code")
    fenced = ["```\n" + "\n".join(lines) + "\n```" for lines in samples]
    pages = {}
    for number in range(4):
        chosen = data.draw(st.lists(st.sampled_from(fenced), min_size=1, max_size=3))
        pages[f"p{number}.md"] = f"# Page {number}\n\n" + "\n\n".join(chosen) + "\n"
    for name, text in pages.items():
        (folder / name).write_text(text, encoding="utf-8")
    out = tmp_path_factory.mktemp("out") / "clean"
    dedup.clean([folder], out, removed=out.parent / "removed.parquet")
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        inside = re.findall(r"```\n(.*?)\n```", text, flags=re.DOTALL)
        assert all(f"```\n{sample}\n```" in fenced for sample in inside), text
        assert text.count("```") == 2 * len(inside)  # no fence left without its sample


@pytest.mark.parametrize("drop_docs_over", [None, 0.9])
def test_clean_counts_characters_as_scan_does(seeds: Path, tmp_path: Path, drop_docs_over: float | None) -> None:
    """Characters in blocks, for the total and for what is cut: the totals of clean and scan agree."""
    result = dedup.clean([seeds], tmp_path / "out", CleanOptions(drop_docs_over=drop_docs_over))
    documents = result.scan.documents
    assert result.stats.chars == documents[S.N_CHARS].sum() == result.scan.summary()["chars"]
    audit = pl.read_parquet(result.removed)
    blocks = audit.filter(pl.col(S.BLOCK).is_not_null())
    dropped = documents.filter(pl.col(S.DOC_ID).is_in(audit.filter(pl.col(S.BLOCK).is_null())[S.DOC_ID].implode()))
    assert (drop_docs_over is not None) == (dropped.height > 0)
    cut = (blocks[S.END] - blocks[S.START]).sum() + dropped[S.N_CHARS].sum()
    assert result.stats.chars_removed == cut > 0
    shown = runner.invoke(app, ["clean", str(seeds), "--out", str(tmp_path / "cli"), "--removed", str(tmp_path / "r")])
    scanned = runner.invoke(app, ["scan", str(seeds)])
    total = re.search(r"of ([\d,]+) characters", scanned.stdout)
    assert total is not None and f"of {total.group(1)} characters" in shown.stdout
