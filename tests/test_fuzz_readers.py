"""Fuzzing every reader: damaged, cut, spliced and random files fail only their own records.

Each example takes a good file of one format (``tests.builders.seed_files``), often compressed, and damages
it: bytes flipped, cut short, spliced with itself or another file, bytes inserted, or random bytes under the
format's name. It is read beside a good file. The invariants:

- no exception escapes, and none reaches the backstop (a ``reader error`` skip is a bug of a reader);
- the file is accounted for: it gives documents or skips, and documents + skips are every record counted;
- the good file beside it is read whole, and every record of a streamed format (one read in order) that
  lies before the first damaged byte is read as it was;
- every skip and warning prints as safe text (no control character reaches a terminal).

A short run is part of the suite; ``DEDUP_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz_readers.py`` runs long.
Every failure a run ever found is kept in ``test_regressions`` below as a plain test.
"""

from __future__ import annotations

import bz2
import lzma
import os
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dedup
from dedup.errors import NoDocumentsError
from dedup.options import ReadOptions
from dedup.sources import Document, ReadStats, read_documents
from dedup.terminal import printable
from tests.builders import COMPRESSIONS, Seed, seed_files

EXAMPLES = int(os.environ.get("DEDUP_FUZZ_EXAMPLES", "12"))
SEEDS = {seed.name: seed for seed in seed_files()}
GOOD = "a good file beside the damaged one, which must be read whole"
DAMAGES = ("flip", "cut", "splice", "insert", "random")
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=EXAMPLES <= 50,  # the suite's short run is the same every time; a long run explores
)


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> tuple[str, bytes]:
    """A damage of ``data``: its kind and the damaged bytes."""
    kind = draw(st.sampled_from(DAMAGES))
    at = draw(st.integers(0, len(data)))
    if kind == "flip":
        flips = draw(st.lists(st.tuples(st.integers(0, max(len(data) - 1, 0)), st.integers(1, 255)), max_size=4))
        damaged = bytearray(data)
        for position, mask in flips:
            if damaged:
                damaged[position] ^= mask
        return kind, bytes(damaged)
    if kind == "cut":
        return kind, data[:at]
    if kind == "splice":
        other = draw(st.sampled_from([seed.data for seed in SEEDS.values()] + [data]))
        return kind, data[:at] + other[draw(st.integers(0, len(other))) :]
    if kind == "insert":
        return kind, data[:at] + draw(st.binary(min_size=1, max_size=64)) + data[at:]
    return kind, draw(st.binary(max_size=4096))


def _decompressed_prefix(data: bytes, compression: str) -> bytes:
    """What a stream decompressor gets out of ``data`` before its first error (the oracle of a cut file)."""
    decompressor = {
        ".gz": lambda: zlib.decompressobj(wbits=31),
        ".bz2": bz2.BZ2Decompressor,
        ".xz": lzma.LZMADecompressor,
        ".zst": lambda: zstandard.ZstdDecompressor().decompressobj(),
    }[compression]()
    try:
        return decompressor.decompress(data)
    except Exception:
        return b""


def _intact(seed: Seed, compression: str, kind: str, written: bytes) -> int:
    """How many bytes at the start of the seed's (decompressed) data the damaged file surely still delivers."""
    if not seed.streamed or kind == "random":
        return 0
    if not compression:  # the file itself, or a .warc.gz whose records are members on their own
        return _common_prefix(written, seed.data)
    if kind != "cut":  # corrupt compressed data: a decompressor may lose the output of its last call
        return 0
    return _common_prefix(_decompressed_prefix(written, compression), seed.data)


def _common_prefix(one: bytes, other: bytes) -> int:
    """How many bytes two byte strings share at their start."""
    for position, (a, b) in enumerate(zip(one, other, strict=False)):
        if a != b:
            return position
    return min(len(one), len(other))


def _read_beside_a_good_file(name: str, written: bytes) -> tuple[list[Document], ReadStats, Path]:
    with tempfile.TemporaryDirectory(prefix="dedup-fuzz-") as folder:
        (Path(folder) / "good.txt").write_text(GOOD)
        path = Path(folder) / name
        path.write_bytes(written)
        stats = ReadStats()
        documents = list(read_documents([folder], ReadOptions(), stats))
    return documents, stats, path


def _check(seed: Seed, compression: str, kind: str, written: bytes) -> None:
    documents, stats, path = _read_beside_a_good_file(seed.name + compression, written)
    reasons = [skip.reason for skip in stats.skips]
    assert "reader error" not in reasons, [str(s) for s in stats.skips]
    assert ("good.txt", GOOD) in [(d.doc_id, d.text) for d in documents]
    from_file = [d for d in documents if d.source == str(path)]
    skipped = [s for s in stats.skips if s.source == str(path)]
    assert from_file or skipped, "the damaged file is not accounted for"
    assert stats.records == stats.documents + len(stats.skips) == len(documents) + len(stats.skips)
    # A file that looks binary is skipped whole (by design: one skip, not a record of text per line).
    intact = 0 if "binary file" in reasons else _intact(seed, compression, kind, written)
    kept = [(d.doc_id, d.text) for d in from_file]
    for doc_id, text, end in seed.records:
        if end <= intact:
            assert any(i == doc_id and (text is None or t == text) for i, t in kept), f"{doc_id} lost: {kind}"
    for note in [*stats.skips, *stats.warnings]:
        assert printable(str(note)) == str(note)


@FUZZ
@given(data=st.data())
@pytest.mark.parametrize("name", SEEDS)
def test_a_damaged_file_fails_only_its_own_records(name: str, data: st.DataObject) -> None:
    seed = SEEDS[name]
    compression = "" if name.endswith(".gz") else data.draw(st.sampled_from(["", *COMPRESSIONS]), label="compression")
    original = COMPRESSIONS[compression](seed.data) if compression else seed.data
    kind, written = data.draw(damaged(original), label="damage")
    _check(seed, compression, kind, written)


@FUZZ
@given(data=st.data())
@pytest.mark.parametrize("name", ["pages.jsonl", "rows.csv", "crawl.warc"])
def test_damage_inside_the_compressed_data_of_a_streamed_format(name: str, data: st.DataObject) -> None:
    seed = SEEDS[name]
    compression = data.draw(st.sampled_from(list(COMPRESSIONS)), label="compression")
    kind, written = data.draw(damaged(seed.data), label="damage")
    _check(seed, compression, kind, COMPRESSIONS[compression](written))  # damaged, then compressed whole


@FUZZ
@given(
    seed=st.sampled_from(sorted(SEEDS)),
    data=st.data(),
    name=st.sampled_from(["", "file", "file.dat", "file.txt", "file.json"]),
    options=st.builds(
        ReadOptions,
        id_field=st.sampled_from(["id", "meta.url", "text"]),
        text_field=st.sampled_from(["text", "body.content", "id"]),
        encoding=st.sampled_from([None, "cp1252", "utf-16", "shift_jis", "utf-8"]),
        html_drop_nav=st.booleans(),
        max_document_bytes=st.sampled_from([1, 64, 1 << 20]),
    ),
)
def test_any_file_under_any_name_and_read_options(
    seed: str, data: st.DataObject, name: str, options: ReadOptions
) -> None:
    _, written = data.draw(damaged(SEEDS[seed].data), label="damage")
    with tempfile.TemporaryDirectory(prefix="dedup-fuzz-") as folder:
        path = Path(folder) / (name or seed)  # named by its content, by another extension, or by its own
        path.write_bytes(written)
        stats = ReadStats()
        documents = list(read_documents([path], options, stats))
    assert "reader error" not in [skip.reason for skip in stats.skips], [str(s) for s in stats.skips]
    assert documents or stats.skips
    assert all(len(d.text.encode("utf-8", "surrogatepass")) <= 4 * options.max_document_bytes for d in documents)


@settings(FUZZ, max_examples=max(EXAMPLES // 3, 4))
@given(st.lists(st.tuples(st.sampled_from(sorted(SEEDS)), st.data()), max_size=3))
def test_a_scan_of_damaged_files_accounts_for_every_record(files: list[tuple[str, st.DataObject]]) -> None:
    with tempfile.TemporaryDirectory(prefix="dedup-fuzz-") as folder:
        (Path(folder) / "good.txt").write_text(GOOD)
        for number, (name, data) in enumerate(files):
            _, written = data.draw(damaged(SEEDS[name].data))
            (Path(folder) / f"{number}-{name}").write_bytes(written)
        try:
            result = dedup.scan([folder])
        except NoDocumentsError:  # pragma: no cover - the good file is always there
            pytest.fail("the good file was not read")
    summary = result.summary()
    assert summary["records"] == summary["documents"] + summary["skipped"]
    assert summary["records"] == result.stats.documents + len(result.stats.skips)
    assert result.documents.height == result.stats.documents
    assert "reader error" not in result.stats.skipped_by_reason


# Every failure a fuzz run found, as a plain test: what it was, and (seed, compression, damage, damaged bytes).
REGRESSIONS: dict[str, tuple[str, str, str, Callable[[bytes], bytes]]] = {
    # The archive read 64 KB at a time with read(), which loses what the decompression steps before the cut gave.
    "bz2 WARC cut near its end": ("crawl.warc", ".bz2", "cut", lambda data: data[:-10]),
    "xz WARC cut in half": ("crawl.warc", ".xz", "cut", lambda data: data[: len(data) // 2]),
}


@pytest.mark.parametrize("case", REGRESSIONS)
def test_regressions(case: str) -> None:
    name, compression, kind, damage = REGRESSIONS[case]
    seed = SEEDS[name]
    _check(seed, compression, kind, damage(COMPRESSIONS[compression](seed.data) if compression else seed.data))
