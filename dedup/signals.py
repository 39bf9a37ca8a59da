"""Ctrl-C and SIGTERM on the command line: a run stops as on ``KeyboardInterrupt``, so that every clean-up
(staged files, spill folders) runs, but never in the middle of code that an interrupt would leave broken.

Python raises an interrupt in the main thread between two bytecodes, wherever that is. Some code cannot take
it there. numba takes its compiler lock in a Python method (``_CompilerLock.acquire``): an interrupt raised
just after the lock is taken and before its ``with`` block begins leaves the lock held for good, so the next
kernel a writer thread loads waits forever, and so does the run's clean-up, which waits for the writers (a
scan stopped by SIGTERM hung this way in CI). numba also turns an interrupt raised inside its dispatcher
into a ``SystemError``. And a commit's renames (``dedup.commit``) are better made whole than left to the
next run's recovery. While such code is on the main thread's stack the interrupt waits: the signal is
noted and sent again a moment later, until it lands elsewhere.

Only the command line installs these handlers; a program that imports dedup keeps its own.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

STOPPING = (signal.SIGINT, signal.SIGTERM)
RETRY_SECONDS = 0.05
# Top-level packages whose Python code holds locks that an interrupt would leave held (numba's compiler lock,
# taken while a kernel is compiled or loaded from the cache).
_UNINTERRUPTIBLE_PACKAGES = frozenset({"numba", "llvmlite"})
# dedup's own steps that are made whole: a commit's journaled renames and a dead run's recovery.
_UNINTERRUPTIBLE_STEPS = frozenset({("dedup.commit", name) for name in ("commit", "_replay", "recover")})

_received = threading.Event()


def install() -> None:
    """Stop on SIGINT and SIGTERM as on Ctrl-C, outside the code that must not be interrupted."""
    for signum in STOPPING:
        signal.signal(signum, _stop)


def received() -> bool:
    """Whether the process was asked to stop: what a stopped step raised then (numba's ``SystemError``, a
    writer's error) is part of stopping, not a fault."""
    return _received.is_set()


def uninterruptible(frame: FrameType | None) -> bool:
    """Whether this frame, or one that called it, runs code an interrupt must not enter."""
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.partition(".")[0] in _UNINTERRUPTIBLE_PACKAGES:
            return True
        if (module, frame.f_code.co_name) in _UNINTERRUPTIBLE_STEPS:
            return True
        frame = frame.f_back
    return False


def _stop(signum: int, frame: FrameType | None) -> None:
    _received.set()
    if uninterruptible(frame):
        _send_again(signum)
        return
    raise KeyboardInterrupt


def _send_again(signum: int) -> None:
    """Deliver ``signum`` to this process again shortly (a daemon timer: it never holds up the exit)."""
    timer = threading.Timer(RETRY_SECONDS, os.kill, (os.getpid(), signum))
    timer.daemon = True
    timer.start()
