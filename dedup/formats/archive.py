"""The bytes of a WARC file as its records are framed: decompressed, positioned, rewound and resynchronized.

A WARC reader has to survive what a damaged crawl holds: a record whose
``Content-Length`` is wrong, bytes that are no record, a gzip member that does
not decompress. ``Archive`` gives it the (decompressed) bytes with what that
takes: the position of every byte, lines of bounded length, a way back to an
earlier position (where a record was found inside a block that claimed too
much), a way forward to the next line that starts a record, and, in a
``.warc.gz``, a way past a damaged member to the next one, since each record
of a WARC file is its own gzip member.
"""

from __future__ import annotations

import re
import zlib
from typing import BinaryIO, Protocol, cast

from dedup.formats.detect import DECOMPRESSION_ERRORS
from dedup.formats.records import Input, error_text

# The first line of a record (the WARC versions in use), and one where a record may start inside a block.
RECORD_LINE = re.compile(rb"WARC/(?:1\.[01]|0\.1[78])\r?\n")
_RECORD_AFTER_LINE = re.compile(rb"\nWARC/(?:1\.[01]|0\.1[78])\r?\n")
_OVERLAP = 16  # bytes kept between two chunks searched, so that a pattern across them is found
_CHUNK_BYTES = 1 << 16
_GZIP_MEMBER = b"\x1f\x8b\x08"
# Rewinding a compressed stream decompresses again from an earlier point; a file of damaged records
# could make that quadratic. What is decompressed again stays within this plus a share of the file.
_REREAD_FREE_BYTES = 64 << 20
_REREAD_SHARE = 4


class _Stream(Protocol):
    """What the archive reads from: a file, or a decompressing stream over one."""

    def read1(self, size: int = ..., /) -> bytes: ...

    def seek(self, offset: int, whence: int = ..., /) -> int: ...

    def close(self) -> None: ...


class Damaged(Exception):
    """The compressed data of the archive is corrupt where it was read (``skip_damage`` may go on after it)."""


class Archive:
    """The decompressed bytes of a WARC file, read forward, with positions, rewinds and resynchronization.

    Reads raise ``EOFError`` where compressed data is cut off and ``Damaged`` where it is corrupt;
    ``OSError`` when the file cannot be read.
    """

    def __init__(self, source: Input) -> None:
        self._source = source
        self._stream = _open(source)
        self._buffer = b""
        self._start = 0  # where the unread bytes start in the buffer
        self.position = 0  # the position (in decompressed bytes) of the first unread byte
        self._furthest = 0
        self._reread = 0

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fill(self) -> bool:
        """Read more into the buffer; False at the end."""
        data = self._read_stream(_CHUNK_BYTES)
        if not data:
            return False
        self._buffer = self._buffer[self._start :] + data
        self._start = 0
        return True

    def _read_stream(self, size: int) -> bytes:
        try:
            # read1: what one step of decompression gives. A read() of many steps would lose what the steps
            # before gave when a later one meets the cut or the damage.
            return self._stream.read1(size)
        except EOFError:
            raise
        except OSError as exc:
            if exc.errno is not None:  # the file system's error, not the data's
                raise
            raise Damaged(error_text(exc)) from exc
        except DECOMPRESSION_ERRORS as exc:
            raise Damaged(error_text(exc)) from exc

    def _take(self, count: int) -> bytes:
        data = self._buffer[self._start : self._start + count]
        self._start += len(data)
        self.position += len(data)
        self._furthest = max(self._furthest, self.position)
        return data

    def readline(self, limit: int) -> bytes:
        """The next line with its ending, or its first ``limit`` bytes when it is longer; b"" at the end."""
        while True:
            end = self._buffer.find(b"\n", self._start, self._start + limit)
            if end >= 0:
                return self._take(end + 1 - self._start)
            if len(self._buffer) - self._start >= limit or not self._fill():
                return self._take(limit)

    def read(self, count: int) -> bytes:
        """The next ``count`` bytes, fewer only at the end."""
        parts = [self._take(count)]
        wanted = count - len(parts[0])
        while wanted > 0 and self._fill():
            parts.append(self._take(wanted))
            wanted -= len(parts[-1])
        return b"".join(parts)

    def unread(self, data: bytes) -> None:
        """Give back the bytes just read (``data`` must be them)."""
        self._buffer = data + self._buffer[self._start :]
        self._start = 0
        self.position -= len(data)

    def pass_over(self, count: int) -> tuple[int, int | None]:
        """Read ``count`` bytes without keeping them: how many there were, and where a record may start in them.

        Returns:
            The bytes passed over (fewer than ``count`` only at the end), and the position of the first
            line in them that starts a record (after a newline), or None.
        """
        passed, found, tail = 0, None, b""
        while passed < count:
            if self._start >= len(self._buffer) and not self._fill():
                break
            piece_start = self.position - len(tail)
            piece = tail + self._take(count - passed)
            if found is None:
                found = record_start_in(piece, piece_start)
            passed += len(piece) - len(tail)
            tail = piece[-_OVERLAP:]
        return passed, found

    def resync(self, at_line_start: bool) -> int:
        """Go on to the next line that starts a record, or to the end: how many bytes were passed over.

        Args:
            at_line_start: whether the next byte starts a line (the one before was a newline).
        """
        while at_line_start and len(self._buffer) - self._start < _OVERLAP and self._fill():
            pass
        if at_line_start and RECORD_LINE.match(self._buffer, self._start):
            return 0
        passed = 0
        while True:
            match = _RECORD_AFTER_LINE.search(self._buffer, self._start)
            if match is not None:
                return passed + len(self._take(match.start() + 1 - self._start))
            keep = min(_OVERLAP, len(self._buffer) - self._start)
            passed += len(self._take(len(self._buffer) - self._start - keep))
            if not self._fill():
                return passed + len(self._take(keep))

    def seek(self, position: int) -> bool:
        """Go back (or on) to a position; False when that would decompress too much again (see ``_REREAD_SHARE``)."""
        buffered_from = self.position - self._start
        if buffered_from <= position <= buffered_from + len(self._buffer):  # no reading at all
            self._start = position - buffered_from
            self.position = position
            return True
        restart = self._restart_point(position)
        if restart is None:  # before what a gzip stream kept (see forget_before)
            return False
        self._reread += position - restart
        if self._reread > _REREAD_FREE_BYTES + _REREAD_SHARE * self._furthest:
            return False
        if isinstance(self._stream, _Members):
            self._stream.restart(restart)
        elif self._source.compression is None:
            self._stream.seek(restart)
        else:
            self._stream.close()
            self._stream = _open(self._source)
        self._buffer, self._start, self.position = b"", 0, restart
        while self.position < position:
            if self._start >= len(self._buffer) and not self._fill():
                break
            self._take(position - self.position)
        return True

    def _restart_point(self, position: int) -> int | None:
        """Where reading must start again to reach a position: a member start, the position itself, or 0."""
        if isinstance(self._stream, _Members):
            return self._stream.member_start_before(position)
        return position if self._source.compression is None else 0

    def skip_damage(self) -> bool:
        """Go on after corrupt compressed data: at the next gzip member; False when there is no way on."""
        if not isinstance(self._stream, _Members):
            return False
        self._buffer, self._start = b"", 0
        return self._stream.skip_member(self.position)

    def forget_before(self, position: int) -> None:
        """No seek will go back before this position (what a gzip stream keeps to go back can go)."""
        if isinstance(self._stream, _Members):
            self._stream.forget_before(position)


def record_start_in(data: bytes, position: int) -> int | None:
    """The position of the first line in ``data`` (which starts at ``position``) that starts a record, or None."""
    match = _RECORD_AFTER_LINE.search(data)
    return None if match is None else position + match.start() + 1


def _open(source: Input) -> _Stream | _Members:
    """The stream of a WARC file's bytes; a .warc.gz member by member."""
    if source.compression == "gzip":
        return _Members(source.opener())
    return cast(_Stream, source.open())  # a buffered file, or a decompressing stream: each has read1


class _Members:
    """A gzip file decompressed member by member, so that a damaged member costs only its own records.

    Each record of a .warc.gz is its own gzip member. A member that does not decompress raises
    ``zlib.error``; ``skip_member`` then goes on at the next member header after its start. Where
    each member starts is kept (from the current record on), so that a seek back decompresses one
    member again, not the file.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._checkpoints: list[tuple[int, int]] = []  # (position, raw offset) of member starts
        self._position = 0
        self._begin(0)

    def _begin(self, raw_offset: int) -> None:
        self._member_start = raw_offset
        self._decompressor = zlib.decompressobj(wbits=31)
        self._input = b""
        self._begun = False  # the member has been given input
        self._checkpoints = [c for c in self._checkpoints if c[0] < self._position]
        self._checkpoints.append((self._position, raw_offset))

    def read(self, size: int) -> bytes:
        """Up to ``size`` decompressed bytes; b"" at the end of the last member.

        Raises:
            EOFError: the file ends inside a member.
            zlib.error: the member is corrupt.
        """
        while True:
            if not self._input:
                self._input = self._raw.read(_CHUNK_BYTES)
                if not self._input:
                    if self._begun:
                        raise EOFError("Compressed file ended before the end-of-stream marker was reached")
                    return b""
            if not self._begun and not self._input.strip(b"\x00"):  # zero padding after the last member
                self._input = b""
                continue
            data = self._decompressor.decompress(self._input, size)
            self._begun = True
            self._input = self._decompressor.unconsumed_tail
            self._position += len(data)
            if self._decompressor.eof:
                rest = self._decompressor.unused_data
                self._begin(self._raw.tell() - len(rest))
                self._input = rest
            if data:
                return data

    read1 = read

    def skip_member(self, position: int) -> bool:
        """Go on at the next gzip member header after the start of the current member; False when none is left."""
        self._position = position
        offset = self._member_start + 1
        self._raw.seek(offset)
        tail = b""
        while chunk := self._raw.read(_CHUNK_BYTES):
            data = tail + chunk
            found = data.find(_GZIP_MEMBER)
            if found >= 0:
                start = offset - len(tail) + found
                self._raw.seek(start)
                self._begin(start)
                return True
            tail = data[-(len(_GZIP_MEMBER) - 1) :]
            offset += len(chunk)
        self._begin(offset)
        return False

    def member_start_before(self, position: int) -> int | None:
        """The position where the member holding ``position`` starts; None when that start is no longer kept."""
        return max((c[0] for c in self._checkpoints if c[0] <= position), default=None)

    def restart(self, position: int) -> None:
        """Decompress again from the member starting at ``position`` (one of ``member_start_before``)."""
        raw_offset = dict(self._checkpoints)[position]
        self._position = position
        self._raw.seek(raw_offset)
        self._begin(raw_offset)

    def forget_before(self, position: int) -> None:
        earlier = [c for c in self._checkpoints if c[0] <= position]
        self._checkpoints = earlier[-1:] + [c for c in self._checkpoints if c[0] > position]

    def close(self) -> None:
        self._raw.close()
