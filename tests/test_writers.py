"""Writers: each format's cleaned copy keeps everything but the cleaned text."""

from __future__ import annotations

import codecs
import csv
import gzip
import html
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import dedup
from dedup import schema as S
from dedup.clean import restore
from dedup.cli import app
from dedup.errors import InputError, OutputError
from dedup.formats.detect import compression_of, decompress
from dedup.formats.html import read_page
from dedup.formats.tables import ENCODING_SAMPLE_BYTES
from dedup.options import ReadOptions
from dedup.sources import Document, ReadStats, read_documents
from dedup.writers import CleanedDocument, write_jsonl, write_parquet, write_text, write_warc, writer_for
from dedup.writers.jsonl import _item_spans, _json_kind
from tests.builders import (
    COMPRESSIONS,
    csv_records,
    jsonl_records,
    peak_python_bytes,
    warc_responses,
    with_content_length,
)
from tests.corpora import build


def document(doc_id: str, text: str, source: Path, line: int = 1) -> Document:
    return Document(doc_id, text, str(source), line)


def test_writers_by_suffix() -> None:
    assert writer_for(Path("a/page.TXT")).write is write_text
    assert writer_for(Path("a/page.md")).suffix is None
    assert writer_for(Path("notes.log")).suffix is None  # named on purpose and read as text: keeps its name
    assert writer_for(Path("crawl.ndjson")).write is write_jsonl
    assert writer_for(Path("crawl.parquet")).write is write_parquet


def test_text_writer_writes_the_cleaned_text_in_the_input_encoding(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_bytes("Grüße\r\nzwei".encode("latin-1"))
    target = tmp_path / "out.txt"
    written = write_text(
        source,
        target,
        [CleanedDocument(document("in.txt", "Grüße\r\nzwei", source), "Grüße\r\n")],
        ReadOptions(encoding="latin-1"),
    )
    assert written == 1 and target.read_bytes() == "Grüße\r\n".encode("latin-1")
    assert (
        write_text(
            source, tmp_path / "none.txt", [CleanedDocument(document("in.txt", "x", source), None)], ReadOptions()
        )
        == 0
    )
    assert not (tmp_path / "none.txt").exists()
    with pytest.raises(OutputError, match="cannot encode the text as ascii"):
        write_text(
            source, target, [CleanedDocument(document("in.txt", "x", source), "Grüße")], ReadOptions(encoding="ascii")
        )
    two = [CleanedDocument(document("a", "x", source), "x")] * 2
    with pytest.raises(OutputError, match=r"in\.txt: holds 2 documents and there is no writer for \.txt files"):
        write_text(source, target, two, ReadOptions())


def test_jsonl_writer_refuses_a_record_that_changed_since_the_scan(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "text": "now different"}) + "\n", encoding="utf-8")
    scanned = [CleanedDocument(document("a", "as scanned", source), "as")]
    with pytest.raises(InputError, match=r"in\.jsonl:1: changed since it was scanned; run clean again"):
        write_jsonl(source, tmp_path / "out.jsonl", scanned, ReadOptions())
    missing = [CleanedDocument(document("a", "now different", source, 5), "x")]
    with pytest.raises(InputError, match=r"in\.jsonl:5: changed since it was scanned"):
        write_jsonl(source, tmp_path / "out.jsonl", missing, ReadOptions())


def test_parquet_writer_replaces_the_text_column_and_keeps_the_rest(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": ["a", "b", "c", "d"],
            "text": ["one\ntwo", "three", "four", None],
            "score": pa.array([0.5, 1.5, None, 2.0], type=pa.float32()),
            "tags": [["x"], [], ["y", "z"], None],
        }
    ).replace_schema_metadata({"origin": "crawler 7"})
    source = tmp_path / "in.parquet"
    pq.write_table(table, source, row_group_size=2)
    documents = [
        CleanedDocument(document("a", "one\ntwo", source, 1), "one"),
        CleanedDocument(document("b", "three", source, 2), None),
        CleanedDocument(document("c", "four", source, 3), "four"),
    ]
    target = tmp_path / "out.parquet"
    assert write_parquet(source, target, documents, ReadOptions()) == 2
    written = pq.read_table(target)
    assert written.schema == table.schema and written.schema.metadata == table.schema.metadata
    assert written.to_pylist() == [
        {"id": "a", "text": "one", "score": 0.5, "tags": ["x"]},
        {"id": "c", "text": "four", "score": None, "tags": ["y", "z"]},
    ]
    changed = [CleanedDocument(document("b", "not what the file holds", source, 2), "x")]
    with pytest.raises(InputError, match=r"in\.parquet, row 2: changed since it was scanned"):
        write_parquet(source, tmp_path / "again.parquet", changed, ReadOptions())


# --- every format and compression, end to end --------------------------------------------------------------------

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {"": lambda data: data, **COMPRESSIONS}
MAGIC = {"": None, ".gz": "gzip", ".zst": "zstd", ".xz": "xz", ".bz2": "bz2"}


def decompressed(path: Path) -> bytes:
    with path.open("rb") as raw:
        compression = compression_of(raw.read(16))
    with decompress(path.open("rb"), compression) as stream:
        return stream.read()


def rows_of(seed: int) -> list[dict]:
    """Records with fields of several kinds around the text, from a corpus whose repeats are known."""
    return [
        {"id": doc_id, "url": f"https://example.org/{doc_id}?q=ä&n={number}", "text": text, "fetched": number * 7}
        for number, (doc_id, text) in enumerate(build(seed=seed, n_docs=16).texts.items())
    ]


def page_of(text: str) -> str:
    """A page whose extracted text is ``text`` (lines become paragraphs), with markup around and inside them."""
    paragraphs = "\n".join(
        f"<p>{html.escape(line)}</p>" if i % 3 else f'<p class="x">{_emphasized(line)}</p>'
        for i, line in enumerate(text.split("\n"))
        if line.strip()
    )
    return f"<!DOCTYPE html>\n<html><head><title>t</title></head>\n<body>\n{paragraphs}\n</body></html>\n"


def _emphasized(line: str) -> str:
    words = html.escape(line).split(" ")
    return " ".join(f"<b>{word}</b>" if i == 1 else word for i, word in enumerate(words))


def warc_of(rows: list[dict], html_pages: bool = True) -> bytes:
    """A crawl: a warcinfo record, then for each row a request and an HTML (or, for every third, text) response."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=False)
    writer.write_record(writer.create_warcinfo_record("crawl.warc", {"software": "test crawler"}))
    for number, row in enumerate(rows):
        uri = row["url"]
        request = StatusAndHeaders("GET / HTTP/1.1", [("Host", "example.org")], is_http_request=True)
        writer.write_record(writer.create_warc_record(uri, "request", http_headers=request))
        as_html = html_pages and number % 3 != 2
        body = (page_of(row["text"]) if as_html else row["text"]).encode()
        kind = "text/html; charset=utf-8" if as_html else "text/plain; charset=utf-8"
        http = StatusAndHeaders("200 OK", [("Content-Type", kind), ("Content-Length", str(len(body)))], "HTTP/1.1")
        record = writer.create_warc_record(
            uri, "response", payload=io.BytesIO(body), length=len(body), http_headers=http
        )
        writer.write_record(record)
    return out.getvalue()


def delimited_of(rows: list[dict], delimiter: str) -> bytes:
    out = io.StringIO(newline="")
    table = csv.writer(out, delimiter=delimiter, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    table.writerow(["id", "url", "text", "fetched"])  # the text between other columns
    table.writerows([[row["id"], row["url"], row["text"], row["fetched"]] for row in rows])
    return out.getvalue().encode()


def parquet_of(rows: list[dict]) -> bytes:
    out = io.BytesIO()
    table = pa.Table.from_pylist(rows).replace_schema_metadata({"origin": "crawler 7"})
    pq.write_table(table, out, row_group_size=5)
    return out.getvalue()


FORMATS: dict[str, Callable[[list[dict]], bytes]] = {
    ".jsonl": lambda rows: "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode(),
    ".json": lambda rows: json.dumps(rows, ensure_ascii=False, indent=2).encode(),
    ".csv": lambda rows: delimited_of(rows, ","),
    ".tsv": lambda rows: delimited_of(rows, "\t"),
    ".parquet": parquet_of,
    ".warc": warc_of,
}


def read_all(path: Path) -> dict[str, str]:
    """The documents dedup reads from a file: id -> text."""
    return {d.doc_id: d.text for d in read_documents([path], ReadOptions(), ReadStats())}


@pytest.mark.parametrize("compression", list(COMPRESSORS))
@pytest.mark.parametrize("suffix", list(FORMATS))
def test_clean_writes_each_format_in_its_own_format_and_compression(
    suffix: str, compression: str, tmp_path: Path
) -> None:
    rows = rows_of(seed=11)
    source = tmp_path / "in" / f"crawl{suffix}{compression}"
    source.parent.mkdir()
    source.write_bytes(COMPRESSORS[compression](FORMATS[suffix](rows)))
    originals = read_all(source)
    result = dedup.clean([source], tmp_path / "out")
    target = tmp_path / "out" / source.name
    assert [p.name for p in (tmp_path / "out").iterdir()] == [source.name]
    with target.open("rb") as handle:
        assert compression_of(handle.read(16)) == MAGIC[compression]
    assert result.stats.blocks_removed > 0
    assert all(skip.expected for skip in result.scan.stats.skips)  # WARC requests and warcinfo
    # Scanned again, the output holds no repeat that clean cuts.
    rescan = dedup.scan([target])
    assert rescan.clusters.filter(~pl.col(S.SHORT)).height == 0
    # The audit table gives back every original text.
    cleaned = read_all(target)
    audit = pl.read_parquet(result.removed)
    for doc_id, original in originals.items():
        cuts = audit.filter(pl.col(S.DOC_ID) == doc_id).select(S.CUT_START, S.REMOVED).rows()
        assert restore(cleaned.get(doc_id, ""), cuts) == original, doc_id
    KEPT[suffix](rows, decompressed(source), decompressed(target))


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_clean_leaves_the_programs_csv_cell_limit_as_it_was(suffix: str, tmp_path: Path) -> None:
    """csv's field size limit is one for the process: readers raise it while they read, in several threads at
    once (a clean's writer reads the file again while the scan reads it), and then give the program's back."""
    source = tmp_path / f"crawl{suffix}"
    source.write_bytes(FORMATS[suffix](rows_of(seed=11)))
    programs = csv.field_size_limit(50_000)
    try:
        dedup.clean([source], tmp_path / "out")
        assert csv.field_size_limit() == 50_000
    finally:
        csv.field_size_limit(programs)


def kept_jsonl(rows: list[dict], before: bytes, after: bytes) -> None:
    """Every record keeps its other fields, their order and values; an unchanged record its bytes."""
    in_lines, out_lines = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(out_lines) == len(in_lines)
    changed = 0
    for raw_in, raw_out in zip(in_lines, out_lines, strict=True):
        record_in, record_out = json.loads(raw_in), json.loads(raw_out)
        assert list(record_out) == list(record_in)
        assert {**record_out, "text": None} == {**record_in, "text": None}
        if record_out["text"] == record_in["text"]:
            assert raw_out == raw_in
        changed += record_out["text"] != record_in["text"]
    assert changed


def kept_json(rows: list[dict], before: bytes, after: bytes) -> None:
    """The array keeps its items' other fields, and an unchanged item its text as it was indented."""
    items_in, items_out = json.loads(before), json.loads(after)
    assert len(items_out) == len(items_in) and after.startswith(b"[\n  {") and after.endswith(b"}\n]")
    for item_in, item_out in zip(items_in, items_out, strict=True):
        assert list(item_out) == list(item_in) and {**item_out, "text": None} == {**item_in, "text": None}
        if item_out["text"] == item_in["text"]:
            indented = json.dumps(item_in, ensure_ascii=False, indent=2).replace("\n", "\n  ")
            assert indented.encode() in after
    assert any(a["text"] != b["text"] for a, b in zip(items_in, items_out, strict=True))


def kept_delimited(delimiter: str) -> Callable[[list[dict], bytes, bytes], None]:
    def kept(rows: list[dict], before: bytes, after: bytes) -> None:
        """Byte for byte the file the rows with their cleaned texts make: quoting, line ends, other fields."""
        texts = [row[2] for row in list(csv.reader(io.StringIO(after.decode(), newline=""), delimiter=delimiter))[1:]]
        assert after == delimited_of([{**row, "text": text} for row, text in zip(rows, texts, strict=True)], delimiter)
        assert texts != [row["text"] for row in rows]

    return kept


def kept_parquet(rows: list[dict], before: bytes, after: bytes) -> None:
    table_in, table_out = pq.read_table(pa.BufferReader(before)), pq.read_table(pa.BufferReader(after))
    assert table_out.schema == table_in.schema and table_out.schema.metadata == table_in.schema.metadata
    assert table_out.drop(["text"]).equals(table_in.drop(["text"]))
    assert not table_out.column("text").equals(table_in.column("text"))


def warc_records(data: bytes) -> list[tuple[str, list[tuple[str, str]], StatusAndHeaders | None, bytes]]:
    """Each record's type, WARC headers, HTTP headers and body, its digests checked by warcio."""
    records = []
    for record in ArchiveIterator(io.BytesIO(data), check_digests="raise"):
        body = record.content_stream().read()
        records.append((record.rec_type, record.rec_headers.headers, record.http_headers, body))
    return records


def kept_warc(rows: list[dict], before: bytes, after: bytes) -> None:
    """The same records in the same order, with valid digests; only cleaned responses differ, in their body,
    their lengths and their digests."""
    records_in, records_out = warc_records(before), warc_records(after)
    assert [r[0] for r in records_out] == [r[0] for r in records_in]
    variable = {"Content-Length", "WARC-Block-Digest", "WARC-Payload-Digest"}
    cleaned = pages = 0
    for (kind, headers_in, http_in, body_in), (_, headers_out, http_out, body_out) in zip(
        records_in, records_out, strict=True
    ):
        if kind != "response" or body_in == body_out:
            assert (headers_out, body_out) == (headers_in, body_in)
            assert (http_out and http_out.headers) == (http_in and http_in.headers)
            continue
        cleaned += 1
        assert [h for h in headers_out if h[0] not in variable] == [h for h in headers_in if h[0] not in variable]
        assert http_in is not None and http_out is not None and http_out.statusline == http_in.statusline
        assert [h for h in http_out.headers if h[0] != "Content-Length"] == [
            h for h in http_in.headers if h[0] != "Content-Length"
        ]
        assert http_out.get_header("Content-Length") == str(len(body_out))
        assert body_out.startswith(b"<!DOCTYPE html>") == body_in.startswith(b"<!DOCTYPE html>")
        pages += body_in.startswith(b"<!DOCTYPE html>")
    assert cleaned > pages > 0  # pages and text bodies both cleaned


KEPT: dict[str, Callable[[list[dict], bytes, bytes], None]] = {
    ".jsonl": kept_jsonl,
    ".json": kept_json,
    ".csv": kept_delimited(","),
    ".tsv": kept_delimited("\t"),
    ".parquet": kept_parquet,
    ".warc": kept_warc,
}


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".parquet"])
def test_a_field_that_holds_a_page_is_cleaned_as_a_page(suffix: str, tmp_path: Path) -> None:
    """The page loses its cut blocks and stays a page; read again, it gives the cleaned text."""
    rows = [{**row, "text": page_of(row["text"])} for row in rows_of(seed=3)]
    source = tmp_path / "in" / f"h1{suffix}"
    source.parent.mkdir()
    source.write_bytes(FORMATS[suffix](rows))
    originals = read_all(source)
    result = dedup.clean([source], tmp_path / "out")
    target = tmp_path / "out" / source.name
    assert result.stats.blocks_removed > 0
    pages = {row["id"]: row["text"] for row in _rows_back(target, suffix)}
    assert all(page.startswith("<!DOCTYPE html>\n<html><head><title>t</title></head>") for page in pages.values())
    assert sum(pages[row["id"]] != row["text"] for row in rows) > 0
    assert dedup.scan([target]).clusters.filter(~pl.col(S.SHORT)).height == 0
    cleaned = read_all(target)
    audit = pl.read_parquet(result.removed)
    for doc_id, original in originals.items():
        cuts = audit.filter(pl.col(S.DOC_ID) == doc_id).select(S.CUT_START, S.REMOVED).rows()
        assert restore(cleaned.get(doc_id, ""), cuts) == original, doc_id


def _rows_back(path: Path, suffix: str) -> list[dict]:
    data = path.read_bytes()
    if suffix == ".jsonl":
        return [json.loads(line) for line in data.splitlines()]
    if suffix == ".json":
        return json.loads(data)
    if suffix == ".csv":
        return list(csv.DictReader(io.StringIO(data.decode(), newline="")))
    return pq.read_table(pa.BufferReader(data)).to_pylist()


def test_cli_clean_of_records_holding_pages_succeeds(tmp_path: Path) -> None:
    """The case of issue 15: it failed with 'changed since it was scanned' every time."""
    rows = [{**row, "text": page_of(row["text"])} for row in rows_of(seed=4)]
    source = tmp_path / "h1.jsonl"
    source.write_bytes(FORMATS[".jsonl"](rows))
    outcome = CliRunner().invoke(app, ["clean", str(source), "--out", str(tmp_path / "c")])
    assert outcome.exit_code == 0, outcome.output
    assert "changed since it was scanned" not in outcome.output
    assert (tmp_path / "c" / "h1.jsonl").read_bytes() != source.read_bytes()


WHERE = {
    ".jsonl": ":{}",
    ".json": ", item {}",
    ".csv": ":{}",
    ".tsv": ":{}",
    ".parquet": ", row {}",
    ".warc": ", record {}",
}


@pytest.mark.parametrize("compression", ["", ".gz"])
@pytest.mark.parametrize("suffix", list(FORMATS))
def test_a_record_changed_since_the_scan_is_named_and_nothing_is_applied_to_it(
    suffix: str, compression: str, tmp_path: Path
) -> None:
    rows = rows_of(seed=8)
    source = tmp_path / f"crawl{suffix}{compression}"
    source.write_bytes(COMPRESSORS[compression](FORMATS[suffix](rows)))
    documents = list(read_documents([source], ReadOptions(), ReadStats()))
    cleaned = [CleanedDocument(d, d.text) for d in documents]
    edited = [dict(row) for row in rows]
    edited[3]["text"] = edited[3]["text"].replace(" ", "  ", 1) + " and one more word"
    source.write_bytes(COMPRESSORS[compression](FORMATS[suffix](edited)))
    where = WHERE[suffix].format(documents[3].source_line)
    with pytest.raises(InputError, match=re.escape(f"{source}{where}: changed since it was scanned; run clean again")):
        writer_for(source).write(source, tmp_path / "out", cleaned, ReadOptions())


def test_a_page_field_whose_markup_changed_but_not_its_text_is_still_the_record_scanned(tmp_path: Path) -> None:
    rows = [{**row, "text": page_of(row["text"])} for row in rows_of(seed=8)]
    source = tmp_path / "h1.jsonl"
    source.write_bytes(FORMATS[".jsonl"](rows))
    documents = list(read_documents([source], ReadOptions(), ReadStats()))
    restyled = [{**row, "text": row["text"].replace("<p>", '<p style="color: red">')} for row in rows]
    source.write_bytes(FORMATS[".jsonl"](restyled))
    unchanged = [CleanedDocument(d, d.text) for d in documents]
    assert write_jsonl(source, tmp_path / "out.jsonl", unchanged, ReadOptions()) == len(rows)
    assert (tmp_path / "out.jsonl").read_bytes() == source.read_bytes()


def _headerless(data: bytes, starts: list[int]) -> bytes:
    return data[: starts[2]] + b"WARC/1.0\r\nnot a header\r\n\r\n" + data[starts[2] :]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_headerless, "record 3: warcio cannot read it (no WARC-Type or Content-Length)"),
        (lambda data, starts: with_content_length(data, starts[1], b"20"), "record 3: warcio cannot read it"),
        (lambda data, starts: with_content_length(data, starts[1], b"99999"), "record 2: cut off"),
    ],
)
def test_a_warc_that_warcio_cannot_read_whole_is_an_error_naming_the_record(
    damage: Callable[[bytes, list[int]], bytes], message: str, tmp_path: Path
) -> None:
    data, starts = warc_responses(4)
    source = tmp_path / "crawl.warc"
    source.write_bytes(damage(data, starts))
    documents = list(read_documents([source], ReadOptions(), ReadStats()))
    assert len(documents) >= 3  # the reader passes over the damage
    cleaned = [CleanedDocument(d, d.text) for d in documents]
    with pytest.raises(OutputError, match=re.escape(f"{source}, {message}")):
        write_warc(source, tmp_path / "out.warc", cleaned, ReadOptions())


def _big_warc() -> bytes:
    return warc_of([{"url": f"https://x/{i}", "text": "w " * 1000} for i in range(3000)], html_pages=False)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("big.jsonl.zst", lambda: COMPRESSORS[".zst"](jsonl_records(12000))),
        ("big.csv.gz", lambda: COMPRESSORS[".gz"](csv_records(36000, words=60))),
        ("big.warc.gz", lambda: COMPRESSORS[".gz"](_big_warc())),
    ],
)
def test_writers_hold_one_record_at_a_time(name: str, data: Callable[[], bytes], tmp_path: Path) -> None:
    """Writing a cleaned copy of several megabytes takes memory of a few records, not of the file.

    CSV is read in the encoding of its first megabytes (``ENCODING_SAMPLE_BYTES``), once, whatever its size.
    """
    source = tmp_path / name
    source.write_bytes(data())
    read = read_documents([source], ReadOptions(), ReadStats())
    documents = [CleanedDocument(d, d.text[: len(d.text) // 2]) for d in read]
    bound = 600_000 + (int(2.2 * ENCODING_SAMPLE_BYTES) if ".csv" in name else 0)
    size = len(decompressed(source))
    assert size > 1.5 * bound
    write = writer_for(source).write
    written, peak = peak_python_bytes(lambda: write(source, tmp_path / "out", documents, ReadOptions()))
    assert written == len(documents)
    assert peak < bound, f"{peak:,} bytes at the peak for {size:,} bytes of input"


def _chunked(data: bytes) -> bytes:
    half = len(data) // 2
    return (
        b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (data[:half], data[half:])) + b"0\r\n\r\n"
    )


def test_a_chunked_gzip_response_in_a_legacy_charset_is_cleaned_in_its_charset_and_encoding(tmp_path: Path) -> None:
    shared = (
        "Ein Absatz über Größe und Maß, der auf beiden Seiten steht und lang genug ist, um eine Wiederholung zu sein."
    )
    texts = [f"Erste Seite mit eigenem Anfang, Müller.\n{shared}", f"Zweite Seite, ganz anders, Straße.\n{shared}"]
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    for number, text in enumerate(texts):
        body = _chunked(gzip.compress(page_of(text).encode("cp1252")))
        http = StatusAndHeaders(
            "200 OK",
            [
                ("Content-Type", "text/html; charset=windows-1252"),
                ("Transfer-Encoding", "chunked"),
                ("Content-Encoding", "gzip"),
                ("X-Kept", f"header {number}"),
            ],
            "HTTP/1.1",
        )
        uri = f"https://example.org/{number}"
        writer.write_record(
            writer.create_warc_record(uri, "response", payload=io.BytesIO(body), length=len(body), http_headers=http)
        )
    source = tmp_path / "crawl.warc.gz"
    source.write_bytes(out.getvalue())
    originals = read_all(source)
    result = dedup.clean([source], tmp_path / "out")
    assert result.stats.blocks_removed == 1
    target = tmp_path / "out" / "crawl.warc.gz"
    with target.open("rb") as handle:
        uris = [r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(handle, check_digests="raise")]
    assert uris == [
        "https://example.org/0",
        "https://example.org/1",
    ]
    cleaned = read_all(target)
    assert cleaned == {
        "https://example.org/0": originals["https://example.org/0"],
        "https://example.org/1": texts[1].split("\n")[0],
    }
    audit = pl.read_parquet(result.removed)
    cuts = audit.select(S.CUT_START, S.REMOVED).rows()
    assert restore(cleaned["https://example.org/1"], cuts) == originals["https://example.org/1"]
    with target.open("rb") as handle:
        http, body = [(r.http_headers, r.raw_stream.read()) for r in ArchiveIterator(handle)][1]
    assert http.get_header("Transfer-Encoding") is None and http.get_header("X-Kept") == "header 1"
    assert http.get_header("Content-Encoding") == "gzip"
    assert http.get_header("Content-Length") == str(len(body))
    page = gzip.decompress(body).decode("cp1252")
    assert page.startswith("<!DOCTYPE html>") and "ganz anders, Straße." in page and shared not in page


SHARED = "A shared paragraph that stands in both files and is long enough to be a repeat of real content here."


def test_json_files_in_every_shape_the_reader_takes(tmp_path: Path) -> None:
    """One object, JSON Lines named .json, and an array with items that are not documents (not written)."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.json").write_text(json.dumps({"text": f"Own opening of a.\n{SHARED}", "n": 1}), encoding="utf-8")
    (inputs / "b.json").write_text(
        json.dumps({"id": "b1", "text": f"Own opening of b.\n{SHARED}"})
        + "\n"
        + json.dumps({"id": "b2", "text": "x y"}),
        encoding="utf-8",
    )
    items = [7, {"id": "c1", "text": f"Own opening of c.\n{SHARED}", "k": [1]}, {"id": "c2"}, {"id": "c3", "text": "z"}]
    (inputs / "c.json").write_text(json.dumps(items, indent=1), encoding="utf-8")
    result = dedup.clean([inputs], tmp_path / "out")
    assert result.stats.blocks_removed == 2
    assert json.loads((tmp_path / "out" / "a.json").read_text("utf-8")) == {
        "text": f"Own opening of a.\n{SHARED}",
        "n": 1,
    }
    b_lines = (tmp_path / "out" / "b.json").read_text("utf-8").splitlines()
    assert [json.loads(line) for line in b_lines] == [
        {"id": "b1", "text": "Own opening of b."},
        {"id": "b2", "text": "x y"},
    ]
    c_text = (tmp_path / "out" / "c.json").read_text("utf-8")
    assert json.loads(c_text) == [{"id": "c1", "text": "Own opening of c.", "k": [1]}, {"id": "c3", "text": "z"}]
    assert c_text.startswith("[\n {") and c_text.endswith('{\n  "id": "c3",\n  "text": "z"\n }\n]')


def test_csv_quirks_the_reader_takes(tmp_path: Path) -> None:
    """A byte order mark, CRLF rows, quoted line breaks, a blank line and a bad row: the documents' rows are
    written with the mark and every other byte as they were; the blank line and the bad row are not."""
    rows = [
        "id,text,note\r\n",
        f'1,"Own opening of one.\r\n{SHARED}",  spaced  \r\n',
        "\r\n",
        '2,"a bad row",with,too many\r\n',
        f'3,"Own ""quoted"" opening of three.\n{SHARED}","x, y"\r\n',
    ]
    source = tmp_path / "t.csv"
    source.write_bytes(codecs.BOM_UTF8 + "".join(rows).encode())
    result = dedup.clean([source], tmp_path / "out")
    assert [s.reason for s in result.scan.stats.skips] == ["malformed CSV"] and result.stats.blocks_removed == 1
    expected = [rows[0], rows[1], '3,"Own ""quoted"" opening of three.","x, y"\r\n']
    assert (tmp_path / "out" / "t.csv").read_bytes() == codecs.BOM_UTF8 + "".join(expected).encode()


def test_cli_clean_of_a_compressed_jsonl_writes_it_compressed(tmp_path: Path) -> None:
    """The case of issue 15: 'holds 42 documents and there is no writer for .gz files'."""
    source = tmp_path / "pages.jsonl.gz"
    source.write_bytes(COMPRESSORS[".gz"](FORMATS[".jsonl"](rows_of(seed=2))))
    outcome = CliRunner().invoke(app, ["clean", str(source), "--out", str(tmp_path / "c")])
    assert outcome.exit_code == 0, outcome.output
    with (tmp_path / "c" / "pages.jsonl.gz").open("rb") as handle:
        assert compression_of(handle.read(16)) == "gzip"
    assert len(read_all(tmp_path / "c" / "pages.jsonl.gz")) == len(rows_of(seed=2))


def test_a_compressed_page_stays_a_compressed_page_without_the_cut_paragraph(tmp_path: Path) -> None:
    inputs = tmp_path / "site"
    inputs.mkdir()
    pages = {name: page_of(f"Page {name} begins here.\n{SHARED}") for name in ("a", "b")}
    for name, page in pages.items():
        (inputs / f"{name}.html.gz").write_bytes(COMPRESSORS[".gz"](page.encode()))
    dedup.clean([inputs], tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.html.gz", "b.html.gz"]
    assert decompressed(tmp_path / "out" / "a.html.gz") == pages["a"].encode()  # the kept copy, byte for byte
    cleaned = decompressed(tmp_path / "out" / "b.html.gz").decode()
    assert cleaned.startswith("<!DOCTYPE html>") and read_page(cleaned).text == "Page b begins here."


def _reader_kind(text: str) -> type:
    """What ``formats.jsonl.read_json`` takes a text for: the type of its one JSON value, else lines (``str``)."""
    try:
        return type(json.loads(text, strict=False))
    except (json.JSONDecodeError, RecursionError):
        return str


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


@given(
    value=JSON_VALUES,
    space=st.sampled_from(["", " ", "\n", " \r\n\t"]),
    tail=st.sampled_from(["", ",", "]", "[]", "x", "\n{}"]),
)
def test_the_writer_takes_a_json_text_for_what_the_reader_takes_it(value: object, space: str, tail: str) -> None:
    text = space + json.dumps(value, indent=1 if space else None) + space + tail
    kind = _json_kind(text)
    assert kind == _reader_kind(text) or (kind is str and _reader_kind(text) not in (list, dict))
    if kind is list:
        assert [item for _, _, item in _item_spans(text)] == json.loads(text)


def test_a_file_known_by_its_content_is_written_in_its_format(tmp_path: Path) -> None:
    """JSON Lines named without an extension, gzip-compressed or not: written as JSON Lines, under its name."""
    inputs = tmp_path / "dumps"
    inputs.mkdir()
    (inputs / "dump").write_bytes(FORMATS[".jsonl"](rows_of(seed=6)))
    (inputs / "other.gz").write_bytes(COMPRESSORS[".gz"](FORMATS[".jsonl"](rows_of(seed=7))))
    result = dedup.clean([tmp_path / "dumps" / "dump", tmp_path / "dumps" / "other.gz"], tmp_path / "out")
    assert result.stats.blocks_removed > 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dump", "other.gz"]
    kept_jsonl([], (inputs / "dump").read_bytes(), (tmp_path / "out" / "dump").read_bytes())
    assert [json.loads(line)["id"] for line in decompressed(tmp_path / "out" / "other.gz").splitlines()] == [
        row["id"] for row in rows_of(seed=7)
    ]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_a_utf16_or_utf32_jsonl_file_is_written_in_utf8(encoding: str, tmp_path: Path) -> None:
    rows = rows_of(seed=12)
    source = tmp_path / "wide.jsonl"
    source.write_bytes(FORMATS[".jsonl"](rows).decode().encode(encoding))
    originals = read_all(source)
    result = dedup.clean([source], tmp_path / "out")
    assert result.stats.blocks_removed > 0
    out_rows = [json.loads(line) for line in (tmp_path / "out" / "wide.jsonl").read_text("utf-8").splitlines()]
    assert [{**row, "text": None} for row in out_rows] == [{**row, "text": None} for row in rows]
    audit = pl.read_parquet(result.removed)
    for row in out_rows:
        cuts = audit.filter(pl.col(S.DOC_ID) == row["id"]).select(S.CUT_START, S.REMOVED).rows()
        assert restore(row["text"], cuts) == originals[row["id"]]
