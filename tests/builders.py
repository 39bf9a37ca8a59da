"""Builders of input files for the reader tests: every compression, good records, damaged copies.

One place for them, so that the format tests, the hostile-input table and the fuzz harness build
their files the same way.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import re
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

T = TypeVar("T")

# Suffix -> compress function, for every compression dedup undoes.
COMPRESSIONS: dict[str, Callable[[bytes], bytes]] = {
    ".gz": gzip.compress,
    ".zst": lambda data: zstandard.ZstdCompressor().compress(data),
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
}


def jsonl_records(count: int, words: int = 40, prefix: str = "r") -> bytes:
    """``count`` JSON lines with ids ``<prefix>0``, ``<prefix>1``, ... and texts of ``words`` words, distinct."""
    lines = (
        json.dumps({"id": f"{prefix}{i}", "text": " ".join(f"record{i} word{j}" for j in range(words))}) + "\n"
        for i in range(count)
    )
    return "".join(lines).encode()


def csv_records(count: int, words: int = 40, prefix: str = "c") -> bytes:
    """A CSV file with a header row and ``count`` rows with ids ``<prefix>0``, ... (texts quoted, with commas)."""
    rows = (f'{prefix}{i},"row {i}, ' + " ".join(f"word{j}" for j in range(words)) + '"\n' for i in range(count))
    return ("id,text\n" + "".join(rows)).encode()


def gzip_bomb(path: Path, size: int, line: bytes = b"", tail: bytes = b"") -> None:
    """Write a gzip file of ``size`` bytes of ``bomb bomb ...`` between ``line`` and ``tail``, compressed as it goes.

    Nothing of ``size`` is ever in memory: a bomb of gigabytes is written from a megabyte buffer, and
    its text compresses about 1,000 to 1 as zeros do (without looking binary).
    """
    chunk = (b"bomb " * (1 << 18))[: 1 << 20]
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(line)
        for _ in range(size // len(chunk)):
            out.write(chunk)
        out.write(chunk[: size % len(chunk)])
        out.write(tail)


def peak_python_bytes(work: Callable[[], T]) -> tuple[T, int]:
    """What ``work`` returns, and the peak of memory Python allocated while it ran (tracemalloc)."""
    tracemalloc.start()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def warc_responses(count: int, gzip: bool = False, prefix: str = "https://x/") -> tuple[bytes, list[int]]:
    """A WARC file of ``count`` HTML responses (``<prefix>0``, ...), and where each record starts (and the end)."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gzip)
    starts = []
    for i in range(count):
        starts.append(out.tell())
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        body = f"<html><body><p>Page {i} of the crawl, with words of its own: {'lorem ' * i}</p></body></html>"
        record = writer.create_warc_record(
            f"{prefix}{i}", "response", payload=io.BytesIO(body.encode()), http_headers=http
        )
        writer.write_record(record)
        record.raw_stream.close()  # warcio may buffer a record in a temporary file it leaves open
    starts.append(out.tell())
    return out.getvalue(), starts


def with_content_length(data: bytes, start: int, length: bytes) -> bytes:
    """A WARC file with the Content-Length of the record at ``start`` replaced."""
    match = re.compile(rb"Content-Length: ([^\r\n]*)").search(data, start)
    assert match is not None, "no Content-Length after that start"
    return data[: match.start(1)] + length + data[match.end(1) :]


@dataclass(frozen=True)
class Seed:
    """A good file of one format, and its records in order.

    Attributes:
        name: the file name (its extension picks the reader).
        data: the bytes of the file.
        records: (doc id, text or None when not checked, offset where the record ends in ``data``).
        streamed: records are read in order as they come, so damage cannot undo the ones before it.
    """

    name: str
    data: bytes
    records: list[tuple[str, str | None, int]]
    streamed: bool = True


def _records(
    ids: list[str], texts: list[str | None], data: bytes, skip_lines: int = 0
) -> list[tuple[str, str | None, int]]:
    """The records of a line-per-record file: each ends after its line's newline."""
    ends = [i + 1 for i, byte in enumerate(data) if byte == 0x0A][skip_lines:]
    return list(zip(ids, texts, ends, strict=True))


def seed_files(count: int = 12) -> list[Seed]:
    """A good file of every format dedup reads, with ``count`` records where a format holds more than one."""
    texts: list[str | None] = [
        f"record {i}: " + " ".join(f"word{i}x{j}" for j in range(8 + i % 5)) for i in range(count)
    ]
    jsonl = "".join(json.dumps({"id": f"j{i}", "text": text}) + "\n" for i, text in enumerate(texts)).encode()
    csv_data = ("id,text\n" + "".join(f'c{i},"{text}, quoted"\n' for i, text in enumerate(texts))).encode()
    tsv_data = ("id\ttext\n" + "".join(f"t{i}\t{text}\n" for i, text in enumerate(texts))).encode()
    warc, starts = warc_responses(count)
    warc_gz, gz_starts = warc_responses(count, gzip=True, prefix="https://g/")
    parquet = io.BytesIO()
    pq.write_table(pa.table({"id": [f"p{i}" for i in range(count)], "text": texts}), parquet, row_group_size=4)
    page = "<!doctype html><html><body>" + "".join(f"<p>{text}</p>" for text in texts[:3]) + "</body></html>"
    first = str(texts[0])
    return [
        Seed("page.txt", first.encode(), [("page.txt", first, len(first))], streamed=False),
        Seed("page.html", page.encode(), [("page.html", None, len(page))], streamed=False),
        Seed("pages.jsonl", jsonl, _records([f"j{i}" for i in range(count)], texts, jsonl)),
        Seed("pages.json", json.dumps([{"id": f"a{i}", "text": t} for i, t in enumerate(texts)]).encode(), [], False),
        Seed(
            "rows.csv",
            csv_data,
            _records([f"c{i}" for i in range(count)], [f"{t}, quoted" for t in texts], csv_data, 1),
        ),
        Seed("rows.tsv", tsv_data, _records([f"t{i}" for i in range(count)], texts, tsv_data, 1)),
        Seed("rows.parquet", parquet.getvalue(), [], streamed=False),
        Seed("crawl.warc", warc, [(f"https://x/{i}", None, end) for i, end in enumerate(starts[1:])]),
        Seed("members.warc.gz", warc_gz, [(f"https://g/{i}", None, end) for i, end in enumerate(gz_starts[1:])]),
    ]
