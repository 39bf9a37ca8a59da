"""Changes to files that must happen together or not at all, and what a killed run leaves behind.

Every output dedup writes is first staged under a temporary name that carries the writer's process id
(``.blocks.parquet.<pid>.<token>.dedup-tmp``), next to its final place, and fsynced. A commit then
writes a *journal* of the renames it is about to make (``.dedup-commit.<pid>.<token>.json``), fsyncs
it, makes the renames, and removes the journal. A run killed half-way leaves the journal and its
staged files; the next run that takes the same place calls ``recover``, which finishes the renames
of every journal whose process is gone (roll forward: everything it names was fully written before
the journal was) and removes the staged files of dead processes that no journal names. So a folder
never keeps a mix of two runs' files, and nothing of a dead run stays behind.

``writer_lock`` makes a second writer of the same place fail at once with a clear message, rather
than interleave with the first (readers are never blocked: they read committed files); the lock file
is gone when the writer is done.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from dedup.errors import OutputError

TEMP_SUFFIX = ".dedup-tmp"
JOURNAL_PREFIX = ".dedup-commit."
LOCK_NAME = ".dedup.lock"
_OWNED = re.compile(r"\.(\d+)\.[0-9a-f]{8}(?:\.dedup-tmp|\.json)$")  # the pid in a temporary or journal name
TEMP_FOLDER_PREFIXES = ("dedup-spill-", "dedup-result-", "dedup-input-")  # in TMPDIR, then the pid


def temporary_name(final: Path) -> Path:
    """Where ``final`` is staged: beside it, hidden, named for this process."""
    return final.parent / f".{final.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"


def fsync_file(path: str | Path) -> None:
    """Flush a written file to the disk, so that a rename after it never exposes a half-written file."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (the renames in it) to the disk."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


REPLACE, ASIDE = "replace", "aside"  # kinds of rename: put a staged file in place; move an old folder away


def commit(renames: list[tuple[Path, Path]], journal_folder: Path, aside: tuple[Path, Path] | None = None) -> None:
    """Make the renames (staged path, final path), in order, as one change: journaled, so that a run
    killed half-way is finished by the next one (``recover``).

    Args:
        renames: each staged file or folder and its final place (a file there is replaced).
        journal_folder: where the journal is written (the folder of the final places).
        aside: (an existing folder, a temporary name): moved away first, when a folder is replaced.

    Raises:
        OSError: a rename or a write failed; what is done stays done and the journal stays for ``recover``.
    """
    steps = ([(ASIDE, *aside)] if aside else []) + [(REPLACE, source, target) for source, target in renames]
    journal = journal_folder / f"{JOURNAL_PREFIX}{os.getpid()}.{secrets.token_hex(4)}.json"
    journal.write_text(json.dumps([[kind, str(a), str(b)] for kind, a, b in steps]), encoding="utf-8")
    fsync_file(journal)
    fsync_folder(journal_folder)
    _replay(steps)
    journal.unlink()
    fsync_folder(journal_folder)


def _replay(steps: list[tuple[str, Path, Path]]) -> None:
    """Make each step that is not made yet: a replace whose source is still there, a move aside whose
    target is not there yet (after the replace that follows it, the source is there again: the new folder)."""
    folders = set()
    for kind, source, target in steps:
        done = target.exists() if kind == ASIDE else not (source.exists() or source.is_symlink())
        if not done and (source.exists() or source.is_symlink()):
            os.replace(source, target)
            folders.update({source.parent, target.parent})
    for folder in folders:
        fsync_folder(folder)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (on this machine)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def _owner(name: str) -> int | None:
    match = _OWNED.search(name)
    return int(match.group(1)) if match else None


def recover(folder: Path) -> None:
    """Finish the commits of dead runs journaled in ``folder`` and remove their staged leftovers there.

    Raises:
        OSError: the folder cannot be listed or changed.
    """
    if not folder.is_dir():
        return
    for journal in sorted(folder.glob(f"{JOURNAL_PREFIX}*.json")):
        owner = _owner(journal.name)
        if owner is None or pid_alive(owner):
            continue
        steps = [(kind, Path(a), Path(b)) for kind, a, b in json.loads(journal.read_text(encoding="utf-8"))]
        _replay(steps)
        journal.unlink()
    for leftover in folder.glob(f".*{TEMP_SUFFIX}"):
        owner = _owner(leftover.name)
        if owner is not None and not pid_alive(owner):
            remove(leftover)


def remove(path: Path) -> None:
    """Remove a file or a folder and all it holds, if it is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


def sweep_temporary_folders() -> None:
    """Remove the spill, result and input folders that dead dedup runs left in the temporary folder."""
    root = Path(tempfile.gettempdir())
    for prefix in TEMP_FOLDER_PREFIXES:
        for folder in root.glob(f"{prefix}*"):
            pid = folder.name[len(prefix) :].split("-", 1)[0]
            if pid.isdigit() and not pid_alive(int(pid)):
                shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def writer_lock(lock_file: Path, what: str) -> Iterator[None]:
    """Hold the lock of one place written to; a second writer fails at once.

    Raises:
        OutputError: another run holds it.
    """
    lock = FileLock(lock_file, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise OutputError(
            f"{what}: another dedup run is writing it; wait for that run to finish, or write elsewhere"
        ) from None
    except OSError as exc:
        raise OutputError(f"{what}: cannot lock it ({exc.strerror or exc})") from exc
    try:
        yield
    finally:
        # Removed while still held: a run that opened it meanwhile failed at once (no one waits on it),
        # and one that comes after makes a new one. So no lock file stays behind.
        lock_file.unlink(missing_ok=True)
        lock.release()
