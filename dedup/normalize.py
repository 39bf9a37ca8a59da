"""Text -> matching forms, for whole batches at once (never used for output).

**The exact form** (``normalize_texts``): two blocks are exact repeats when their exact forms are equal,
which is when their texts are the same up to white space, case, Unicode compatibility forms and list
markers, and nothing else: punctuation, symbols and digits are content (``expr * expr`` and
``expr / expr`` differ). The steps, each a polars string kernel over the whole batch:

1. drop invisible format characters (zero-width spaces and joiners, soft hyphens, BOMs);
2. Unicode NFKC (full-width forms, ligatures, compatibility characters);
3. case folding (lower case plus the full case folds, ``ß`` -> ``ss``), then NFKC again, because
   folding can leave text that is not NFKC;
4. strip the list markers at the start of every line: bullets (``-``, ``*``, ``+``, ``•``, ``–``, ...) and
   item numbers (``1.``, ``2)``), each followed by white space or the end of its line, since a bullet
   style is structure, not content;
5. every run of white space and control characters becomes one space, and the ends are trimmed.

**The near form** (``near_form``): the words of the exact form, what shingles are made of: a run of
punctuation and symbols that begins or ends a word goes (``(x),`` -> ``x``); one inside a word stays when
it only joins (``WORD_JOINERS``: ``a-1``, ``sub.example.com/x``, ``user_name``, ``don't``), and splits the word
otherwise (``f(x)`` -> ``f x``, ``"a".format`` -> ``a format``): split, joined words made unrelated URLs and
identifiers share shingles. The near form of code and tables (``verbatim``: a text whose exact form opens with a
code fence, a table row's ``|`` or a grid table's border) is their exact form: there punctuation, symbols and
digits are what the text says (``setup(name='foo')`` and ``setup (name = "foo")``), and they are shingled by
characters (``dedup.fingerprint.shingle_plan``).

Both are idempotent: ``normalize(normalize(s)) == normalize(s)``.

Texts made only of "simple" characters (ASCII, and the Latin, Greek and Cyrillic letters, punctuation
and symbols below U+3000 whose folds are simple too: the bulk of most crawls) take a compiled fast path
that does exactly what the steps above do to them; a test holds the two paths equal for every code
point below U+3000, alone and in context.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache

import numpy as np
import polars as pl
from numba import njit

from dedup._arrow import Utf8Texts, as_utf8
from dedup._kernels import decode_utf8

BULLETS = "-*+•‣◦▪▫●○·–—⁃∙■□➢➤►▸"  # the list bullets of segmentation too (dedup.segment)
_FORMAT_CHARS = r"\p{Cf}"
_MARKER_SPACE = r"[[\p{Z}\p{Cc}\s]&&[^\n]]"  # white space within a line
_BULLET_CLASS = "[" + "".join("\\" + b if b in "-*+" else b for b in BULLETS) + "]"
# Markers at a line start, one after the other (``- 1. item``), each followed by white space or the line's end.
_LIST_MARKER = rf"(?m)^(?:{_MARKER_SPACE}*(?:\d{{1,3}}[.)]|{_BULLET_CLASS})(?:{_MARKER_SPACE}+|$))+"
_SPACES = r"[\p{Z}\p{Cc}\s]+"
_WORD_START_PUNCTUATION = r"(^| )[\p{P}\p{S}]+"
_WORD_END_PUNCTUATION = r"[\p{P}\p{S}]+( |$)"
# Code and tables, the blocks segmentation keeps whole (dedup.segment), open with one of these in the exact form:
# a Markdown fence (the HTML reader writes every <pre> fenced), a table row's bar or a grid table's border.
VERBATIM_OPENINGS = ("```", "~~~", "|", "+-", "+=")
_VERBATIM = "^(?:" + "|".join(re.escape(opening) for opening in VERBATIM_OPENINGS) + ")"
# What joins the parts of one word: a-1, sub.example.com/x, user_name, don't, std::vector, a@b.
WORD_JOINERS = "-._'’/:@"
# A run of punctuation inside a word that holds anything else (brackets, quotes, operators) splits it.
_SPLITTING_PUNCTUATION = (
    r"[\p{P}\p{S}]*[[\p{P}\p{S}]--["
    + "".join("\\" + c if c in "-.[]" else c for c in WORD_JOINERS)
    + r"]][\p{P}\p{S}]*"
)


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
    """The exact form as a polars expression, for use inside a query."""
    keys, values = _case_folds()
    expr = pl.col(column) if isinstance(column, str) else column
    return (
        expr.str.replace_all(_FORMAT_CHARS, "")
        .str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_many(keys, values)
        .str.normalize("NFKC")
        .str.replace_all(_LIST_MARKER, "")
        .str.replace_all(_SPACES, " ")
        .str.strip_chars(" ")
    )


def near_expr(column: str | pl.Expr) -> pl.Expr:
    """The near form of texts in the exact form, as a polars expression."""
    expr = pl.col(column) if isinstance(column, str) else column
    # A run of punctuation goes where it begins or ends a word; inside one it stays when it only joins
    # (WORD_JOINERS), else it splits the word. Exact forms hold single spaces only, so a space is the one
    # separator to look for. Code and tables keep their exact form.
    words = (
        expr.str.replace_all(_WORD_START_PUNCTUATION, "$1")
        .str.replace_all(_WORD_END_PUNCTUATION, "$1")
        .str.replace_all(_SPLITTING_PUNCTUATION, " ")
        .str.replace_all(" +", " ")
        .str.strip_chars(" ")
    )
    return pl.when(expr.str.contains(_VERBATIM)).then(expr).otherwise(words)


def _unicode_path(texts: pl.Series) -> pl.Series:
    return texts.to_frame("t").select(normalize_expr("t"))["t"]


def _near_unicode_path(texts: pl.Series) -> pl.Series:
    return texts.to_frame("t").select(near_expr("t"))["t"]


# The compiled fast path covers texts whose every character is "simple" (tables over the code points
# below SIMPLE_LIMIT): it does exactly what the steps above do to such text. Everything else goes the
# polars way.
SIMPLE_LIMIT = 0x3000
FALLBACK, KEEP, SPACE, DROP, PUNCT = 0, 1, 2, 3, 4
MAX_FOLD = 3
_MARKER_CHARS = frozenset("0123456789.)" + BULLETS)


@cache
def _case_fold_map() -> dict[str, str]:
    return dict(zip(*_case_folds(), strict=True))


def _fold(char: str) -> str:
    """What the polars path makes of one character: NFKC, lower case, the case folds, NFKC."""
    folds = _case_fold_map()
    lowered = "".join(folds.get(x, x) for x in unicodedata.normalize("NFKC", char).lower())
    return unicodedata.normalize("NFKC", lowered)


def _is_space(char: str) -> bool:
    return unicodedata.category(char)[0] == "Z" or unicodedata.category(char) == "Cc" or char.isspace()


def _stable(char: str) -> bool:
    """A character that the steps leave as it is and that nothing can compose with."""
    category = unicodedata.category(char)
    if category[0] in "MZC" or ord(char) >= SIMPLE_LIMIT or 0x1100 <= ord(char) <= 0x11FF:
        return False
    if category == "Nd" and ord(char) > 127:  # a non-ASCII digit can open an item number
        return False
    return _fold(char) == char


@cache
def _simple_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The fast path's tables: the class and fold of every code point below ``SIMPLE_LIMIT``.

    Returns:
        ``classes``: KEEP (a letter, digit, punctuation or symbol with a simple fold), SPACE (white
        space or a control character), DROP (an invisible format character), FALLBACK (anything else);
        ``folds``: each KEEP character's fold, up to ``MAX_FOLD`` code points, -1 padded;
        ``marker_space``: the white space a list marker may have around it (any but the line feed);
        ``punctuation``: for the near form, 1 for punctuation and symbols (after folding they stand for
        themselves), 2 for those of them that join words (``WORD_JOINERS``), -1 for unassigned code points
        (left to the polars path).

    A character is simple when its fold is made of characters that fold to themselves, that are below
    ``SIMPLE_LIMIT`` and that no combining character can join. A character whose fold holds a digit,
    ``.``, ``)`` or a bullet, and is not that character itself, could open a list marker in the polars
    path that the fast path would not see: it is left to the polars path, unless its fold is two or more
    full stops (``…`` is ``...``, ``‥`` is ``..``): a marker's ``.`` must be followed by white space or the end,
    and each of these stops but the last is followed by another, while the last follows a stop, not a digit.
    """
    classes = np.zeros(SIMPLE_LIMIT, dtype=np.int8)
    folds = np.full((SIMPLE_LIMIT, MAX_FOLD), -1, dtype=np.int64)
    marker_space = np.zeros(SIMPLE_LIMIT, dtype=np.bool_)
    punctuation = np.zeros(SIMPLE_LIMIT, dtype=np.int8)
    for code in range(SIMPLE_LIMIT):
        char = chr(code)
        category = unicodedata.category(char)
        # For the near form: 1 punctuation or a symbol, 0 anything else, -1 a character Python's Unicode
        # database does not know, which the polars path's newer one may (U+2FFC is a symbol there).
        punctuation[code] = 1 if category[0] in "PS" else (-1 if category == "Cn" else 0)
        if char in WORD_JOINERS:
            punctuation[code] = 2
        if _is_space(char):
            classes[code] = SPACE
            marker_space[code] = char != "\n"
            continue
        if category == "Cf":
            classes[code] = DROP
            continue
        if category in ("Cn", "Co", "Cs") or category[0] == "M" or 0x1100 <= code <= 0x11FF:
            continue
        if category == "Nd" and code > 127:
            continue
        fold = _fold(char)
        if not 1 <= len(fold) <= MAX_FOLD or not all(_stable(x) for x in fold):
            continue
        if fold != char and any(x in _MARKER_CHARS for x in fold) and not _full_stops(fold):
            continue
        classes[code] = KEEP
        folds[code, : len(fold)] = [ord(x) for x in fold]
    return classes, folds, marker_space, punctuation


def _full_stops(fold: str) -> bool:
    """Whether a fold is a run of two or more full stops, which can neither open nor end a list marker."""
    return len(fold) >= 2 and set(fold) == {"."}


# ``_ascii_folds``: what a byte is in a run of ASCII.
_BLANK_BYTE = 0  # white space or a control character other than the line feed
_LEAVE_RUN = 1  # the line feed (a line may open with a list marker) or a byte beyond ASCII


@cache
def _ascii_folds() -> np.ndarray:
    """For each byte value, its fold when it is visible ASCII, else ``_BLANK_BYTE`` or ``_LEAVE_RUN``.

    Every visible ASCII character folds to one visible ASCII character (never 0 or 1), so one table says it all.
    """
    classes, folds, _, _ = _simple_tables()
    table = np.full(256, _LEAVE_RUN, dtype=np.uint8)
    for byte in range(0x80):
        table[byte] = _BLANK_BYTE if classes[byte] == SPACE else folds[byte, 0]
    table[10] = _LEAVE_RUN
    return table


@cache
def _bullet_codes() -> np.ndarray:
    return np.array([ord(b) for b in BULLETS], dtype=np.int64)


@njit(inline="always")
def _class_of(cp, classes):
    return classes[cp] if cp < SIMPLE_LIMIT else FALLBACK


@njit(inline="always")
def _is_marker_space(cp, marker_space):
    return cp < SIMPLE_LIMIT and marker_space[cp]


@njit(inline="always")
def _next_shown(data, q, end, classes):
    """The next character at or after q that is not dropped: its code point, position and length (-1 at the end)."""
    while q < end:
        cp, n = decode_utf8(data, q)
        if _class_of(cp, classes) != DROP:
            return cp, q, n
        q += n
    return -1, end, 0


@njit(inline="always")
def _skip_marker_spaces(data, q, end, classes, marker_space):
    """The position after the marker spaces at q (dropped characters among them), and how many spaces."""
    count = 0
    while True:
        cp, at, n = _next_shown(data, q, end, classes)
        if cp < 0 or not _is_marker_space(cp, marker_space):
            return at, count
        q = at + n
        count += 1


@njit(inline="always")
def _marker_end(data, p, end, classes, marker_space, bullets):
    """End of one list marker at p, or p: spaces, then 1-3 digits and "." or ")" or a bullet, then spaces
    or the end of the line.

    Dropped characters (zero-width, soft hyphens) are skipped anywhere in it, as the polars path removes
    them before it looks for markers.
    """
    q, _ = _skip_marker_spaces(data, p, end, classes, marker_space)
    digits = 0
    while True:
        cp, at, n = _next_shown(data, q, end, classes)
        if not 48 <= cp <= 57:
            break
        digits += 1
        q = at + n
    if digits > 3 or cp < 0:
        return p
    if digits:
        if cp != 46 and cp != 41:
            return p
    else:
        bullet = False
        for b in bullets:
            if cp == b:
                bullet = True
        if not bullet:
            return p
    q, spaces = _skip_marker_spaces(data, at + n, end, classes, marker_space)
    after, _, _ = _next_shown(data, q, end, classes)
    return q if spaces or after < 0 or after == 10 else p


@njit(inline="always")
def _markers_end(data, p, end, classes, marker_space, bullets):
    """End of the list markers at a line start p, one after the other, or p."""
    while True:
        q = _marker_end(data, p, end, classes, marker_space, bullets)
        if q == p:
            return p
        p = q


@njit(inline="always")
def _fold_bytes(folds, cp):
    """UTF-8 length of the fold of a simple character."""
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


@njit(inline="always")
def _packed(out, starts, sizes):
    """Texts written over their own spans (text i: ``sizes[i]`` bytes from ``starts[i]``), laid end to end."""
    n = sizes.shape[0]
    new_offsets = np.zeros(n + 1, np.int64)
    new_offsets[1:] = np.cumsum(sizes)
    packed = np.empty(new_offsets[n], np.uint8)
    for i in range(n):
        packed[new_offsets[i] : new_offsets[i + 1]] = out[starts[i] : starts[i] + sizes[i]]
    return packed, new_offsets


@njit(inline="never")
def _ascii_run(data, p, end, out, w, base, pending, ascii_folds):
    """The exact form of the run of ASCII at p (up to a line feed or a byte beyond ASCII) written at w.

    ``pending`` (1 or 0): white space stands before p. Returns the new p, w and pending. One table lookup per
    byte and no branch on its value: a space is written ahead every time and kept only where a character
    follows white space (not at the start of the text, ``base``); the character is written after it and kept
    unless it is white space. (A function of its own: written inside the batch loop, the same loop measured up to
    16% slower.)
    """
    while p < end:
        folded = ascii_folds[data[p]]
        if folded == _LEAVE_RUN:
            break
        blank = np.int64(folded == _BLANK_BYTE)
        out[w] = 32
        w += pending & (1 - blank) & np.int64(w > base)
        out[w] = folded
        w += 1 - blank
        pending = blank
        p += 1
    return p, w, pending


@njit(cache=True, nogil=True)
def _exact_batch(data, offsets, classes, folds, marker_space, bullets, ascii_folds):
    """The exact form of the texts made of simple characters; ``simple[i]`` says whether text i was one.

    Each text is written where it was read, never ahead of the byte being read: the form is never longer
    than the text, except for the rare folds that are longer than their character (U+0149 -> 2 code
    points, 3 bytes); a text where one would get ahead takes the polars path.
    """
    n = offsets.shape[0] - 1
    simple = np.ones(n, np.bool_)
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
                skip = _markers_end(data, p, end, classes, marker_space, bullets)
                if skip > p:
                    pending_space = True
                    p = skip
                    continue
            b = data[p]
            if b == 10:
                pending_space = True
                line_start = True
                p += 1
                continue
            if b < 0x80:  # a run of ASCII, the bulk of most text
                p, w, pending = _ascii_run(data, p, end, out, w, base, np.int64(pending_space), ascii_folds)
                pending_space = pending == 1
                continue
            cp, width = decode_utf8(data, p)
            kind = _class_of(cp, classes)
            if kind == FALLBACK:
                simple[i] = False
                break
            if kind == DROP:
                p += width
                continue
            if kind == SPACE:  # only a line feed starts a line for the polars path's markers, as for "^"
                pending_space = True
                p += width
                continue
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
            p += width
        sizes[i] = w - base if simple[i] else 0
    packed, new_offsets = _packed(out, offsets, sizes)
    return packed, new_offsets, simple


@njit(inline="always")
def _opens_verbatim(data, start, end):
    """Whether the text in ``data[start:end]`` opens with one of ``VERBATIM_OPENINGS``."""
    if end == start:
        return False
    first = data[start]
    if first == 0x7C:  # |
        return True
    if end - start >= 2 and first == 0x2B and (data[start + 1] == 0x2D or data[start + 1] == 0x3D):  # +- +=
        return True
    # ``` or ~~~
    return (
        end - start >= 3 and (first == 0x60 or first == 0x7E) and data[start + 1] == first and data[start + 2] == first
    )


@njit(cache=True, nogil=True)
def _verbatim_batch(data, offsets):
    n = offsets.shape[0] - 1
    found = np.zeros(n, np.bool_)
    for i in range(n):
        found[i] = _opens_verbatim(data, offsets[i], offsets[i + 1])
    return found


def verbatim(texts: pl.Series | Utf8Texts) -> np.ndarray:
    """Which texts, in the exact or the near form, are code or a table (they open with ``VERBATIM_OPENINGS``).

    Segmentation keeps a fenced code block or a table whole as one block; in the exact form it still opens
    with its fence, bar or border, while the near form of other text never opens with punctuation.
    """
    batch = as_utf8(texts)
    return _verbatim_batch(batch.data, batch.offsets)


@njit(cache=True, nogil=True)
def _near_batch(data, starts, ends, punctuation):
    """The near form of the texts ``data[starts[i]:ends[i]]``, in the exact form, made of characters below
    ``SIMPLE_LIMIT``; code and tables (whatever their characters) as they are.

    One pass, ASCII without decoding; a run of punctuation is looked through to its end to know whether a
    word goes on after it. (Written inline: small jitted helpers returning tuples made it seven times slower.)
    """
    n = starts.shape[0]
    simple = np.ones(n, np.bool_)
    out = np.empty(data.shape[0], np.uint8)  # each text written over its own span
    sizes = np.zeros(n, np.int64)
    for i in range(n):
        start, end = starts[i], ends[i]
        if _opens_verbatim(data, start, end):
            out[start:end] = data[start:end]
            sizes[i] = end - start
            continue
        w = start
        pending_space = False
        after_word = False  # the character before is neither a space nor punctuation
        p = start
        while p < end:
            b = data[p]
            if b < 0x80:
                cp = np.int64(b)
                width = 1
            else:
                c, width = decode_utf8(data, p)
                cp = np.int64(c)
                if cp >= SIMPLE_LIMIT or punctuation[cp] < 0:
                    simple[i] = False
                    break
            if cp == 32:
                pending_space = True
                after_word = False
                p += 1
            elif punctuation[cp] >= 1:
                q = p + width
                joins = punctuation[cp] == 2
                while q < end:
                    b2 = data[q]
                    if b2 < 0x80:
                        if b2 == 32 or punctuation[b2] < 1:
                            break
                        joins = joins and punctuation[b2] == 2
                        q += 1
                    else:
                        c2, w2 = decode_utf8(data, q)
                        if c2 >= SIMPLE_LIMIT or punctuation[c2] < 0:
                            q = -1  # not simple: the whole text goes the Unicode way
                            break
                        if punctuation[c2] < 1:
                            break
                        joins = joins and punctuation[c2] == 2
                        q += w2
                if q < 0:
                    simple[i] = False
                    break
                if joins and after_word and q < end and data[q] != 32:  # joins a word: kept (a-1, example.com)
                    while p < q:
                        out[w] = data[p]
                        w += 1
                        p += 1
                else:
                    pending_space = True
                    p = q
                after_word = False
            else:
                if pending_space and w > start:
                    out[w] = 32
                    w += 1
                pending_space = False
                for k in range(width):
                    out[w + k] = data[p + k]
                w += width
                after_word = True
                p += width
                # The rest of the word in ASCII, copied in a loop of its own: most of the text, 12-18% faster.
                while p < end:
                    b = data[p]
                    if b >= 0x80 or b == 32 or punctuation[b] != 0:
                        break
                    out[w] = b
                    w += 1
                    p += 1
        sizes[i] = w - start if simple[i] else 0
    packed, new_offsets = _packed(out, starts, sizes)
    return packed, new_offsets, simple


def _merged(
    fast: Utf8Texts, simple: np.ndarray, data: np.ndarray, starts: np.ndarray, ends: np.ndarray, slow_path: object
) -> Utf8Texts:
    """The fast path's texts, with those it could not do (of the texts at ``starts``, ``ends`` in ``data``)
    replaced by the polars path's."""
    others = np.flatnonzero(~simple)
    if not others.size:
        return fast
    slow = slow_path(Utf8Texts.from_spans(data, starts[others], ends[others]).to_series("t"))  # type: ignore[operator]
    return Utf8Texts.from_series(fast.to_series("t").scatter(others, slow))


def normalize_texts(texts: pl.Series | Utf8Texts) -> Utf8Texts:
    """The exact form of every text of a batch (texts of simple characters on the compiled fast path)."""
    batch = as_utf8(texts)
    classes, folds, marker_space, _ = _simple_tables()
    packed, offsets, simple = _exact_batch(
        batch.data, batch.offsets, classes, folds, marker_space, _bullet_codes(), _ascii_folds()
    )
    return _merged(Utf8Texts(packed, offsets), simple, batch.data, batch.offsets[:-1], batch.offsets[1:], _unicode_path)


def near_form(exact: pl.Series | Utf8Texts, rows: np.ndarray | None = None) -> Utf8Texts:
    """The near form of texts in the exact form: their words, or the whole exact form of code and tables.

    ``rows``, a boolean mask, takes the near form of those texts only, read where they are (copying them out
    first was 1.5 ns per byte, a quarter of the near form's own time).
    """
    batch = as_utf8(exact)
    starts, ends = batch.offsets[:-1], batch.offsets[1:]
    if rows is not None:
        starts, ends = starts[rows], ends[rows]
    packed, offsets, simple = _near_batch(batch.data, starts, ends, _simple_tables()[3])
    return _merged(Utf8Texts(packed, offsets), simple, batch.data, starts, ends, _near_unicode_path)


def normalize_series(texts: pl.Series) -> pl.Series:
    """The exact form of every text of a batch, as a polars Series."""
    return normalize_texts(texts).to_series(texts.name)


def normalize(text: str) -> str:
    """The exact form of one text (the same steps as for a batch)."""
    return normalize_series(pl.Series([text], dtype=pl.String))[0]


def near_words(text: str) -> str:
    """The near form of one text: the words its shingles are made of."""
    return near_form(normalize_texts(pl.Series([text], dtype=pl.String))).to_series("t")[0]
