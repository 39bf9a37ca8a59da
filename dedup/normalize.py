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

Texts made only of "simple" characters (ASCII, Latin, Greek, Cyrillic letters
that NFKC leaves alone, common punctuation and symbols: the bulk of most
crawls) take a compiled fast path that does exactly what the steps above do to
them; a property test holds the two paths equal.
"""

from __future__ import annotations

import sys
import unicodedata
from functools import cache

import numpy as np
import polars as pl
from numba import njit

from dedup._arrow import Utf8Texts, as_utf8
from dedup._kernels import decode_utf8

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


# The compiled fast path covers texts whose every character is "simple" (a
# table over the code points below SIMPLE_LIMIT): it does exactly what the steps
# above do to such text. Everything else goes the polars way.
SIMPLE_LIMIT = 0x3000
FALLBACK, KEEP, SEPARATOR, SPACE = 0, 1, 2, 3  # SPACE: \p{Z} or tab, for list markers
MAX_FOLD = 3


@cache
def _case_fold_map() -> dict[str, str]:
    return dict(zip(*_case_folds(), strict=True))


def _fold(char: str) -> str:
    """What the polars path makes of one character: lower case, then the case folds."""
    folds = _case_fold_map()
    lowered = "".join(folds.get(x, x) for x in char.lower())
    return unicodedata.normalize("NFKC", lowered)


def _is_separator(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "PSZ" or category == "Cc"


@cache
def _simple_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class and case fold (up to three code points, -1 padded) of every simple code point, and byte folds.

    The byte folds: for every byte value, the fold of an ASCII letter or digit, 0 for anything else.

    A letter or digit is simple when NFKC leaves it alone, it is no combining
    character or Hangul jamo (nothing can compose with it), its fold is made of
    such letters, and it is not a non-ASCII decimal digit (those can open a
    numbered list marker). A separator is simple when its NFKC form is made of
    separators only (``…`` is, ``™`` is not).
    """
    classes = np.zeros(SIMPLE_LIMIT, dtype=np.int8)
    folds = np.full((SIMPLE_LIMIT, MAX_FOLD), -1, dtype=np.int64)
    for code in range(SIMPLE_LIMIT):
        char = chr(code)
        category = unicodedata.category(char)
        if _is_separator(char):
            if all(_is_separator(x) for x in unicodedata.normalize("NFKC", char)):
                classes[code] = SPACE if category[0] == "Z" or char == "\t" else SEPARATOR
            continue
        if category[0] not in "LN" or unicodedata.normalize("NFKC", char) != char or 0x1100 <= code <= 0x11FF:
            continue
        if category == "Nd" and code > 127:
            continue
        fold = _fold(char)
        simple_fold = 1 <= len(fold) <= MAX_FOLD and all(
            ord(x) < SIMPLE_LIMIT and unicodedata.category(x)[0] in "LN" and _fold(x) == x for x in fold
        )
        if simple_fold:
            classes[code] = KEEP
            folds[code, : len(fold)] = [ord(x) for x in fold]
    byte_folds = np.zeros(256, dtype=np.uint8)
    ascii_keep = classes[:128] == KEEP
    byte_folds[:128][ascii_keep] = folds[:128, 0][ascii_keep]
    return classes, folds, byte_folds


@njit(inline="always")
def _class_of(cp, classes):
    return classes[cp] if cp < SIMPLE_LIMIT else FALLBACK


@njit(inline="always")
def _marker_end(data, p, end, classes):
    """End of a numbered list marker (spaces, 1-3 digits, "." or ")", spaces) at p, or p."""
    q = p
    while q < end:
        cp, n = decode_utf8(data, q)
        if _class_of(cp, classes) != SPACE:
            break
        q += n
    digits = 0
    while q < end and 48 <= data[q] <= 57:
        digits += 1
        q += 1
    if digits < 1 or digits > 3 or q >= end or (data[q] != 46 and data[q] != 41):
        return p
    q += 1
    spaces = 0
    while q < end:
        cp, n = decode_utf8(data, q)
        if _class_of(cp, classes) != SPACE:
            break
        q += n
        spaces += 1
    return q if spaces else p


@njit(inline="always")
def _fold_bytes(folds, cp):
    """UTF-8 length of the case fold of a simple character."""
    size = 0
    for k in range(MAX_FOLD):
        code = folds[cp, k]
        if code < 0:
            break
        size += 1 if code < 0x80 else (2 if code < 0x800 else 3)
    return size


@njit(inline="always")
def _encode_utf8(cp, out, w):
    if cp < 0x80:
        out[w] = cp
        return w + 1
    if cp < 0x800:
        out[w] = 0xC0 | (cp >> 6)
        out[w + 1] = 0x80 | (cp & 0x3F)
        return w + 2
    out[w] = 0xE0 | (cp >> 12)
    out[w + 1] = 0x80 | ((cp >> 6) & 0x3F)
    out[w + 2] = 0x80 | (cp & 0x3F)
    return w + 3


@njit(cache=True, nogil=True)
def _simple_batch(data, offsets, classes, folds, byte_folds):
    """Normalize the texts made of simple characters; ``simple[i]`` says whether text i was one.

    ``byte_folds[b]`` is the fold of an ASCII letter or digit ``b`` and 0 for every other byte, so
    that runs of them, most of any text, are copied with one table lookup per byte.
    """
    n = offsets.shape[0] - 1
    simple = np.ones(n, np.bool_)
    # Each text is written where it was read, never ahead of the byte being read. Normalizing shortens
    # text (separator runs become one space) except for the rare case folds that are longer than their
    # character (U+0149 -> 2 code points, 3 bytes); a text where one gets ahead takes the polars path.
    out = np.empty(data.shape[0], np.uint8)
    sizes = np.zeros(n, np.int64)
    for i in range(n):
        start, end = offsets[i], offsets[i + 1]
        base = start
        w = base
        pending_space = False
        line_start = True
        p = start
        while p < end:
            if line_start:
                line_start = False
                skip = _marker_end(data, p, end, classes)
                if skip > p:
                    pending_space = True
                    p = skip
                    continue
            b = data[p]
            if b < 0x80:  # ASCII: a letter or digit (a run of them), or else a separator
                fold = byte_folds[b]
                if fold == 0:
                    pending_space = True
                    line_start = b == 10
                    p += 1
                    continue
                if pending_space and w > base:
                    out[w] = 32
                    w += 1
                pending_space = False
                while fold != 0:
                    out[w] = fold
                    w += 1
                    p += 1
                    if p == end:
                        break
                    fold = byte_folds[data[p]]
                continue
            cp, width = decode_utf8(data, p)
            kind = _class_of(cp, classes)
            if kind == FALLBACK:
                simple[i] = False
                break
            if kind == KEEP:
                # Never ahead of the input: the ASCII runs write over their own bytes.
                if w + (pending_space and w > base) + _fold_bytes(folds, cp) > p + width:
                    simple[i] = False
                    break
                if pending_space and w > base:
                    out[w] = 32
                    w += 1
                for k in range(MAX_FOLD):
                    if folds[cp, k] < 0:
                        break
                    w = _encode_utf8(folds[cp, k], out, w)
                pending_space = False
            else:
                pending_space = True
            p += width
        sizes[i] = w - base if simple[i] else 0
    new_offsets = np.zeros(n + 1, np.int64)
    new_offsets[1:] = np.cumsum(sizes)
    packed = np.empty(new_offsets[n], np.uint8)
    for i in range(n):
        packed[new_offsets[i] : new_offsets[i + 1]] = out[offsets[i] : offsets[i] + sizes[i]]
    return packed, new_offsets, simple


def normalize_texts(texts: pl.Series | Utf8Texts) -> Utf8Texts:
    """Normalize every text of a batch (texts of simple characters on the compiled fast path)."""
    batch = as_utf8(texts)
    packed, new_offsets, simple = _simple_batch(batch.data, batch.offsets, *_simple_tables())
    others = np.flatnonzero(~simple)
    if not others.size:
        return Utf8Texts(packed, new_offsets)
    slow = _unicode_path(batch.take(~simple).to_series("t"))
    result = Utf8Texts(packed, new_offsets).to_series("t").scatter(others, slow)
    return Utf8Texts.from_series(result)


def normalize_series(texts: pl.Series) -> pl.Series:
    """Normalize every text of a batch, as a polars Series."""
    return normalize_texts(texts).to_series(texts.name)


def normalize(text: str) -> str:
    """Normalize one text (the same steps as for a batch)."""
    return normalize_series(pl.Series([text], dtype=pl.String))[0]
