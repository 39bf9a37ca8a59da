"""Text -> matching form, for whole batches at once (never used for output).

The steps, each a polars string kernel over the whole batch:

1. drop invisible format characters (zero-width spaces and joiners, soft hyphens, BOMs);
2. Unicode NFKC (full-width forms, ligatures, compatibility quotes);
3. case folding (lower case plus the full case folds, ``ß`` -> ``ss``), then NFKC
   again, because folding can leave text that is not NFKC;
4. strip list markers (``1.``, ``2)``) at the start of every line;
5. every run of punctuation, symbols (quotes, dashes, bullets), controls and white
   space becomes one space, and the ends are trimmed.

The result is idempotent: ``normalize(normalize(s)) == normalize(s)``.
"""

from __future__ import annotations

import sys
import unicodedata
from functools import cache

import polars as pl

_FORMAT_CHARS = r"\p{Cf}"
_NUMBERED_MARKER = r"(?m)^[\p{Z}\t]*\d{1,3}[.)][\p{Z}\t]+"
_SEPARATORS = r"[\p{P}\p{S}\p{Z}\p{Cc}\s]+"


@cache
def _case_folds() -> tuple[list[str], list[str]]:
    """Characters that stay as they are in lower case but change in case folding."""
    keys: list[str] = []
    values: list[str] = []
    # Every character with a case fold lives below U+30000.
    for code in range(min(sys.maxunicode, 0x2FFFF) + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        if char.lower() == char and char.casefold() != char:
            keys.append(char)
            values.append(unicodedata.normalize("NFKC", char.casefold()))
    return keys, values


def normalize_expr(column: str | pl.Expr) -> pl.Expr:
    """The normalization as a polars expression, for use inside a query."""
    keys, values = _case_folds()
    expr = pl.col(column) if isinstance(column, str) else column
    return (
        expr.str.replace_all(_FORMAT_CHARS, "")
        .str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_many(keys, values)
        .str.normalize("NFKC")
        .str.replace_all(_NUMBERED_MARKER, "")
        .str.replace_all(_SEPARATORS, " ")
        .str.strip_chars(" ")
    )


def normalize_series(texts: pl.Series) -> pl.Series:
    """Normalize every text of a batch."""
    return texts.to_frame("t").select(normalize_expr("t"))["t"].rename(texts.name)


def normalize(text: str) -> str:
    """Normalize one text (the same steps as for a batch)."""
    return normalize_series(pl.Series([text], dtype=pl.String))[0]
