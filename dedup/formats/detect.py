"""Which format a file is: compression and formats by magic bytes, text formats by their first bytes.

Extensions decide first (``dedup.sources``); what is here decides when they
cannot: a compressed file is recognized by its magic bytes whatever its name
(a crawler often saves a gzip body as ``.html``), and a file without a known
extension by what it starts with.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import zlib
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, cast

import zstandard

from dedup.formats.encoding import bom_encoding, looks_binary

COMPRESSION_SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bz2", ".xz": "xz"}
# Errors of a corrupt or cut-off compressed stream (gzip's and bz2's are OSError or EOFError).
DECOMPRESSION_ERRORS: tuple[type[Exception], ...] = (EOFError, zlib.error, lzma.LZMAError, zstandard.ZstdError)
_HEAD_ERRORS: tuple[type[Exception], ...] = (OSError, *DECOMPRESSION_ERRORS)
HEAD_BYTES = 65536

_BZ2_BLOCK = (b"1AY&SY", b"\x17rE8P\x90")  # first block, or end of stream of an empty file
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    # (offset, bytes, what): formats dedup does not read, named in the skip message.
    (0, b"\x89PNG\r\n\x1a\n", "PNG image"),
    (0, b"\xff\xd8\xff", "JPEG image"),
    (0, b"GIF87a", "GIF image"),
    (0, b"GIF89a", "GIF image"),
    (0, b"%PDF-", "PDF document"),
    (0, b"PK\x03\x04", "ZIP archive"),
    (0, b"PK\x05\x06", "ZIP archive"),
    (0, b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (0, b"Rar!\x1a\x07", "RAR archive"),
    (257, b"ustar", "tar archive"),
    (0, b"\x04\x22\x4d\x18", "LZ4 compressed data"),
    (0, b"\x7fELF", "ELF executable"),
    (0, b"OggS", "Ogg media"),
    (0, b"ID3", "MP3 audio"),
    (4, b"ftyp", "MP4/QuickTime media"),
    (0, b"wOFF", "WOFF font"),
    (0, b"wOF2", "WOFF2 font"),
    (0, b"SQLite format 3\x00", "SQLite database"),
    (0, b"\x00asm", "WebAssembly module"),
    (0, b"\xca\xfe\xba\xbe", "Java class or Mach-O binary"),
    (0, b"II*\x00", "TIFF image"),
    (0, b"MM\x00*", "TIFF image"),
    (0, b"\x00\x00\x01\x00", "ICO image"),
)


def compression_of(head: bytes) -> str | None:
    """The compression of a stream, by its magic bytes."""
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"BZh") and head[3:4].isdigit() and head[4:10] in _BZ2_BLOCK:
        return "bz2"
    return None


def decompress(raw: BinaryIO, compression: str | None) -> BinaryIO:
    """A stream of the decompressed bytes (``raw`` itself when not compressed); closing it closes ``raw``."""
    if compression is None:
        return raw
    if compression == "gzip":
        return cast(BinaryIO, _Closing(gzip.GzipFile(fileobj=raw, mode="rb"), raw))
    if compression == "bz2":
        return cast(BinaryIO, _Closing(bz2.BZ2File(raw, mode="rb"), raw))
    if compression == "xz":
        return cast(BinaryIO, _Closing(lzma.LZMAFile(raw, mode="rb"), raw))
    if compression == "zstd":
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=True)
        return cast(BinaryIO, io.BufferedReader(reader))  # buffered: zstandard's reader has no readline
    raise ValueError(f"unknown compression {compression!r}")


def decompressed_head(raw_head: bytes, compression: str) -> bytes:
    """What the first compressed bytes of a stream decompress to, as far as they go; never an error.

    A stream decompressor takes partial input, so a cut-off or corrupt file still shows its first bytes
    here (the reader reports the damage where it meets it).
    """
    parts: list[bytes] = []
    data = raw_head
    try:
        while data:
            decompressor = _DECOMPRESSORS[compression]()
            parts.append(decompressor.decompress(data))
            data = decompressor.unused_data if decompressor.eof else b""  # the next gzip member or zstd frame
    except _HEAD_ERRORS:
        pass
    return b"".join(parts)


_DECOMPRESSORS: dict[str, Callable[[], Any]] = {
    "gzip": lambda: zlib.decompressobj(wbits=31),
    "zstd": lambda: zstandard.ZstdDecompressor().decompressobj(),
    "bz2": bz2.BZ2Decompressor,
    "xz": lzma.LZMADecompressor,
}


class _Closing:
    """A decompressing stream that also closes the stream under it (gzip and bz2 leave it open)."""

    def __init__(self, stream: gzip.GzipFile | bz2.BZ2File | lzma.LZMAFile, raw: BinaryIO) -> None:
        self._stream, self._raw = stream, raw

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def readline(self, size: int = -1) -> bytes:
        return self._stream.readline(size)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._stream)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._stream.close()
        self._raw.close()

    def __enter__(self) -> _Closing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def binary_kind(head: bytes) -> str | None:
    """What a binary stream is ("PNG image", "binary data"), or None when it looks like text."""
    for offset, magic, what in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return what
    return "binary data" if looks_binary(head[:HEAD_BYTES]) else None


def sniff(head: bytes) -> str | None:
    """The suffix of the format a stream starts like (``.warc``, ``.parquet``, ``.html``, ``.json``, ``.txt``).

    None for binary data of no format dedup reads.
    """
    if head.startswith(b"WARC/"):
        return ".warc"
    if head.startswith(b"PAR1"):
        return ".parquet"
    if binary_kind(head) is not None:
        return None
    encoding = bom_encoding(head)
    start = head.decode(encoding or "latin-1", errors="replace").lstrip("\ufeff \t\r\n").lower()
    if start.startswith(("<!doctype html", "<html", "<head", "<body")) or (
        start.startswith(("<?xml", "<!--")) and "<html" in start[:4096]
    ):
        return ".html"
    if start.startswith("["):
        return ".json"
    if start.startswith("{"):
        return ".jsonl" if _is_json_object(start.split("\n", 1)[0]) else ".json"
    return ".txt"


def _is_json_object(line: str) -> bool:
    """A line that is one whole JSON object: the first line of JSON Lines (else a multi-line JSON file)."""
    try:
        return isinstance(json.loads(line, strict=False), dict)
    except json.JSONDecodeError:
        return False
