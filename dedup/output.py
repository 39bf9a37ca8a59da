"""Where a scan's files go and how they come back: staging, the commit, and ``load`` with its checks.

A scan's files belong together (the tables refer to each other and ``scan.json`` describes them), so
they are written under temporary names and renamed into place together once all are written.
"""

from __future__ import annotations

import dataclasses
import functools
import glob
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import xxhash

from dedup import commit
from dedup import schema as S
from dedup.errors import InputError, OutputError
from dedup.options import ScanOptions

TABLES = ("blocks", "pairs", "clusters", "documents")
MATCHES = "matches"  # a fifth table, of a scan against an index
SCHEMAS = {
    "blocks": S.BLOCKS_SCHEMA,
    "pairs": S.PAIRS_SCHEMA,
    "clusters": S.CLUSTERS_SCHEMA,
    "documents": S.DOCUMENTS_SCHEMA,
    MATCHES: S.MATCHES_SCHEMA,
}
SUMMARY_FILE = "scan.json"
# 2: near clusters around centres, pairs in the order of their second block; 3: source_line, source_column.
FORMAT_VERSION = 3
# Rows per row group of blocks.parquet: about 10 MB of text each. Polars encodes row groups in parallel;
# with its default (a few row groups per 100 MB) two cores wrote the table no faster than one, with twice
# the CPU; 25,000 rows made it 1.6x faster on two cores for a 4% larger file (measured on 103 MB).
ROW_GROUP_ROWS = 25_000
# zstd at level 1, not polars' 3: compressing blocks.parquet, which holds every block's text, was 40% of the
# tables' CPU (0.8 of 1.9 CPU s on light 100 MB); level 1 takes half as long for files a fifth larger (39 MB
# against 32 MB for light 100 MB, still a third of the text's size). Recompress to archive.
PARQUET_LEVEL = 1


def table_file(name: str) -> str:
    return f"{name}.parquet"


def settings_of(options: ScanOptions, bands: int, rows: int, made_by: str) -> dict[str, Any]:
    """Everything needed to reproduce or compare a scan: the options, the MinHash parameters with the
    equivalent datasketch call, and the banding."""
    minhash = options.minhash
    return {
        "dedup_version": made_by,
        "format_version": FORMAT_VERSION,
        "options": dataclasses.asdict(options),
        "minhash": {
            "num_perm": minhash.num_perm,
            "seed": minhash.seed,
            "scheme": minhash.scheme,
            "hashfunc": minhash.hashfunc,
            "datasketch_equivalent": (
                f"MinHash(num_perm={minhash.num_perm}, seed={minhash.seed}, "
                f"scheme={minhash.scheme!r}, hashfunc=xxhash.xxh32_intdigest)"
            ),
        },
        "lsh": {"bands": bands, "rows": rows},
    }


def parquet_metadata(settings: dict[str, Any]) -> dict[str, str]:
    """The key-value metadata every Parquet file of a scan carries."""
    return {"dedup": json.dumps(settings, sort_keys=True)}


def prepared_folder(out: str | Path) -> Path:
    """The output folder, made if missing.

    Raises:
        OutputError: it exists and is not a folder, or cannot be made.
    """
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: exists and is not a folder")
    with output_errors(folder):
        folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def output_errors(where: str | Path, hint: str = "") -> Iterator[None]:
    """Turn an ``OSError`` (a full disk, a missing permission) into an ``OutputError`` naming the place.

    Raises:
        OutputError: what the block raised as an ``OSError``.
    """
    try:
        yield
    except OSError as exc:
        raise OutputError(f"{exc.filename or where}: cannot write ({exc.strerror or exc}){hint}") from exc


class StagedFiles:
    """Output files written under temporary names in their folder and renamed into place together.

    Each file is staged beside its final place (``commit.temporary_name``) and fsynced; ``commit``
    renames them all in one journaled change (``dedup.commit``), so an error on the way (a full disk)
    leaves the folder as it was and a run killed half-way is finished by the next. Files may be staged
    from several threads at once. Use as a context manager: what was staged and not committed is
    removed on leaving it.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._staged: dict[str, Path] = {}  # file name -> temporary path, in the order staged
        self._lock = threading.Condition()
        self._writing = 0  # stages under way in some thread
        self._closed = False  # discarded: a writer thread still running must not stage another file

    def stage(self, name: str, write: Callable[[str], object]) -> None:
        """Call ``write(temporary path)`` for the file ``name``.

        Raises:
            OSError: from ``write``; the temporary file is removed on leaving the context.
        """
        temporary = commit.temporary_name(self.folder / name)
        with self._lock:
            if self._closed:
                raise OSError(f"{self.folder}: the run stopped before {name} was written")
            # Known before the file exists, so that discard (on Ctrl-C, SIGTERM) finds it whenever it comes.
            self._staged[name] = temporary
            self._writing += 1
        try:
            temporary.touch(mode=0o666 & ~_umask(), exist_ok=False)
            write(str(temporary))
            commit.fsync_file(temporary)
        finally:
            with self._lock:
                self._writing -= 1
                self._lock.notify_all()

    def path(self, name: str) -> Path:
        """Where the file ``name`` is staged."""
        return self._staged[name]

    def commit(self) -> list[Path]:
        """Rename every staged file into place, in the order staged, as one change; their paths.

        Raises:
            OSError: a rename failed.
        """
        with self._lock:
            renames = [(temporary, self.folder / name) for name, temporary in self._staged.items()]
            commit.commit(renames, self.folder)
            self._staged.clear()
            return [final for _, final in renames]

    def discard(self) -> None:
        """Remove every staged file that was not committed.

        Writers still running in other threads (an interrupt reaches only the main thread) are waited for
        first: a file they opened after its removal would stay behind.
        """
        with self._lock:
            self._closed = True
            self._lock.wait_for(lambda: self._writing == 0)
            for temporary in self._staged.values():
                temporary.unlink(missing_ok=True)
            self._staged.clear()

    def __enter__(self) -> StagedFiles:
        return self

    def __exit__(self, *_: object) -> None:
        self.discard()


@contextmanager
def writing(folder: Path) -> Iterator[StagedFiles]:
    """Stage files in ``folder`` as its one writer: locked, with what dead runs left there finished first.

    Raises:
        OutputError: another run writes the folder, or it cannot be written.
    """
    with commit.writer_lock(folder / commit.LOCK_NAME, str(folder)):
        with output_errors(folder):
            commit.recover(folder)
        with StagedFiles(folder) as staged:
            yield staged


def atomic_write(target: Path, write: Callable[[str], object]) -> Path:
    """Call ``write(temporary path)`` for a file in the same folder, then rename it into place.

    Raises:
        OSError: from ``write`` or the rename; the temporary file is removed.
    """
    commit.recover(target.parent)
    with StagedFiles(target.parent) as staged:
        staged.stage(target.name, write)
        staged.commit()
    return target


def stage_table(staged: StagedFiles, name: str, frame: pl.LazyFrame | pl.DataFrame, metadata: dict[str, str]) -> None:
    """Stage one table as Parquet; a lazy one streams (memory bounded by the engine's morsels).

    Raises:
        OutputError: it cannot be written.
    """
    lazy = frame.lazy()
    with output_errors(staged.folder):
        staged.stage(
            table_file(name),
            lambda path: lazy.sink_parquet(
                path,
                compression="zstd",
                compression_level=PARQUET_LEVEL,
                metadata=metadata,
                row_group_size=ROW_GROUP_ROWS,
            ),
        )


def stage_summary(staged: StagedFiles, summary: dict[str, Any]) -> None:
    """Stage ``scan.json``.

    Raises:
        OutputError: it cannot be written.
    """
    text = json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    with output_errors(staged.folder):
        staged.stage(SUMMARY_FILE, lambda p: Path(p).write_text(text, encoding="utf-8"))


def copy_tables(files: dict[str, Path], staged: StagedFiles) -> None:
    """Stage copies of a scan's Parquet files.

    Raises:
        OutputError: a file cannot be written.
    """
    with output_errors(staged.folder):
        for name in files:
            staged.stage(table_file(name), functools.partial(_copy, files[name]))


def _copy(source: Path, target: str) -> None:
    shutil.copyfile(source, target)


def fingerprints(files: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """Size and XXH64 of each table's file, by file name: what ``scan.json`` binds the files with."""
    found = {}
    for name in files:
        digest = xxhash.xxh64()
        with open(files[name], "rb") as handle:
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
        found[table_file(name)] = {"bytes": os.path.getsize(files[name]), "xxh64": digest.hexdigest()}
    return found


def scan_id(files: dict[str, dict[str, Any]]) -> str:
    """The id of a scan's files: a hash of their fingerprints (the same files, the same id)."""
    return xxhash.xxh64(json.dumps(files, sort_keys=True).encode()).hexdigest()


def check_fingerprints(folder: Path, saved: dict[str, Any], summary_path: Path) -> None:
    """Check that the tables are the files ``scan.json`` was written with: none damaged, none of another scan.

    Raises:
        InputError: a file differs in size or content, or ``scan.json`` holds no fingerprints.
    """
    recorded = saved.get("files")
    if not isinstance(recorded, dict) or saved.get("scan_id") != scan_id(recorded):
        raise InputError(f"{summary_path}: no valid fingerprints of the tables; scan again with --out")
    names = [name for name in SCHEMAS if table_file(name) in recorded]
    if set(recorded) != {table_file(name) for name in names} or not set(TABLES) <= set(names):
        raise InputError(f"{summary_path}: its fingerprints name other tables; scan again with --out")
    found = fingerprints({name: folder / table_file(name) for name in names})
    for file, expected in found.items():
        if recorded.get(file) != expected:
            raise InputError(
                f"{folder / file}: not the file this scan wrote (damaged, or written by another scan); "
                "scan again with --out"
            )


def read_summary(path: Path) -> dict[str, Any]:
    """``scan.json`` of a saved scan, checked for its format version.

    Raises:
        InputError: it is missing, unreadable, not JSON or of another format version.
    """
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: missing; is this a folder written by dedup scan --out?") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg})") from exc
    if not isinstance(saved, dict):
        raise InputError(f"{path}: expected a JSON object, got {type(saved).__name__}")
    found = saved.get("settings", {}).get("format_version") if isinstance(saved.get("settings"), dict) else None
    if found != FORMAT_VERSION:
        raise InputError(f"{path}: format version {found!r}, this dedup reads {FORMAT_VERSION}; scan again with --out")
    return saved


def check_table(path: Path, schema: pl.Schema) -> None:
    """Check that a saved table is there and has the columns of its schema.

    Raises:
        InputError: it is missing, not Parquet, or has other columns.
    """
    if not path.is_file():
        raise InputError(f"{path}: missing; is this a folder written by dedup scan --out?")
    try:
        found = pl.read_parquet_schema(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from exc
    wrong = [
        f"{name} ({found.get(name, 'missing')}, expected {dtype})"
        for name, dtype in schema.items()
        if found.get(name) != dtype
    ]
    if wrong:
        raise InputError(f"{path}: unexpected columns: {', '.join(wrong)}")


def options_from_dict(data: dict[str, Any]) -> ScanOptions:
    """The options of ``dataclasses.asdict(options)`` back as objects (validated again).

    Raises:
        KeyError, TypeError, OptionsError: ``data`` is not such a dict.
    """
    defaults = ScanOptions()
    parts: dict[str, Any] = {}
    for option in dataclasses.fields(ScanOptions):
        value, default = data[option.name], getattr(defaults, option.name)
        # A stage's options were saved as a dict (asdict); a plain option as its value.
        if dataclasses.is_dataclass(default) and not isinstance(default, type):
            if not isinstance(value, dict):
                raise TypeError(f"{option.name} must be an object, got {value!r}")
            value = dataclasses.replace(default, **value)
        parts[option.name] = value
    return ScanOptions(**parts)


def summary_error(path: Path, exc: Exception) -> InputError:
    return InputError(f"{path}: not a dedup scan summary ({exc!r}); scan again with --out")


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def check_not_input(out: Path, paths: Sequence[str | Path]) -> None:
    """Refuse an output folder that is an input or lies inside an input folder: the next scan would read
    the tables as documents.

    Raises:
        OutputError: ``out`` is, or is inside, an input (a file, a folder, or a match of a pattern).
    """
    target = out.resolve()
    for given in paths:
        if str(given) == "-":
            continue
        matches = [Path(given)] if os.path.lexists(given) else [Path(m) for m in glob.glob(str(given), recursive=True)]
        for match in matches:
            resolved = match.resolve()
            if target == resolved or resolved in target.parents:
                raise OutputError(f"{out}: the output must not be an input or inside an input folder ({given})")
            if target in resolved.parents:
                raise OutputError(f"{out}: the output folder holds the input {match}; write the output elsewhere")
