"""Split documents into blocks with character offsets into the original text.

The rules:

- A blank line (only white space) ends a block.
- Every other line starts a new block, except that
  - a *list run* is one block (``lists="run"``): consecutive lines that are
    list items (``- ``, ``* ``, ``+ ``, ``• ``, ``◦ ``, ``1. ``, ``2) ``, ...,
    after any indentation) or short headings directly followed by an item
    (``Regisseur`` above ``- Jacques Audiard``);
  - in ``split="auto"`` the lines of a hard-wrapped document (at least four
    prose lines, the longest at most 100 characters, half of them at least
    0.6 of the longest) are joined into paragraphs; ``split="paragraph"``
    joins all consecutive lines, ``split="line"`` none.
- Code and tables are one block each, so that a code sample is kept or cut
  whole, never torn: Markdown fenced code (```` ``` ```` or ``~~~`` to the
  closing fence, blank lines included), indented code (lines indented four
  columns or more after a blank line), RST literal blocks (the indented lines
  after a line ending in ``::``) and table runs (two or more lines starting
  with ``|``, or RST grid borders ``+-``/``+=``). HTML ``<pre>`` and tables
  come out of the HTML reader in these forms.
- A block spans from the first to the last visible character of its lines,
  so ``text[start:end]`` is the block and indentation is left out.

Offsets count Python characters (code points), as ``str`` indexing does. The
work is one compiled pass per document over the UTF-8 bytes polars already
holds, document after document.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numba import njit

from dedup import schema as S
from dedup._arrow import Utf8Texts
from dedup._kernels import decode_utf8
from dedup.options import SegmentOptions

NEWLINE = 10
_BULLETS = np.array([ord(c) for c in "-*+•‣◦▪▫●○·–—⁃∙■□➢➤►▸"], dtype=np.int64)
WRAP_MAX_WIDTH = 100
CODE_MAX_WIDTH = 160  # a longer line in an indented run is prose, not code
_SPLIT_CODES = {"auto": 0, "line": 1, "paragraph": 2}


@njit(inline="always")
def _is_space(cp):
    """White space other than the newline; control characters count as space."""
    if cp <= 32:
        return cp != NEWLINE
    if 0x2000 <= cp <= 0x200B:
        return True
    return cp in (0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF)


@njit(inline="always")
def _is_digit(cp):
    return 48 <= cp <= 57


@njit(inline="always")
def _is_item(data, p, line_end, bullets):
    """Whether the visible text starting at byte p opens a list item."""
    cp, n = decode_utf8(data, p)
    q = p + n
    for bullet in bullets:
        if cp == bullet:
            return q < line_end and _is_space(decode_utf8(data, q)[0])
    digits = 0
    while _is_digit(cp) and digits < 4:
        digits += 1
        if q >= line_end:
            return False
        cp, n = decode_utf8(data, q)
        q += n
    if digits == 0 or digits > 3 or (cp != 46 and cp != 41):  # "." or ")"
        return False
    return q < line_end and _is_space(decode_utf8(data, q)[0])


@njit(inline="always")
def _indent(data, line_start, first):
    """Columns of indentation before a line's first visible byte (a tab counts 4)."""
    columns = 0
    for p in range(line_start, first):
        columns += 4 if data[p] == 9 else 1
    return columns


@njit(inline="always")
def _fence(data, first, end):
    """The fence character (` or ~) and its length when a line opens or closes a fenced code block, else (0, 0)."""
    c = data[first]
    if c != 96 and c != 126:
        return 0, 0
    count = 0
    while first + count < end and data[first + count] == c:
        count += 1
    return (c, count) if count >= 3 else (0, 0)


@njit(inline="always")
def _is_table_row(data, first, end):
    """A Markdown or RST table row: starts with "|", or with "+-" / "+=" (an RST grid border)."""
    c = data[first]
    if c == 124:
        return True
    return c == 43 and first + 1 < end and (data[first + 1] == 45 or data[first + 1] == 61)


@njit(cache=True, nogil=True)
def _verbatim_runs(data, n_lines, blank, first_b, end_b, line_start, width, item):
    """Number the runs of lines that must stay one block (code and tables), -1 for other lines.

    Fenced code (``` or ~~~, to the closing fence or the document's end), tables (two or more rows in a
    row), RST literal blocks (the indented lines after a line ending in "::" and a blank line) and
    indented code (lines indented 4 columns or more after a blank line and a shallower line, none of
    them a list item or longer than ``CODE_MAX_WIDTH``); blank lines inside code belong to it.
    """
    run = np.full(n_lines, -1, np.int64)
    number = 0
    i = 0
    while i < n_lines:
        if blank[i]:
            i += 1
            continue
        fence, length = _fence(data, first_b[i], end_b[i])
        last = -1
        if fence:
            last = n_lines - 1
            for j in range(i + 1, n_lines):
                if not blank[j]:
                    closing, size = _fence(data, first_b[j], end_b[j])
                    if closing == fence and size >= length and size == end_b[j] - first_b[j]:
                        last = j
                        break
        elif _is_table_row(data, first_b[i], end_b[i]):
            j = i
            while j + 1 < n_lines and not blank[j + 1] and _is_table_row(data, first_b[j + 1], end_b[j + 1]):
                j += 1
            if j > i:
                last = j
        elif _indent(data, line_start[i], first_b[i]) >= 4 and (i == 0 or blank[i - 1]) and not item[i]:
            # Indented code stands deeper than the text before it and holds no long line of prose:
            # scraped pages indent whole paragraphs, and those must stay paragraphs.
            before = i - 1
            while before >= 0 and blank[before]:
                before -= 1
            if before < 0 or _indent(data, line_start[before], first_b[before]) < 4:
                last = i
                for j in range(i + 1, n_lines):
                    if blank[j]:
                        continue
                    if _indent(data, line_start[j], first_b[j]) < 4:
                        break
                    last = j
                for j in range(i, last + 1):
                    if width[j] > CODE_MAX_WIDTH:
                        last = -1
                        break
        elif end_b[i] - first_b[i] >= 2 and data[end_b[i] - 1] == 58 and data[end_b[i] - 2] == 58:
            # An RST "::" paragraph: its literal block is what follows a blank line, indented deeper.
            depth = _indent(data, line_start[i], first_b[i])
            start = i + 1
            while start < n_lines and blank[start]:
                start += 1
            if start > i + 1 and start < n_lines and _indent(data, line_start[start], first_b[start]) > depth:
                last = start
                for j in range(start + 1, n_lines):
                    if blank[j]:
                        continue
                    if _indent(data, line_start[j], first_b[j]) <= depth:
                        break
                    last = j
                i = start
        if last >= i:
            run[i : last + 1] = number
            number += 1
            i = last + 1
        else:
            i += 1
    return run


@njit(cache=True, nogil=True)
def _segment_document(data, start, end, n_lines, bullets, split, runs, heading_max, out, base):
    """Blocks of one document of ``n_lines`` lines into ``out[base:]``; returns how many.

    ``out`` columns: byte start, byte end, char start, char end, line (0-based), column (0-based, in chars).
    """
    first_b = np.full(n_lines, -1, np.int64)
    end_b = np.zeros(n_lines, np.int64)
    first_c = np.zeros(n_lines, np.int64)
    end_c = np.zeros(n_lines, np.int64)
    start_c = np.zeros(n_lines, np.int64)  # the char offset of each line's start
    line_end = np.zeros(n_lines, np.int64)
    item = np.zeros(n_lines, np.bool_)

    # The visible span of the current line is kept in locals and stored when the line ends.
    line, char, p = 0, 0, start
    fb, eb, fc, ec = -1, 0, 0, 0
    while p < end:
        b = data[p]
        if b < 0x80 and b != NEWLINE:
            # A run of ASCII within the line, the common case: one pass, no decoding; space and
            # control bytes (<= 32) only move the end of the visible span no further.
            q, last = p, -1
            if fb < 0:  # the line's first visible byte, if it has none yet
                while q < end:
                    c = data[q]
                    if c >= 0x80 or c == NEWLINE:
                        break
                    if c > 32:
                        fb, fc = q, char + (q - p)
                        break
                    q += 1
            # Then only the last visible byte moves, chosen without a branch (20-35% faster than one branch
            # per byte on prose, where a space comes every few bytes).
            while q < end:
                c = data[q]
                if c >= 0x80 or c == NEWLINE:
                    break
                last = q if c > 32 else last
                q += 1
            if last >= 0:
                eb, ec = last + 1, char + (last - p) + 1
            char += q - p
            p = q
            continue
        if b == NEWLINE:
            first_b[line], end_b[line], first_c[line], end_c[line], line_end[line] = fb, eb, fc, ec, p
            line += 1
            fb = -1
            char += 1
            start_c[line] = char
            p += 1
            continue
        cp, n = decode_utf8(data, p)
        if not _is_space(cp):
            if fb < 0:
                fb, fc = p, char
            eb, ec = p + n, char + 1
        char += 1
        p += n
    first_b[line], end_b[line], first_c[line], end_c[line], line_end[line] = fb, eb, fc, ec, end

    blank = first_b < 0
    width = end_c - first_c
    line_start = np.empty(n_lines, np.int64)
    line_start[0] = start
    line_start[1:] = line_end[:-1] + 1
    for i in range(n_lines):
        if not blank[i]:
            item[i] = _is_item(data, first_b[i], line_end[i], bullets)
    verbatim = _verbatim_runs(data, n_lines, blank, first_b, end_b, line_start, width, item)
    for i in range(n_lines):
        if verbatim[i] >= 0:
            item[i] = False

    wrapped = False
    if split == 0:
        longest, prose, full = 0, 0, 0
        for i in range(n_lines):
            if not blank[i] and not item[i] and verbatim[i] < 0:
                prose += 1
                longest = max(longest, width[i])
        for i in range(n_lines):
            if not blank[i] and not item[i] and verbatim[i] < 0 and width[i] >= 0.6 * longest:
                full += 1
        wrapped = longest <= WRAP_MAX_WIDTH and prose >= 4 and full >= 0.5 * prose

    in_run = np.zeros(n_lines, np.bool_)
    if runs:
        for i in range(n_lines):
            heading = (not blank[i] and verbatim[i] < 0 and not item[i] and i + 1 < n_lines and item[i + 1]) and width[
                i
            ] <= heading_max
            in_run[i] = item[i] or heading

    count = 0
    previous = -1  # the last line that is not blank
    for i in range(n_lines):
        if blank[i]:
            continue
        prose_pair = previous >= 0 and previous == i - 1 and verbatim[i] < 0 and verbatim[previous] < 0
        joins = (previous >= 0 and verbatim[i] >= 0 and verbatim[i] == verbatim[previous]) or (
            prose_pair
            and (split == 2 or (in_run[i] and in_run[i - 1]) or (wrapped and not item[i] and not item[i - 1]))
        )
        previous = i
        if joins:
            out[base + count - 1, 1] = end_b[i]
            out[base + count - 1, 3] = end_c[i]
        else:
            row = base + count
            out[row, 0] = first_b[i]
            out[row, 1] = end_b[i]
            out[row, 2] = first_c[i]
            out[row, 3] = end_c[i]
            out[row, 4] = i
            out[row, 5] = first_c[i] - start_c[i]
            count += 1
    return count


@njit(cache=True, nogil=True)
def _segment_batch(data, offsets, bullets, split, runs, heading_max):
    """Blocks of every document; a document has at most one block per line (``capacity`` counts them)."""
    n_docs = offsets.shape[0] - 1
    capacity = np.ones(n_docs, np.int64)
    for d in range(n_docs):
        for p in range(offsets[d], offsets[d + 1]):
            if data[p] == NEWLINE:
                capacity[d] += 1
    slots = np.zeros(n_docs + 1, np.int64)
    slots[1:] = np.cumsum(capacity)
    out = np.zeros((slots[n_docs], 6), np.int64)
    counts = np.zeros(n_docs, np.int64)
    for d in range(n_docs):
        counts[d] = _segment_document(
            data, offsets[d], offsets[d + 1], capacity[d], bullets, split, runs, heading_max, out, slots[d]
        )
    keep = np.zeros(slots[n_docs], np.bool_)
    for d in range(n_docs):
        keep[slots[d] : slots[d] + counts[d]] = True
    return out, counts, keep


def segment(documents: pl.DataFrame, options: SegmentOptions) -> pl.DataFrame:
    """Blocks of a batch of documents.

    Args:
        documents: a batch with ``doc_key`` and ``text`` columns.
        options: the segmentation rules.

    Returns:
        One row per block: ``doc_key``, ``block``, ``start``, ``end``,
        ``line``, ``column`` and ``text`` (``text`` is ``document[start:end]``).
    """
    return segment_with_texts(documents, options)[0]


def segment_with_texts(documents: pl.DataFrame, options: SegmentOptions) -> tuple[pl.DataFrame, Utf8Texts]:
    """``segment``, and the block texts also in the UTF-8 layout the next stages work on.

    The pipeline normalizes the block texts straight from this buffer instead of converting
    the ``text`` column back into one.
    """
    texts = Utf8Texts.from_series(documents[S.TEXT])
    data, offsets = texts.data, texts.offsets
    out, counts, keep = _segment_batch(
        data, offsets, _BULLETS, _SPLIT_CODES[options.split], options.lists == "run", options.heading_max_chars
    )
    spans = out[keep]
    doc = np.repeat(np.arange(counts.size), counts)
    block = np.arange(doc.size) - np.repeat(np.cumsum(counts) - counts, counts)
    block_texts = Utf8Texts.from_spans(data, spans[:, 0], spans[:, 1])
    blocks = pl.DataFrame(
        {
            S.DOC_KEY: documents[S.DOC_KEY].gather(doc),
            S.BLOCK: block.astype(np.int32),
            S.START: spans[:, 2],
            S.END: spans[:, 3],
            S.LINE: (spans[:, 4] + 1).astype(np.int32),
            S.COLUMN: (spans[:, 5] + 1).astype(np.int32),
        }
    ).with_columns(block_texts.to_series(S.TEXT))
    return blocks, block_texts
