"""Read documents from folders, files, globs and JSONL, in batches.

A reader turns one file into a stream of records: a ``Document`` for every
document it holds, a ``Skip`` for every record it could not use (with the file,
the line and the reason), so that one bad record never stops a scan and none is
lost silently. Formats plug in through ``READERS``, keyed by file suffix.
"""

from __future__ import annotations

import glob
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from dedup import schema as S
from dedup.errors import InputError, NoDocumentsError
from dedup.options import ReadOptions


@dataclass(frozen=True, slots=True)
class Document:
    """One document: its id, its text and where it came from."""

    doc_id: str
    text: str
    source: str
    source_line: int = 1


@dataclass(frozen=True, slots=True)
class Skip:
    """A record or file that was not scanned, and why."""

    source: str
    line: int | None
    reason: str
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class ReadWarning(Skip):
    """Something repaired while reading (the record is still scanned)."""


Record = Document | Skip
Reader = Callable[[Path, str, ReadOptions], Iterator[Record]]


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


def _decode(raw: bytes, path: str, encoding: str) -> tuple[str, ReadWarning | None]:
    """Decode file bytes; undecodable bytes become U+FFFD with a counted warning."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw, encoding = raw[3:], "utf-8"
    try:
        return raw.decode(encoding), None
    except UnicodeDecodeError as exc:
        text = raw.decode(encoding, errors="replace")
        bad = text.count("\ufffd") - raw.decode(encoding, errors="ignore").count("\ufffd")
        warning = ReadWarning(
            path, None, "undecodable bytes", f"{bad} undecodable byte sequence(s) replaced ({exc.reason})"
        )
        return text, warning


def _looks_binary(raw: bytes) -> bool:
    return b"\x00" in raw[:8192]


def read_text(path: Path, doc_id: str, options: ReadOptions) -> Iterator[Record]:
    """A plain text or markdown file is one document."""
    raw = path.read_bytes()
    if _looks_binary(raw):
        yield Skip(str(path), None, "binary file", "binary file (NUL bytes), not read as text")
        return
    text, warning = _decode(raw, str(path), options.encoding)
    if warning is not None:
        yield warning
    if not text.strip():
        yield Skip(str(path), None, "empty", "empty document")
        return
    yield Document(doc_id, text, str(path), 1)


def _field(record: dict, dotted: str) -> object:
    value: object = record
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def read_jsonl(path: Path, doc_id: str, options: ReadOptions) -> Iterator[Record]:
    """One document per JSON line; ``id`` and ``text`` fields by default.

    A record without an id gets ``<file>:<line>``; a bad line is a ``Skip``
    naming the file and line, and reading goes on with the next line.
    """
    source = str(path)
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            line, warning = _decode(raw, source, options.encoding)
            if warning is not None:
                yield ReadWarning(source, number, warning.reason, warning.message)
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Skip(source, number, "malformed JSON", f"malformed JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(record, dict):
                yield Skip(source, number, "not an object", f"expected a JSON object, got {type(record).__name__}")
                continue
            text = _field(record, options.text_field)
            if text is None:
                yield Skip(source, number, "missing text", f"no {options.text_field!r} field")
                continue
            if not isinstance(text, str):
                message = f"field {options.text_field!r} is {type(text).__name__}, not a string"
                yield Skip(source, number, "text not a string", message)
                continue
            if not text.strip():
                yield Skip(source, number, "empty", "empty text")
                continue
            raw_id = _field(record, options.id_field)
            record_id = f"{doc_id}:{number}" if raw_id is None else str(raw_id)
            yield Document(record_id, text, source, number)


READERS: dict[str, Reader] = {
    ".txt": read_text,
    ".text": read_text,
    ".md": read_text,
    ".markdown": read_text,
    ".rst": read_text,
    ".jsonl": read_jsonl,
    ".ndjson": read_jsonl,
}


def reader_for(path: Path) -> Reader | None:
    """The reader for a file, by its suffix (case-insensitive)."""
    return READERS.get(path.suffix.lower())


def _walk(folder: Path) -> Iterator[Path]:
    """Files below a folder in sorted order; hidden entries are not visited."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name


def discover(paths: Sequence[str | Path]) -> Iterator[tuple[Path, str, bool]]:
    """Expand the user's paths into (file, document id, named explicitly).

    A folder yields its files with ids relative to it; a file its path as
    given; a pattern with ``*``, ``?`` or ``[`` the files it matches.

    Raises:
        InputError: a path that does not exist and matches nothing.
    """
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for file in _walk(path):
                yield file, file.relative_to(path).as_posix(), False
        elif path.is_file():
            yield path, path.as_posix(), True
        elif any(ch in str(given) for ch in "*?["):
            matches = sorted(glob.glob(str(given), recursive=True))
            if not matches:
                raise InputError(f"{given}: the pattern matches no file")
            for match in matches:
                if Path(match).is_file():
                    yield Path(match), Path(match).as_posix(), False
        else:
            raise InputError(f"{given}: no such file or folder")


def read_documents(paths: Sequence[str | Path], options: ReadOptions, stats: ReadStats) -> Iterator[Document]:
    """Every document of every input, in a fixed order; skips go into ``stats``."""
    for path, doc_id, explicit in discover(paths):
        reader = reader_for(path)
        if reader is None:
            if not explicit:
                stats.skips.append(
                    Skip(str(path), None, "unknown format", f"not a known format ({path.suffix or 'no suffix'})")
                )
                continue
            reader = read_text  # a file named on purpose is read as text
        stats.files += 1
        try:
            for record in reader(path, doc_id, options):
                if isinstance(record, ReadWarning):
                    stats.warnings.append(record)
                elif isinstance(record, Skip):
                    stats.skips.append(record)
                else:
                    stats.documents += 1
                    yield record
        except OSError as exc:
            stats.skips.append(Skip(str(path), None, "unreadable", f"cannot read: {exc.strerror or exc}"))


def batches(documents: Iterable[Document], batch_chars: int) -> Iterator[pl.DataFrame]:
    """Group documents into DataFrames of about ``batch_chars`` characters."""
    pending: list[Document] = []
    size = 0
    for document in documents:
        pending.append(document)
        size += len(document.text)
        if size >= batch_chars:
            yield _frame(pending)
            pending, size = [], 0
    if pending:
        yield _frame(pending)


def _frame(documents: list[Document]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            S.DOC_ID: [d.doc_id for d in documents],
            S.TEXT: [d.text for d in documents],
            S.SOURCE: [d.source for d in documents],
            S.SOURCE_LINE: [d.source_line for d in documents],
        },
        schema={S.DOC_ID: pl.String, S.TEXT: pl.String, S.SOURCE: pl.String, S.SOURCE_LINE: pl.Int64},
    )


def require_documents(stats: ReadStats, paths: Sequence[str | Path]) -> None:
    """Raise a clear error when the inputs held no document at all.

    Raises:
        NoDocumentsError: nothing was scanned.
    """
    if stats.documents == 0:
        shown = ", ".join(str(p) for p in paths)
        detail = f" ({len(stats.skips)} skipped: {stats.skipped_by_reason})" if stats.skips else ""
        raise NoDocumentsError(f"no documents found in {shown}{detail}")
