"""Read documents from folders, files, globs and standard input, in batches.

This is the one place that decides how an input is read. Each file goes to a
reader of ``READERS`` (see ``dedup.formats``) by its extension, under any
compression extension (``pages.jsonl.gz`` is JSON Lines); a file whose
extension is unknown goes by its first bytes (magic bytes, ``<!doctype html``,
a JSON object). Compression is recognized by magic bytes whatever the name.
Binary files of no known format, unreadable files, FIFOs in folders and
symlink loops are skipped with a message; ``-`` reads standard input.

Every record read is either a scanned ``Document`` or a ``Skip`` with its
reason, so that ``ReadStats`` reconciles: records read = scanned + skipped.
Inputs are only ever opened for reading.
"""

from __future__ import annotations

import gc
import glob
import io
import itertools
import multiprocessing
import os
import shutil
import signal
import stat
import sys
import tempfile
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import numpy as np
import polars as pl
import xxhash

from dedup import schema as S
from dedup.errors import InputError, NoDocumentsError
from dedup.formats.detect import (
    COMPRESSION_SUFFIXES,
    DECOMPRESSION_ERRORS,
    HEAD_BYTES,
    READ_BUFFER_BYTES,
    binary_kind,
    compression_of,
    decompressed_head,
    input_opener,
    sniff,
)
from dedup.formats.encoding import bom_encoding, codec_name, replace_lone_surrogates
from dedup.formats.html import page_records, read_html
from dedup.formats.jsonl import read_json, read_jsonl
from dedup.formats.memory import MemoryInput, no_such_path_hint, read_memory
from dedup.formats.records import (
    DOCUMENT_COLUMNS,
    STDIN_NAME,
    Document,
    DocumentFrame,
    Input,
    PageReading,
    PagesElsewhere,
    Reader,
    ReadWarning,
    Record,
    Skip,
    error_text,
    pages_in_order,
)
from dedup.formats.tables import read_csv, read_parquet, read_tsv
from dedup.formats.text import read_text
from dedup.formats.warc import read_warc
from dedup.options import ReadOptions
from dedup.terminal import printable

__all__ = [
    "READERS",
    "Document",
    "DocumentFrame",
    "Input",
    "ReadStats",
    "ReadWarning",
    "Reader",
    "Record",
    "Skip",
    "batches",
    "discover",
    "page_processes",
    "read_documents",
    "read_runs",
    "reader_for",
    "require_documents",
    "resolve",
]

READERS: dict[str, Reader] = {
    ".txt": read_text,
    ".text": read_text,
    ".md": read_text,
    ".markdown": read_text,
    ".rst": read_text,
    ".jsonl": read_jsonl,
    ".ndjson": read_jsonl,
    ".json": read_json,
    ".html": read_html,
    ".htm": read_html,
    ".xhtml": read_html,
    ".shtml": read_html,
    ".warc": read_warc,
    ".parquet": read_parquet,
    ".pq": read_parquet,
    ".csv": read_csv,
    ".tsv": read_tsv,
    ".tab": read_tsv,
}
# Readers of text, which a binary file (a PNG named .txt) must not reach.
_TEXT_READERS = frozenset({read_text, read_jsonl, read_json, read_html, read_csv, read_tsv})
_READ_ERRORS: tuple[type[Exception], ...] = (OSError, *DECOMPRESSION_ERRORS)
STDIN = "-"
_T = TypeVar("_T")


@dataclass(slots=True)
class ReadStats:
    """Counts that reconcile: records read = documents scanned + skipped."""

    files: int = 0
    documents: int = 0
    skips: list[Skip] = field(default_factory=list)
    warnings: list[ReadWarning] = field(default_factory=list)

    @property
    def skipped_by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(s.reason for s in self.skips).items()))

    @property
    def records(self) -> int:
        return self.documents + len(self.skips)


@dataclass(frozen=True, slots=True)
class Found:
    """A file to read: where it is, how messages name it, its document id, and whether it was named."""

    path: Path
    name: str
    doc_id: str
    explicit: bool

    def __post_init__(self) -> None:
        # A file name that is not UTF-8 is shown (and ids it) with U+FFFD for its odd bytes; ``path`` still opens it.
        object.__setattr__(self, "name", _shown(self.name))
        object.__setattr__(self, "doc_id", _shown(self.doc_id))


def _shown(path: str | Path | MemoryInput) -> str:
    """A path as text every output can hold (see ``replace_lone_surrogates``)."""
    return replace_lone_surrogates(str(path))[0]


def _printed(path: str | Path | MemoryInput) -> str:
    """A path as an error message shows it: every output can hold it, and a terminal prints it as it is."""
    return printable(_shown(path))


def reader_for(path: str | Path) -> Reader | None:
    """The reader for a file by its extension, under any compression extension (case-insensitive)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in COMPRESSION_SUFFIXES:
        suffix = Path(path.stem).suffix.lower()
    return READERS.get(suffix)


def discover(paths: Sequence[str | Path], spool: Path | None = None) -> Iterator[Found | Skip]:
    """Expand the user's paths into files to read, in a fixed order.

    A folder yields its files with ids relative to it (hidden entries are left
    out; symlinks are followed, a loop is a skip); a file its path as given; a
    pattern with ``*``, ``?`` or ``[`` the files it matches; ``-`` standard
    input. Standard input and named pipes are first copied into ``spool``, so
    that they can be read twice (once to recognize the format).

    Raises:
        InputError: a path that does not exist and matches nothing; standard input or a pipe without ``spool``.
    """
    check_paths(paths)
    for number, given in enumerate(paths):
        path = Path(given)
        if str(given) == STDIN:
            copy = _spooled(sys.stdin.buffer, _spool(spool, given), f"stdin-{number}")
            yield Found(copy, STDIN_NAME, STDIN_NAME, True)
        elif path.is_dir():
            for entry in _walk(path):
                if isinstance(entry, Skip):
                    yield entry
                else:
                    yield Found(entry, str(entry), entry.relative_to(path).as_posix(), False)
        elif path.is_file():
            yield Found(path, str(path), path.as_posix(), True)
        elif path.exists():  # a named pipe or device named on purpose: `dedup scan <(zcat pages.jsonl.gz)`
            folder = _spool(spool, given)
            with path.open("rb") as stream:
                yield Found(_spooled(stream, folder, f"stream-{number}"), str(path), path.as_posix(), True)
        elif path.is_symlink():  # dangling, or a loop
            yield _unreadable(path)
        else:
            for match in sorted(glob.glob(str(given), recursive=True)):
                if Path(match).is_file():
                    yield Found(Path(match), match, Path(match).as_posix(), False)


def check_paths(paths: Sequence[str | Path | MemoryInput]) -> None:
    """Fail before reading anything when a path does not exist (in-memory inputs are passed over).

    Raises:
        InputError: a path that does not exist and matches nothing.
    """
    for given in paths:
        if isinstance(given, MemoryInput) or str(given) == STDIN or os.path.lexists(given):
            continue
        if any(ch in str(given) for ch in "*?["):
            if not glob.glob(str(given), recursive=True):
                raise InputError(f"{_printed(given)}: the pattern matches no file")
        else:
            raise InputError(f"{_printed(given)}: no such file or folder{no_such_path_hint(given)}")


def _spool(spool: Path | None, given: str | Path) -> Path:
    if spool is None:
        raise InputError(f"{_printed(given)}: standard input and pipes can be scanned, not read here")
    return spool


def _spooled(stream: BinaryIO, folder: Path, name: str) -> Path:
    target = folder / name
    with target.open("wb") as copy:
        shutil.copyfileobj(stream, copy)
    return target


def _walk(folder: Path) -> Iterator[Path | Skip]:
    """Regular files below a folder in sorted order; everything else there is a skip with its reason."""
    errors: list[OSError] = []
    seen = {_identity(folder)}
    for root, dirs, files in os.walk(folder, followlinks=True, onerror=errors.append):
        yield from (_unlisted(error) for error in errors)
        errors.clear()
        kept = []
        for name in sorted(d for d in dirs if not d.startswith(".")):
            identity = _identity(Path(root) / name)
            if identity in seen:
                real = _shown(os.path.realpath(Path(root) / name))
                message = f"folder already read (a symlink to {real})"
                yield Skip(_shown(Path(root) / name), None, "symlink loop", message)
            else:
                seen.add(identity)
                kept.append(name)
        dirs[:] = kept
        for name in sorted(f for f in files if not f.startswith(".")):
            yield _regular(Path(root) / name)
    yield from (_unlisted(error) for error in errors)


def _unlisted(error: OSError) -> Skip:
    return Skip(_shown(error.filename), None, "unreadable", f"cannot list folder: {error.strerror}")


def _identity(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_dev, info.st_ino


def _regular(path: Path) -> Path | Skip:
    """The path of a regular file (through symlinks), else why it is not read."""
    try:
        mode = path.stat().st_mode
    except OSError:  # a dangling symlink, a symlink loop
        return _unreadable(path)
    if stat.S_ISREG(mode):
        return path
    kind = "a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    return Skip(_shown(path), None, "not a file", f"{kind}, not a regular file: not read (name it to read it)")


def _unreadable(path: Path) -> Skip:
    """The skip of a path that cannot be opened, with the target of a broken symlink."""
    try:
        path.stat()
        reason = "unknown error"
    except OSError as exc:
        reason = exc.strerror or str(exc)
    target = f" (a symlink to {_shown(os.readlink(path))})" if path.is_symlink() else ""
    return Skip(_shown(path), None, "unreadable", f"cannot read: {reason}{target}")


def resolve(found: Found) -> tuple[Input, Reader] | Skip:
    """The input and reader of a file: by extension, else by content; or the skip that says why none.

    Raises:
        OSError: the file cannot be opened or read.
    """
    with found.path.open("rb") as handle:
        raw_head = handle.read(HEAD_BYTES)
    compression = compression_of(raw_head)
    source = Input(found.name, found.doc_id, input_opener(found.path, compression), compression)
    if not raw_head:
        return Skip(found.name, None, "empty", "empty file")
    head = raw_head if source.compression is None else decompressed_head(raw_head, source.compression)
    reader = reader_for(found.name)
    if reader is None:
        sniffed = sniff(head)
        if sniffed is None:
            return Skip(found.name, None, "binary file", f"{binary_kind(head)}: not a format dedup reads")
        inner = Path(found.name[: -len(Path(found.name).suffix)] if source.compression else found.name).suffix
        if sniffed == ".txt" and inner and not found.explicit:
            message = f"not a known format ({inner}); name the file to read it as text"
            return Skip(found.name, None, "unknown format", message)
        reader = READERS[sniffed]
    if reader in _TEXT_READERS:
        kind = binary_kind(head)
        if kind is not None:
            return Skip(found.name, None, "binary file", f"{kind}: not a format dedup reads")
    return source, reader


def read_documents(
    paths: Sequence[str | Path | MemoryInput], options: ReadOptions, stats: ReadStats
) -> Iterator[Document]:
    """Every document of every input, in a fixed order; skips and warnings go into ``stats``.

    Raises:
        InputError: a path that does not exist and matches nothing.
    """
    for run in read_runs(paths, options, stats):
        if isinstance(run, DocumentFrame):
            yield from run.documents()
        else:
            yield run


def read_runs(
    paths: Sequence[str | Path | MemoryInput],
    options: ReadOptions,
    stats: ReadStats,
    passed_over: Callable[[Path, str], Skip | None] | None = None,
) -> Iterator[Document | DocumentFrame]:
    """The documents of ``read_documents``, where runs read in bulk stay tables (for ``batches``).

    Args:
        passed_over: ``passed_over(path, name)`` says why a file is not read (an index holds it already),
            or ``None`` to read it.

    Raises:
        InputError: a path that does not exist and matches nothing.
    """
    distinct = _DistinctIds(stats)
    # The process id in the name lets a later run remove what a killed one left (commit.sweep_temporary_folders).
    with (
        tempfile.TemporaryDirectory(prefix=f"dedup-input-{os.getpid()}-") as spool,
        _page_pool(_processes_for_pages) as pool,
    ):
        for given in _in_turn(paths):
            if isinstance(given, MemoryInput):
                yield from map(distinct, _read_memory(given, options, stats))
                continue
            yield from map(distinct, _read_found(discover(given, Path(spool)), options, stats, passed_over, pool))


def _read_found(
    items: Iterable[Found | Skip],
    options: ReadOptions,
    stats: ReadStats,
    passed_over: Callable[[Path, str], Skip | None] | None,
    pool: _PagePool | None,
) -> Iterator[Document | DocumentFrame]:
    """The documents of the files found, in order; with a ``pool``, HTML files are read in it, a few ahead."""
    ahead: deque[_Ahead] = deque()  # files read in the pool and skips after them, in order
    try:
        for item in items:
            if isinstance(item, Skip):
                ahead.append(_Ahead(item))
            elif passed_over is not None and (skip := passed_over(item.path, item.name)) is not None:
                ahead.append(_Ahead(skip))
            elif pool is not None and reader_for(item.name) is read_html and (reading := pool.read(item, options)):
                ahead.append(reading)
                while pool.too_far_ahead(ahead):
                    yield from _settled(ahead.popleft(), stats, pool)
            else:
                while ahead:
                    yield from _settled(ahead.popleft(), stats, pool)
                yield from _read_file(item, options, stats, pages=pool)
        while ahead:
            yield from _settled(ahead.popleft(), stats, pool)
    finally:
        for waiting in ahead:
            if waiting.read is not None:
                waiting.read.cancel()


# ----------------------------------------------------------------------------- pages read in other processes

# An HTML page is parsed by a compiled tree builder and then walked in Python, a call per node: one core reads
# about 5 MB of pages a second, while the batch threads wait for it. Within ``page_processes``, HTML files are
# read in a pool of processes, a few files ahead, and their documents come back in order.
_processes_for_pages = 1
PAGES_AHEAD_FILES = 2  # per process
PAGES_AHEAD_BYTES = 64 << 20  # of files (as stored) read ahead at most, beyond the next one
# Pages of records (WARC responses, fields that hold a page) read ahead of the record taken, at most (by count,
# and by characters of their text).
PAGES_AHEAD = 8
PAGES_AHEAD_CHARS = 64 << 20
# Starting a process costs about 0.8 CPU s (its imports): the pool starts once pages read here pass this size,
# 1-2 s of reading, so a scan of a few pages (a check in CI) starts none.
PAGES_HERE_BYTES = 8 << 20


@contextmanager
def page_processes(processes: int) -> Iterator[None]:
    """Read HTML files in ``processes`` other processes within this block (1: in this one, the default).

    The command line reads them in one process per core. The processes start as ``multiprocessing``'s
    "spawn" starts them: a script that scans at its top level must do so under ``if __name__ == "__main__":``.
    """
    global _processes_for_pages
    before, _processes_for_pages = _processes_for_pages, processes
    try:
        yield
    finally:
        _processes_for_pages = before


class _PagePool:
    """Processes that read HTML files and the pages in WARC records, started once this process has read enough
    pages to pay for them (``PagesElsewhere``)."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.read_here = 0  # bytes of pages read in this process so far
        self.executor: ProcessPoolExecutor | None = None
        self.broken = False

    def read(self, found: Found, options: ReadOptions) -> _Ahead | None:
        """This HTML file as it is read in the pool, or None to read it here."""
        size = _size(found.path)
        reading = self._submit(size, _read_elsewhere, found, options)
        return None if reading is None else _Ahead(found, reading, size)

    def read_page(
        self, html: str, options: ReadOptions, doc_id: str, name: str, line: int | None, unit: str
    ) -> PageReading | None:
        """The page of a record as it is read in the pool, or None to read it here."""
        reading = self._submit(len(html), page_records, html, options, doc_id, name, line, unit)
        return None if reading is None else PageReading(reading, len(html), lambda: [self.lost(name, line, unit)])

    def lost(self, name: str, line: int | None, unit: str = "line") -> Skip:
        """The skip of what a process held when it died (killed, out of memory); what comes after is read here."""
        self.broken = True
        message = "the process reading it died (killed, or out of memory?); pages after it are read in this one"
        return Skip(name, line, "reading process died", message, unit)

    def _submit(self, size: int, read: Callable[..., _T], *args: object) -> Future[_T] | None:
        """``read(*args)`` in the pool (started now if this page makes it time), or None to read it here."""
        if self.broken:
            return None
        if self.executor is None:
            self.read_here += size
            if self.read_here <= PAGES_HERE_BYTES:
                return None
            context = multiprocessing.get_context("spawn")  # not fork: the scan's threads (and polars') run
            self.executor = ProcessPoolExecutor(self.processes, mp_context=context, initializer=_start_page_process)
        try:
            return self.executor.submit(read, *args)
        except BrokenProcessPool:  # a process died: what comes after is read here
            self.broken = True
            return None

    def too_far_ahead(self, ahead: deque[_Ahead]) -> bool:
        """Whether the oldest file must be taken before another is read ahead: enough files are ahead, or
        enough bytes beyond the oldest (a few large pages are not held at once)."""
        if len(ahead) <= 1:
            return False
        beyond = sum(waiting.size for waiting in ahead) - ahead[0].size
        return len(ahead) > PAGES_AHEAD_FILES * self.processes or beyond > PAGES_AHEAD_BYTES

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _page_pool(processes: int) -> Iterator[_PagePool | None]:
    if processes <= 1:
        yield None
        return
    pool = _PagePool(processes)
    try:
        yield pool
    finally:
        pool.close()


def _start_page_process() -> None:
    """Ctrl-C reaches the whole process group: the scan stops the pool, and its processes print nothing. What
    the imports made lives to the end: the collections that walking pages sets off need not walk it again."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()


@dataclass(frozen=True, slots=True)
class _Ahead:
    """A file being read in the pool (its reading and size as stored), or a skip that comes after one."""

    found: Found | Skip
    read: Future[tuple[list[Document | DocumentFrame], ReadStats]] | None = None
    size: int = 0


def _read_elsewhere(found: Found, options: ReadOptions) -> tuple[list[Document | DocumentFrame], ReadStats]:
    """What ``_read_file`` reads of a file, in a process of the pool: its documents, and its counts and skips."""
    stats = ReadStats()
    return list(_read_file(found, options, stats)), stats


def _settled(ahead: _Ahead, stats: ReadStats, pool: _PagePool | None) -> Iterator[Document | DocumentFrame]:
    """The documents of the oldest file read ahead, its counts and skips added to ``stats``."""
    if ahead.read is None:
        assert isinstance(ahead.found, Skip)
        stats.skips.append(ahead.found)
        return
    assert isinstance(ahead.found, Found) and pool is not None
    try:
        documents, read = ahead.read.result()
    except BrokenProcessPool:  # killed, or out of memory: the files it held are lost and said so, not the scan
        stats.skips.append(pool.lost(ahead.found.name, None))
        return
    stats.files += read.files
    stats.documents += read.documents
    stats.skips += read.skips
    stats.warnings += read.warnings
    yield from documents


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _in_turn(paths: Sequence[str | Path | MemoryInput]) -> Iterator[list[str | Path] | MemoryInput]:
    """The inputs in order: each in-memory one alone, the paths between them together (``discover`` numbers them)."""
    run: list[str | Path] = []
    for given in paths:
        if isinstance(given, MemoryInput):
            if run:
                yield run
                run = []
            yield given
        else:
            run.append(given)
    if run:
        yield run


def _read_memory(given: MemoryInput, options: ReadOptions, stats: ReadStats) -> Iterator[Document | DocumentFrame]:
    """The documents of an in-memory input (not a file: ``stats.files`` counts files read); the caller's own
    exceptions propagate."""
    tally = _Tally()
    yield from _counted(pages_in_order(read_memory(given, options), PAGES_AHEAD, PAGES_AHEAD_CHARS), stats, tally)
    if tally.records == 0:
        stats.skips.append(Skip(given.name, None, "empty", "nothing in it (no rows or items)"))


@dataclass(slots=True)
class _Tally:
    """Records read so far from one input (documents and skips), for the messages of a failure after them."""

    records: int = 0


def _counted(records: Iterable[Record], stats: ReadStats, tally: _Tally) -> Iterator[Document | DocumentFrame]:
    """The documents among a reader's records; skips and warnings go into ``stats``, every record into ``tally``."""
    for record in records:
        if isinstance(record, ReadWarning):
            stats.warnings.append(record)
        elif isinstance(record, Skip):
            tally.records += 1
            stats.skips.append(record)
        else:
            documents = record.frame.height if isinstance(record, DocumentFrame) else 1
            tally.records += documents
            stats.documents += documents
            yield record


class _DistinctIds:
    """Gives a document whose id an earlier document took a new id saying where it stands, with a warning.

    Dumps split in shards often number their records anew in each shard; tables keyed by document id
    would then mix the documents up. The first keeps its id, a later one becomes ``<id> (<file>:<line>)``.

    Ids are remembered as 64-bit hashes in a numpy table (16 bytes per document, not the strings). Two
    different ids with the same hash, odds of about 3e-6 among ten million documents, would rename the
    later one needlessly (its new id still unique).
    """

    def __init__(self, stats: ReadStats) -> None:
        self._stats = stats
        from dedup.fingerprint import KeyOrdinals  # here: a process that reads pages for a scan needs no kernels

        self._seen = KeyOrdinals()

    def __call__(self, item: Document | DocumentFrame) -> Document | DocumentFrame:
        ids = item.frame[S.DOC_ID].to_list() if isinstance(item, DocumentFrame) else [item.doc_id]
        repeated = np.flatnonzero(~self._first(ids))
        if not repeated.size:
            return item
        if isinstance(item, Document):
            return replace(item, doc_id=self._renamed(item.doc_id, item.source, item.source_line))
        places = item.frame.select(S.SOURCE, S.SOURCE_LINE)
        for row in repeated.tolist():
            ids[row] = self._renamed(ids[row], places[S.SOURCE][row], places[S.SOURCE_LINE][row])
        return DocumentFrame(item.frame.with_columns(pl.Series(S.DOC_ID, ids, dtype=pl.String)), item.chars)

    def _first(self, ids: list[str]) -> np.ndarray:
        """Whether each id is seen here for the first time (and remember it)."""
        # xxhash from Python: a few hundred nanoseconds an id, far below reading its document.
        hashes = (xxhash.xxh64_intdigest(doc_id.encode()) for doc_id in ids)
        return self._seen(np.fromiter(hashes, dtype=np.uint64, count=len(ids)))[1]

    def _renamed(self, doc_id: str, source: str, line: int) -> str:
        new_id = doc_id
        while True:  # once, unless the new id is taken too
            new_id = f"{new_id} ({source}:{line})"
            if self._first([new_id])[0]:
                break
        message = f"id {doc_id!r} was taken by an earlier document; this one is now {new_id!r}"
        self._stats.warnings.append(ReadWarning(source, None, "repeated id", message))
        return new_id


def read_file(
    found: Found, options: ReadOptions, stats: ReadStats, piece: Piece | None = None
) -> Iterator[Document | DocumentFrame]:
    """The documents of one file, or of one ``piece`` of it, read on its own (a Spark task reads one): see
    ``_read_file``. A piece counts as a file when it is the file's first, and is never an empty file."""
    return _read_file(found, options, stats, piece)


def _read_file(
    found: Found,
    options: ReadOptions,
    stats: ReadStats,
    piece: Piece | None = None,
    pages: PagesElsewhere | None = None,
) -> Iterator[Document | DocumentFrame]:
    """The documents of one file; whatever goes wrong in reading it is a skip of that file, never an error.

    The readers turn each bad record into a skip of its own. What is left for here: a file the system
    will not read, compressed data that is cut off or corrupt, and, as the one backstop, any other
    exception a reader raises: a reader can fail only its own file, and the records before are kept.
    """
    try:
        resolved = resolve(found)
    except _READ_ERRORS as exc:
        stats.skips.append(_failure(found.name, exc, after=0))
        return
    except Exception as exc:  # the backstop (see above)
        stats.skips.append(_reader_error(found.name, exc, after=0))
        return
    if isinstance(resolved, Skip):
        stats.skips.append(resolved)
        return
    source, reader = resolved
    source = replace(source, pages=pages)
    if piece is not None:
        source = replace(source, opener=piece.opener(found.path), first_line=piece.first_line)
    stats.files += piece is None or piece.start == 0
    tally = _Tally()
    try:
        yield from _counted(pages_in_order(reader(source, options), PAGES_AHEAD, PAGES_AHEAD_CHARS), stats, tally)
    except _READ_ERRORS as exc:
        stats.skips.append(_failure(found.name, exc, after=tally.records, from_line=source.first_line))
        return
    except Exception as exc:  # the backstop (see above)
        stats.skips.append(_reader_error(found.name, exc, after=tally.records, from_line=source.first_line))
        return
    if tally.records == 0 and piece is None:
        stats.skips.append(Skip(found.name, None, "empty", "empty file (no records)"))


# ----------------------------------------------------------------------------- pieces of a large file

# What bytes JSON Lines may hold between records (JSON's white space): a piece holding nothing else has no record.
_JSON_SPACE = b" \t\r\n"


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of whole lines of a large JSON Lines file, for a task of its own (``dedup.spark``): the bytes
    ``start`` to ``end`` of the file, the first of them on line ``first_line``."""

    start: int
    end: int
    first_line: int

    def opener(self, path: Path) -> Callable[[], BinaryIO]:
        return lambda: _piece_stream(path, self.start, self.end)


def splittable(found: Found, options: ReadOptions) -> bool:
    """Whether a file can be read in pieces of whole lines: uncompressed UTF-8 JSON Lines (no UTF-16 or
    UTF-32 byte order mark, no other ``encoding``), whose lines are records on their own.

    Raises:
        OSError: the file cannot be read.
    """
    if options.encoding is not None and codec_name(options.encoding) != "utf-8":
        return False
    resolved = resolve(found)
    if isinstance(resolved, Skip):
        return False
    source, reader = resolved
    return reader is read_jsonl and source.compression is None and bom_encoding(source.head(4)) in (None, "utf-8-sig")


def line_ranges(path: Path, piece_bytes: int) -> list[tuple[int, int]]:
    """The file cut into byte ranges of whole lines, each about ``piece_bytes`` long (more when a line is).

    Raises:
        OSError: the file cannot be read.
    """
    size = path.stat().st_size
    cuts = [0]
    with path.open("rb") as handle:
        while cuts[-1] + piece_bytes < size:
            handle.seek(cuts[-1] + piece_bytes - 1)  # from the byte before: a cut there already ends a line
            while (part := handle.readline(1 << 20)) and not part.endswith(b"\n"):
                pass
            if handle.tell() >= size:
                break
            cuts.append(handle.tell())
    return list(itertools.pairwise([*cuts, size]))


def range_lines(path: Path, start: int, end: int) -> tuple[int, bool]:
    """How many line ends the bytes ``start`` to ``end`` of a file hold, and whether anything but JSON's
    white space stands among them (a piece of blank lines has no record).

    Raises:
        OSError: the file cannot be read.
    """
    ends, content = 0, False
    with _piece_stream(path, start, end) as stream:
        while chunk := stream.read(1 << 22):
            ends += chunk.count(b"\n")
            content = content or bool(chunk.translate(None, _JSON_SPACE))
    return ends, content


def _piece_stream(path: Path, start: int, end: int) -> BinaryIO:
    """The bytes ``start`` to ``end`` of a file as a stream of their own."""
    handle = path.open("rb", buffering=0)
    handle.seek(start)
    return io.BufferedReader(_Bounded(handle, end - start), buffer_size=READ_BUFFER_BYTES)


class _Bounded(io.RawIOBase):
    """A raw stream that ends after ``size`` bytes of another."""

    def __init__(self, raw: io.FileIO, size: int) -> None:
        self._raw, self._left = raw, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)[: self._left]
        count = self._raw.readinto(view) or 0
        self._left -= count
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()


def _failure(name: str, exc: BaseException, after: int, from_line: int = 1) -> Skip:
    """The skip of a file that failed: the file system refused it, or its compressed data is broken.

    A cut-off stream stands for the record it cuts: that record is never read, the ones before are.
    """
    if isinstance(exc, OSError) and exc.errno is not None:
        kept = f"; the {after:,} record(s) before were read" if after else ""
        return Skip(name, None, "unreadable", f"cannot read{_in_piece(from_line)}: {exc.strerror}{kept}")
    damage = "cut off" if isinstance(exc, EOFError) else "corrupt"
    where = _where(after, from_line)
    return Skip(name, None, "corrupt compressed data", f"compressed data {damage} {where} ({error_text(exc)})")


def _reader_error(name: str, exc: Exception, after: int, from_line: int = 1) -> Skip:
    """The skip of a file whose reader failed in a way no reader foresaw (a bug to report)."""
    where = _where(after, from_line)
    return Skip(name, None, "reader error", f"reading failed {where} ({type(exc).__name__}: {error_text(exc)})")


def _where(after: int, from_line: int) -> str:
    """Where reading stopped: after how many records, counted from the line a piece of a file starts on (a task
    reads a piece on its own), or before the first."""
    if not after:
        return f"before its first record{_in_piece(from_line)}"
    return f"after {after:,} record(s)" + (f" from line {from_line:,}" if from_line > 1 else "") + ", which are kept"


def _in_piece(from_line: int) -> str:
    return f" (the piece from line {from_line:,})" if from_line > 1 else ""


def batches(documents: Iterable[Document | DocumentFrame], batch_chars: int) -> Iterator[pl.DataFrame]:
    """Group documents, one by one or in runs, into DataFrames of about ``batch_chars`` characters, in order."""
    parts: list[pl.DataFrame] = []  # runs, and the documents between them made into frames, in order
    pending: list[Document] = []
    size = 0
    for item in documents:
        if isinstance(item, DocumentFrame):
            if pending:
                parts.append(_frame(pending))
                pending = []
            parts.append(item.frame)
            size += item.chars
        else:
            pending.append(item)
            size += len(item.text)
        if size >= batch_chars:
            yield _joined(parts, pending)
            parts, pending, size = [], [], 0
    if parts or pending:
        yield _joined(parts, pending)


def _joined(parts: list[pl.DataFrame], pending: list[Document]) -> pl.DataFrame:
    if pending:
        parts = [*parts, _frame(pending)]
    # A frame made without anchors (records, placed by their line) gets them null.
    parts = [part if S.ANCHORS in part.columns else part.with_columns(_NO_ANCHORS) for part in parts]
    return parts[0] if len(parts) == 1 else pl.concat([p.select(list(DOCUMENT_COLUMNS)) for p in parts], rechunk=True)


_NO_ANCHORS = pl.lit(None, dtype=pl.List(pl.Int64)).alias(S.ANCHORS)


def documents_frame(documents: list[Document]) -> pl.DataFrame:
    """Documents as a table with the columns of ``DOCUMENT_COLUMNS``."""
    return _frame(documents)


def _frame(documents: list[Document]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            S.DOC_ID: [d.doc_id for d in documents],
            S.TEXT: pl.Series([d.text for d in documents], dtype=pl.String),
            S.SOURCE: [d.source for d in documents],
            S.SOURCE_LINE: [d.source_line for d in documents],
            S.ANCHORS: [d.anchors for d in documents],
        },
        schema=DOCUMENT_COLUMNS,
    )


def require_documents(stats: ReadStats, paths: Sequence[str | Path | MemoryInput]) -> None:
    """Raise a clear error when the inputs held no document at all.

    Raises:
        NoDocumentsError: nothing was scanned.
    """
    if stats.documents == 0:
        shown = ", ".join(_printed(p) for p in paths)
        raise NoDocumentsError(f"no documents found in {shown}{_skips_by_reason(stats.skips)}", stats.skips)


def _skips_by_reason(skips: list[Skip]) -> str:
    """What was skipped instead of read: a line per reason with its count and its first skip, which says why."""
    if not skips:
        return ""
    first: dict[str, Skip] = {}
    counts: Counter[str] = Counter()
    for skip in skips:
        first.setdefault(skip.reason, skip)
        counts[skip.reason] += 1
    lines = [f"\n  {count:,} {reason}, the first: {first[reason]}" for reason, count in counts.most_common()]
    return f"; {len(skips):,} skipped:" + "".join(lines)
