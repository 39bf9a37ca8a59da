"""The one exception tree of dedup.

::

    DedupError                  anything dedup raises on purpose
    ├── OptionsError            an option value that cannot work (also a ValueError)
    ├── InputError              an input that cannot be read at all
    │   └── NoDocumentsError    the inputs held no document to scan
    └── OutputError             an output location that cannot be written

The CLI translates every DedupError into ``Error: <message>`` and exit code 2,
in one place (``dedup.cli``); a problem with one record is not an exception but
a ``Skip`` kept as data, so that the rest of the input is still processed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class DedupError(Exception):
    """Base class of every error dedup raises on purpose."""


class OptionsError(DedupError, ValueError):
    """An option value that cannot work; the message says which values can."""


class InputError(DedupError):
    """An input path or file that cannot be read at all."""


class NoDocumentsError(InputError):
    """The inputs were readable but held no document.

    Attributes:
        skips: every record skipped instead (``dedup.sources.Skip``), which says why.
    """

    def __init__(self, message: str, skips: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.skips = list(skips)


class OutputError(DedupError):
    """An output location that cannot be written."""
