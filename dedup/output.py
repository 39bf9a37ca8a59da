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
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import polars as pl

from dedup import schema as S
from dedup.errors import InputError, OutputError
from dedup.options import ScanOptions

TABLES = ("blocks", "pairs", "clusters", "documents")
SCHEMAS = {
    "blocks": S.BLOCKS_SCHEMA,
    "pairs": S.PAIRS_SCHEMA,
    "clusters": S.CLUSTERS_SCHEMA,
    "documents": S.DOCUMENTS_SCHEMA,
}
SUMMARY_FILE = "scan.json"
FORMAT_VERSION = 2  # 2: near clusters around centres, pairs in the order of their second block
# Rows per row group of blocks.parquet: about 10 MB of text each. Polars encodes row groups in parallel;
# with its default (a few row groups per 100 MB) two cores wrote the table no faster than one, with twice
# the CPU; 25,000 rows made it 1.6x faster on two cores for a 4% larger file (measured on 103 MB).
ROW_GROUP_ROWS = 25_000


def table_file(name: str) -> str:
    return f"{name}.parquet"


def dedup_version() -> str:
    try:
        return version("dedup")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


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

    None replaces an older file until all are written: an error on the way (a full disk) leaves the
    folder as it was. Files may be staged from several threads at once. Use as a context manager:
    what was staged and not committed is removed on leaving it.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._staged: dict[str, str] = {}  # file name -> temporary path, in the order staged
        self._lock = threading.Lock()

    def stage(self, name: str, write: Callable[[str], object]) -> None:
        """Call ``write(temporary path)`` for the file ``name``.

        Raises:
            OSError: from ``write``; the temporary file is removed on leaving the context.
        """
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=self.folder)
        os.close(handle)
        with self._lock:
            self._staged[name] = temporary
        write(temporary)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp creates 0600; outputs are ordinary files

    def path(self, name: str) -> Path:
        """Where the file ``name`` is staged."""
        return Path(self._staged[name])

    def commit(self) -> list[Path]:
        """Rename every staged file into place, in the order staged; their paths.

        Raises:
            OSError: a rename failed.
        """
        with self._lock:
            written = []
            for name, temporary in list(self._staged.items()):
                os.replace(temporary, self.folder / name)
                del self._staged[name]
                written.append(self.folder / name)
            return written

    def discard(self) -> None:
        """Remove every staged file that was not committed."""
        with self._lock:
            for temporary in self._staged.values():
                if os.path.exists(temporary):
                    os.unlink(temporary)
            self._staged.clear()

    def __enter__(self) -> StagedFiles:
        return self

    def __exit__(self, *_: object) -> None:
        self.discard()


def atomic_write(target: Path, write: Callable[[str], object]) -> Path:
    """Call ``write(temporary path)`` for a file in the same folder, then rename it into place.

    Raises:
        OSError: from ``write`` or the rename; the temporary file is removed.
    """
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
            lambda path: lazy.sink_parquet(path, metadata=metadata, row_group_size=ROW_GROUP_ROWS),
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
        for name in TABLES:
            staged.stage(table_file(name), functools.partial(_copy, files[name]))


def _copy(source: Path, target: str) -> None:
    shutil.copyfile(source, target)


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
        value = data[option.name]
        # A stage's options were saved as a dict (asdict); a plain option as its value.
        parts[option.name] = type(getattr(defaults, option.name))(**value) if isinstance(value, dict) else value
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
