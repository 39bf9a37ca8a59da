"""JSON Lines read in bulk by polars give exactly what reading them line by line gives.

The bulk path takes a run of lines only when it can prove every line plain; these tests hold
it to the per-line reader (the reference) on the lines where the two parsers differ.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup._kernels import json_needs_care
from dedup.formats import jsonl
from dedup.formats.records import DocumentFrame, Input
from dedup.options import ReadOptions
from dedup.sources import DocumentFrame as SourcesDocumentFrame
from dedup.sources import ReadStats, batches, read_documents, read_runs
from tests.conftest import SEEDS

PLAIN = b'{"id": "a", "text": "a plain text"}\n'

# Lines on which polars and the per-line reader part ways, or that need repair, a skip or a warning.
NOT_PLAIN = {
    "blank line": b"\n",
    "whitespace line": b"   \n",
    "not an object": b"[1, 2]\n",
    "broken JSON": b'{"id": "a", "text": \n',
    "text a number": b'{"id": "a", "text": 123}\n',
    "text an object": b'{"id": "a", "text": {"t": "x"}}\n',
    "text null": b'{"id": "a", "text": null}\n',
    "text missing": b'{"id": "a"}\n',
    "text twice": b'{"text": "first", "text": "last"}\n',
    "text nested and missing": b'{"meta": {"text": "x"}}\n',
    "escaped key": b'{"id": "a", "t\\u0065xt": "x", "meta": {"text": "y"}}\n',
    "id a float": b'{"id": 1.0, "text": "x"}\n',
    "id a bool": b'{"id": true, "text": "x"}\n',
    "id an object": b'{"id": {"a": 1}, "text": "x"}\n',
    "id beyond 64 bits": b'{"id": 123456789012345678901234567890, "text": "x"}\n',
    "id minus zero": b'{"id": -0, "text": "x"}\n',
    "lone surrogate": b'{"id": "a", "text": "x\\ud800y"}\n',
    "lone low surrogate": b'{"id": "a", "text": "x\\udc00y"}\n',
    "escaped NUL": b'{"id": "a", "text": "x\\u0000y"}\n',
    "escaped backspace": b'{"id": "a", "text": "x\\by"}\n',
    "raw DEL": b'{"id": "a", "text": "x\x7fy"}\n',
    "raw C1 control": b'{"id": "a", "text": "x\xc2\x85y"}\n',
    "raw control": b'{"id": "a", "text": "x\x01y"}\n',
    "bad UTF-8": b'{"id": "a", "text": "x\xff\xfey"}\n',
    "blank text": b'{"id": "a", "text": " \\n\\t "}\n',
    "HTML page": b'{"id": "a", "text": "  <!DOCTYPE html><html><body><p>A page</p></body></html>"}\n',
    "HTML page by its doctype": b'{"id": "a", "text": "<!doctype html><title>T</title><p>A page</p>"}\n',
    "NaN": b'{"id": "a", "text": "x", "score": NaN}\n',
    # Plain in fact, but the checks cannot tell (nested keys count too; polars refuses huge numbers).
    "id also nested": b'{"id": "a", "text": "x", "meta": {"id": 1.5}}\n',
    "number beyond float range": b'{"id": "a", "text": "x", "n": 1e400}\n',
}

# Lines that look unusual but are plain: the bulk path must take them, and agree.
ALSO_PLAIN = {
    "integer id": b'{"id": 42, "text": "x"}\n',
    "negative id": b'{"id": -7, "text": "x"}\n',
    "null id": b'{"id": null, "text": "x"}\n',
    "no id": b'{"text": "x"}\n',
    "escaped backslash before u": b'{"id": "a", "text": "C:\\\\u0041 and \\\\b"}\n',
    "surrogate pair": b'{"id": "a", "text": "smile \\ud83d\\ude00"}\n',
    "escaped umlaut": b'{"id": "a", "text": "gr\\u00fc\\u00dfe"}\n',
    "crlf": b'{"id": "a", "text": "x"}\r\n',
    "other fields": b'{"id": "a", "text": "x", "meta": {"tags": [1, "two"], "n": 1.5e300}}\n',
    "spaces around colons": b'{"id" :  "a" , "text"  :"x"}\n',
    "no line end": b'{"id": "a", "text": "x"}',
}


def _source(name: str = "pages.jsonl") -> Input:
    return Input(name, name, lambda: open(__file__, "rb"))  # never opened: the lines are given


def _line_by_line(lines: list[bytes]) -> list[object]:
    return list(jsonl._utf8_lines(enumerate(lines, start=1), _source(), ReadOptions()))


@pytest.mark.parametrize("name", sorted(NOT_PLAIN))
def test_a_line_that_is_not_plain_sends_its_run_line_by_line(name: str) -> None:
    assert jsonl._bulk_documents([PLAIN, NOT_PLAIN[name], PLAIN], 1, _source(), ReadOptions()) is None


@pytest.mark.parametrize("name", sorted(ALSO_PLAIN))
def test_plain_lines_are_read_in_bulk_as_line_by_line(name: str) -> None:
    lines = [PLAIN, ALSO_PLAIN[name]] if name == "no line end" else [PLAIN, ALSO_PLAIN[name], PLAIN]
    bulk = jsonl._bulk_documents(lines, 1, _source(), ReadOptions())
    assert bulk is not None
    assert list(bulk.documents()) == _line_by_line(lines)
    assert bulk.chars == sum(len(d.text) for d in bulk.documents())


def test_seed_pages_as_json_lines_are_read_in_bulk(tmp_path: Path) -> None:
    path = tmp_path / "seeds.jsonl"
    records = [{"id": p.name, "text": p.read_text(encoding="utf-8")} for p in sorted(SEEDS.glob("*.txt"))]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    runs = list(read_runs([path], ReadOptions(), ReadStats()))
    assert len(runs) == 1 and isinstance(runs[0], SourcesDocumentFrame)
    assert [(d.doc_id, d.text, d.source_line) for d in runs[0].documents()] == [
        (r["id"], r["text"], n) for n, r in enumerate(records, start=1)
    ]


def test_other_fields_are_found_in_bulk_and_dotted_paths_line_by_line() -> None:
    lines = [b'{"url": "u1", "body": "one", "meta": {"lang": "de"}}\n', b'{"url": 2, "body": "two"}\n']
    options = ReadOptions(id_field="url", text_field="body")
    bulk = jsonl._bulk_documents(lines, 1, _source(), options)
    assert bulk is not None and [d.doc_id for d in bulk.documents()] == ["u1", "2"]
    assert not jsonl._bulk_fields(ReadOptions(id_field="meta.url"))
    assert not jsonl._bulk_fields(ReadOptions(id_field="text"))


_EDGE_LINES = st.sampled_from([*NOT_PLAIN.values(), *ALSO_PLAIN.values()])


@st.composite
def _json_lines(draw: st.DrawFn) -> bytes:
    """A plain record written in one of several styles, or one of the edge lines above."""
    if draw(st.booleans()):
        line = draw(_EDGE_LINES)
        return line if line.endswith(b"\n") else line + b"\n"
    record: dict[str, object] = {"text": draw(st.text(max_size=40))}
    doc_id = draw(st.one_of(st.none(), st.text(max_size=5), st.integers(-(10**20), 10**20), st.just("absent")))
    if doc_id != "absent":
        record["id"] = doc_id
    separators = draw(st.sampled_from([(", ", ": "), (",", ":"), (" , ", " : ")]))
    text = json.dumps(record, ensure_ascii=draw(st.booleans()), separators=separators)
    return text.encode("utf-8", "surrogatepass") + b"\n"


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(_json_lines(), min_size=1, max_size=12), run_bytes=st.integers(1, 300))
def test_bulk_reading_equals_line_by_line_reading(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], run_bytes: int
) -> None:
    path = tmp_path_factory.mktemp("bulk") / "pages.jsonl"
    path.write_bytes(b"".join(lines))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jsonl, "BULK_BYTES", run_bytes)
        bulk_stats = ReadStats()
        bulk = list(read_documents([path], ReadOptions(), bulk_stats))
        patch.setattr(jsonl, "_bulk_fields", lambda options: False)  # the reference: every line on its own
        reference_stats = ReadStats()
        reference = list(read_documents([path], ReadOptions(), reference_stats))
    assert bulk == reference
    assert [str(s) for s in bulk_stats.skips] == [str(s) for s in reference_stats.skips]
    assert [str(w) for w in bulk_stats.warnings] == [str(w) for w in reference_stats.warnings]
    assert bulk_stats.documents == reference_stats.documents


# The needs-care scan, against a tokenizer by regular expression (escapes taken from the left).
_TOKEN = re.compile(rb"\\u[0-9a-fA-F]{4}|\\[\s\S]?|\xc2[\x80-\x9f]|[\s\S]")


def _needs_care_by_tokens(data: bytes) -> bool:
    tokens = _TOKEN.findall(data)
    skip_next = False
    for i, token in enumerate(tokens):
        if skip_next:
            skip_next = False
            continue
        if token == b"\x7f" or (len(token) == 2 and token[0] == 0xC2):
            return True
        if not token.startswith(b"\\"):
            continue
        if len(token) == 1 or token[1:2] in (b"b", b"f") or (token[1:2] == b"u" and len(token) != 6):
            return True
        if len(token) != 6:
            continue
        code = int(token[2:], 16)
        if code < 0xA0 or 0xDC00 <= code <= 0xDFFF:
            return True
        if 0xD800 <= code <= 0xDBFF:
            low = tokens[i + 1] if i + 1 < len(tokens) else b""
            if len(low) != 6 or not low.startswith(b"\\u") or not 0xDC00 <= int(low[2:], 16) <= 0xDFFF:
                return True
            skip_next = True
    return False


_PIECES = [
    b"a",
    b"plain words",
    b"\\",
    b"u",
    b"0",
    b"9",
    b"d",
    b"D",
    b"8",
    b"c",
    b"f",
    b"b",
    b"n",
    b"\x7f",
    b"\xc2",
    b"\x85",
]
_ESCAPES = [b"\\u00", b"\\u00e4", b"\\u0041", b"\\ud83d", b"\\ude00", b"\\ud800", b"\\\\"]
_JSON_BYTES = st.lists(st.sampled_from(_PIECES + _ESCAPES), max_size=30).map(b"".join)


@settings(max_examples=500, deadline=None)
@given(data=st.one_of(_JSON_BYTES, st.text(max_size=30).map(lambda t: json.dumps(t).encode())))
def test_needs_care_scan_matches_a_tokenizer(data: bytes) -> None:
    assert json_needs_care(np.frombuffer(data, dtype=np.uint8)) == _needs_care_by_tokens(data)


def test_batches_keep_the_order_of_runs_and_single_documents(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(b"".join(f'{{"text": "line {i} of a"}}\n'.encode() for i in range(5)))
    (tmp_path / "b.txt").write_text("a text file between the runs")
    (tmp_path / "c.jsonl").write_bytes(b"".join(f'{{"text": "line {i} of c"}}\n'.encode() for i in range(5)))
    stats = ReadStats()
    items = list(read_runs([tmp_path], ReadOptions(), stats))
    assert [type(item).__name__ for item in items] == ["DocumentFrame", "Document", "DocumentFrame"]
    assert all(isinstance(item.frame, object) for item in items if isinstance(item, DocumentFrame))
    expected = [d.text for d in read_documents([tmp_path], ReadOptions(), ReadStats())]
    for batch_chars in (1, 20, 10**6):
        frames = list(batches(iter(items), batch_chars))
        assert [t for f in frames for t in f["text"]] == expected
        assert all(sum(map(len, f["text"])) >= batch_chars for f in frames[:-1])
    assert stats.documents == 11
