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

Pure-ASCII texts, the bulk of most crawls, take a compiled fast path that does
exactly what the steps above do to ASCII (NFKC and case folding reduce to
lower-casing there); a property test holds the two paths equal.
"""

from __future__ import annotations

import sys
import unicodedata
from functools import cache

import numpy as np
import polars as pl
from numba import njit, prange

from dedup._arrow import strings_from_buffer, utf8_buffer

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


def _unicode_path(texts: pl.Series) -> pl.Series:
    return texts.to_frame("t").select(normalize_expr("t"))["t"]


@njit(inline="always")
def _is_alnum(b):
    return (48 <= b <= 57) or (65 <= b <= 90) or (97 <= b <= 122)


@njit(inline="always")
def _marker_end(data, p, end):
    """End of a numbered list marker (spaces, 1-3 digits, "." or ")", spaces) at p, or p."""
    q = p
    while q < end and (data[q] == 32 or data[q] == 9):
        q += 1
    digits = 0
    while q < end and 48 <= data[q] <= 57:
        digits += 1
        q += 1
    if digits < 1 or digits > 3 or q >= end or (data[q] != 46 and data[q] != 41):
        return p
    q += 1
    if q >= end or (data[q] != 32 and data[q] != 9):
        return p
    while q < end and (data[q] == 32 or data[q] == 9):
        q += 1
    return q


@njit(parallel=True, cache=True)
def _ascii_batch(data, offsets):
    """Normalize pure-ASCII texts; ``ascii[i]`` says whether text i was one."""
    n = offsets.shape[0] - 1
    ascii_text = np.ones(n, np.bool_)
    out = np.empty(data.shape[0], np.uint8)  # normalizing never lengthens ASCII
    sizes = np.zeros(n, np.int64)
    for i in prange(n):
        start, end = offsets[i], offsets[i + 1]
        for p in range(start, end):
            if data[p] >= 0x80:
                ascii_text[i] = False
                break
        if not ascii_text[i]:
            continue
        w = start
        pending_space = False
        p = start
        while p < end:
            if p == start or data[p - 1] == 10:
                skip = _marker_end(data, p, end)
                if skip > p:
                    pending_space = True
                    p = skip
                    continue
            b = data[p]
            if _is_alnum(b):
                if pending_space and w > start:
                    out[w] = 32
                    w += 1
                out[w] = b + 32 if 65 <= b <= 90 else b
                w += 1
                pending_space = False
            else:
                pending_space = True
            p += 1
        sizes[i] = w - start
    new_offsets = np.zeros(n + 1, np.int64)
    new_offsets[1:] = np.cumsum(sizes)
    packed = np.empty(new_offsets[n], np.uint8)
    for i in prange(n):
        packed[new_offsets[i] : new_offsets[i + 1]] = out[offsets[i] : offsets[i] + sizes[i]]
    return packed, new_offsets, ascii_text


def normalize_series(texts: pl.Series) -> pl.Series:
    """Normalize every text of a batch (ASCII texts on the compiled fast path)."""
    data, offsets = utf8_buffer(texts)
    packed, new_offsets, ascii_text = _ascii_batch(data, offsets)
    result = strings_from_buffer(packed, new_offsets, texts.name)
    others = np.flatnonzero(~ascii_text)
    if others.size:
        result = result.scatter(others, _unicode_path(texts.gather(others)))
    return result


def normalize(text: str) -> str:
    """Normalize one text (the same steps as for a batch)."""
    return normalize_series(pl.Series([text], dtype=pl.String))[0]
