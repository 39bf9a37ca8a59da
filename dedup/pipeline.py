"""``dedup.scan``: the public entry point of a scan, run by the runner for this machine.

The stages (``dedup.stage`` per batch; ``candidates``, ``cluster``, ``documents`` corpus-wide) are
driven by a runner; ``dedup.runners.local`` runs them on one machine with bounded memory.
"""

from __future__ import annotations

from dedup.runners.local import Progress, scan

__all__ = ["Progress", "scan"]
