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
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

import zstandard

from dedup.formats.encoding import bom_encoding, looks_binary

COMPRESSION_SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bz2", ".xz": "xz"}
# Errors of a corrupt or cut-off compressed stream (gzip's and bz2's are OSError or EOFError).
DECOMPRESSION_ERRORS: tuple[type[Exception], ...] = (EOFError, zlib.error, lzma.LZMAError, zstandard.ZstdError)
_HEAD_ERRORS: tuple[type[Exception], ...] = (OSError, *DECOMPRESSION_ERRORS)
HEAD_BYTES = 65536
# A file that is not compressed is read through a buffer this large: Python's default (8 KiB) made ``readline``
# over a JSON Lines file cost 3 ns per byte in system calls and in joining lines that straddle buffers; 1 MiB,
# a quarter. A decompressor reads its file in pieces of its own and keeps the default.
READ_BUFFER_BYTES = 1 << 20


def input_opener(path: Path, compression: str | None) -> Callable[[], BinaryIO]:
    """What opens a file of input for reading (the raw bytes, which ``decompress`` then undoes)."""
    buffering = READ_BUFFER_BYTES if compression is None else -1
    return lambda: path.open("rb", buffering=buffering)


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
    """A stream of the decompressed bytes (``raw`` itself when not compressed); closing it closes ``raw``.

    Data that stops before the end of its compressed stream (a cut file) raises ``EOFError`` when the
    reading reaches the cut, whatever the compression: the bytes before it are read, the rest never
    looks complete. Every read decompresses only as much as it returns (a decompression bomb costs
    memory only as far as it is read).
    """
    if compression is None:
        return raw
    if compression == "gzip":
        return cast(BinaryIO, _Closing(gzip.GzipFile(fileobj=raw, mode="rb"), raw))
    if compression == "bz2":
        return cast(BinaryIO, _Closing(bz2.BZ2File(raw, mode="rb"), raw))
    if compression == "xz":
        return cast(BinaryIO, _Closing(lzma.LZMAFile(raw, mode="rb"), raw))
    if compression == "zstd":
        return cast(BinaryIO, io.BufferedReader(_ZstdStream(raw)))  # buffered: for readline
    raise ValueError(f"unknown compression {compression!r}")


def compress(raw: BinaryIO, compression: str | None) -> BinaryIO:
    """A stream that writes ``compression``-compressed bytes into ``raw`` (``raw`` itself when None).

    Closing it ends the compressed stream and leaves ``raw`` open. A gzip header holds no file name
    and no time, so the same input always gives the same bytes.
    """
    if compression is None:
        return raw
    if compression == "gzip":
        return cast(BinaryIO, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0))
    if compression == "bz2":
        return cast(BinaryIO, bz2.BZ2File(raw, mode="wb"))
    if compression == "xz":
        return cast(BinaryIO, lzma.LZMAFile(raw, mode="wb"))
    if compression == "zstd":
        return cast(BinaryIO, zstandard.ZstdCompressor().stream_writer(raw, closefd=False))
    raise ValueError(f"unknown compression {compression!r}")


def decompressed_head(raw_head: bytes, compression: str, size: int = HEAD_BYTES) -> bytes:
    """What the first compressed bytes of a stream decompress to, as far as they go (at most ``size`` bytes).

    Never an error: a stream decompressor takes partial input, so a cut-off or corrupt file still
    shows its first bytes here (the reader reports the damage where it meets it).
    """
    if compression == "zstd":
        return _zstd_head(raw_head, size)
    parts: list[bytes] = []
    data, wanted = raw_head, size
    try:
        while data and wanted > 0:
            decompressor = _DECOMPRESSORS[compression]()
            parts.append(decompressor.decompress(data, wanted))
            wanted -= len(parts[-1])
            data = decompressor.unused_data if decompressor.eof else b""  # the next gzip member, bz2 or xz stream
    except _HEAD_ERRORS:
        pass
    return b"".join(parts)


def _zstd_head(raw_head: bytes, size: int) -> bytes:
    """``decompressed_head`` of zstd data: zstandard's decompressobj has no output bound, its reader has."""
    parts: list[bytes] = []
    reader = zstandard.ZstdDecompressor().stream_reader(raw_head, read_across_frames=True)
    wanted = size
    try:
        while wanted > 0 and (part := reader.read(min(wanted, _PIECE_BYTES))):
            parts.append(part)
            wanted -= len(part)
    except _HEAD_ERRORS:
        pass
    return b"".join(parts)


_PIECE_BYTES = 1 << 16
_DECOMPRESSORS: dict[str, Callable[[], Any]] = {
    "gzip": lambda: zlib.decompressobj(wbits=31),
    "bz2": bz2.BZ2Decompressor,
    "xz": lzma.LZMADecompressor,
}


class _ZstdStream(io.RawIOBase):
    """zstd decompression through zstandard's stream reader, which also knows where the data ends.

    The reader ends quietly when its input stops inside a frame, so a cut file would read as complete;
    here the compressed bytes it takes are followed through the frame structure (``_ZstdFrames``), and
    an end that is not between two frames raises ``EOFError``, as gzip, bz2 and xz do.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._frames = _ZstdFrames()
        followed = cast("IO[bytes]", _Followed(raw, self._frames))  # zstandard takes any object with read()
        self._reader = zstandard.ZstdDecompressor().stream_reader(followed, read_across_frames=True)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._reader.readinto(buffer)
        if count == 0 and not self._frames.between_frames:
            raise EOFError("Compressed file ended before the end-of-stream marker was reached")  # as gzip says it
        return count

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _Followed:
    """The compressed bytes as zstandard's reader takes them (it wants an object with ``read``), each followed."""

    def __init__(self, raw: BinaryIO, frames: _ZstdFrames) -> None:
        self._raw, self._frames = raw, frames

    def read(self, size: int) -> bytes:
        data = self._raw.read(size)
        self._frames.feed(data)
        return data


class _ZstdFrames:
    """Follows the frames of zstd data (RFC 8878) through their headers, to tell whether it ended between two.

    Only headers are parsed; the content of blocks is counted, not looked at. What is not a frame this
    knows stops the following (zstandard reports corrupt data itself).
    """

    _MAGIC = b"\x28\xb5\x2f\xfd"
    _DICTIONARY_ID_BYTES = (0, 1, 2, 4)
    _CONTENT_SIZE_BYTES = (0, 2, 4, 8)  # by the flag; flag 0 is 1 byte in a single-segment frame

    def __init__(self) -> None:
        self._step: Callable[[bytes], None] = self._magic
        self._wanted = 4  # bytes the step needs (a header's, or content's to pass over)
        self._held = b""  # the bytes of a header read so far
        self._passing = False  # the wanted bytes are content, counted and dropped
        self._checksum = False
        self._lost = False  # not a structure this follows

    @property
    def between_frames(self) -> bool:
        """Whether the data so far ends where a frame ends (or is nothing this can follow)."""
        return self._lost or (self._step == self._magic and not self._held)

    def feed(self, data: bytes) -> None:
        position = 0
        while position < len(data) and not self._lost:
            taken = min(self._wanted, len(data) - position)
            if not self._passing:
                self._held += data[position : position + taken]
            position += taken
            self._wanted -= taken
            if self._wanted == 0:
                header, self._held = self._held, b""
                self._step(header)

    def _expect(self, step: Callable[[bytes], None], count: int, passing: bool = False) -> None:
        self._step, self._wanted, self._passing = step, count, passing
        if count == 0:
            step(b"")

    def _magic(self, header: bytes) -> None:
        if header == self._MAGIC:
            self._expect(self._descriptor, 1)
        elif header[1:] == b"\x2a\x4d\x18" and header[0] & 0xF0 == 0x50:  # a skippable frame
            self._expect(self._skippable, 4)
        else:
            self._lost = True

    def _skippable(self, header: bytes) -> None:
        self._expect(self._magic_next, int.from_bytes(header, "little"), passing=True)

    def _magic_next(self, _: bytes) -> None:
        self._expect(self._magic, 4)

    def _descriptor(self, header: bytes) -> None:
        flags = header[0]
        single_segment = bool(flags & 0x20)
        self._checksum = bool(flags & 0x04)
        content_size = self._CONTENT_SIZE_BYTES[flags >> 6] or (1 if single_segment else 0)
        rest = (0 if single_segment else 1) + self._DICTIONARY_ID_BYTES[flags & 0x03] + content_size
        self._expect(self._block_next, rest, passing=True)

    def _block_next(self, _: bytes) -> None:
        self._expect(self._block, 3)

    def _block(self, header: bytes) -> None:
        value = int.from_bytes(header, "little")
        last, kind, size = value & 1, (value >> 1) & 3, value >> 3
        if kind == 3:  # reserved
            self._lost = True
            return
        after = self._frame_end if last else self._block_next
        self._expect(after, 1 if kind == 1 else size, passing=True)  # an RLE block holds one byte

    def _frame_end(self, _: bytes) -> None:
        self._expect(self._magic_next, 4 if self._checksum else 0, passing=True)


class _Closing:
    """A decompressing stream that also closes the stream under it (gzip and bz2 leave it open)."""

    def __init__(self, stream: gzip.GzipFile | bz2.BZ2File | lzma.LZMAFile, raw: BinaryIO) -> None:
        self._stream, self._raw = stream, raw

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def read1(self, size: int = -1) -> bytes:
        return self._stream.read1(size)

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
    except (json.JSONDecodeError, RecursionError):  # RecursionError: nested too deep for json (the reader says so)
        return False
