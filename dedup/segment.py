"""Split documents into blocks with character offsets into the original text.

The rules, applied to every line of a batch at once with numpy:

- A blank line (only white space) ends a block.
- Every other line starts a new block, except that
  - a *list run* is one block (``lists="run"``): consecutive lines that are
    list items (``- ``, ``* ``, ``+ ``, ``• ``, ``◦ ``, ``1. ``, ``2) ``, ...,
    after any indentation) or short headings directly followed by an item
    (``Regisseur`` above ``- Jacques Audiard``);
  - in ``split="auto"`` the lines of a hard-wrapped document (most lines
    filling a width of at most 100 characters) are joined into paragraphs;
    ``split="paragraph"`` joins all consecutive lines, ``split="line"`` none.
- A block spans from the first to the last non-space character of its lines,
  so ``text[start:end]`` is the block and leading indentation is left out.

Offsets count Python characters (code points), as ``str`` indexing does.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from dedup import schema as S
from dedup.options import SegmentOptions

NEWLINE = 10
_BULLETS = np.array([ord(c) for c in "-*+•‣◦▪▫●○·–—⁃∙■□➢➤►▸"], dtype=np.uint32)
_EXTRA_SPACES = np.array([0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF, 0x200B], dtype=np.uint32)
_TERMINAL = np.array([ord(c) for c in ".!?:;…\"'“”»«)]"], dtype=np.uint32)
WRAP_MAX_WIDTH = 100


def code_points(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """All texts joined by newlines as one array of code points, and each text's start."""
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    starts = np.zeros(len(texts), dtype=np.int64)
    starts[1:] = np.cumsum(lengths + 1)[:-1]
    joined = "\n".join(texts)
    cps = np.frombuffer(joined.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32)
    return cps, starts


def _is_space(cps: np.ndarray) -> np.ndarray:
    """White space other than the newline (control characters count as space)."""
    space = (cps <= 32) & (cps != NEWLINE)
    space |= (cps >= 0x2000) & (cps <= 0x200A)
    space |= np.isin(cps, _EXTRA_SPACES)
    return space


def _line_features(cps: np.ndarray, doc_starts: np.ndarray) -> dict[str, np.ndarray]:
    """Per line: span, first/last visible character, whether blank, item, terminal."""
    newlines = np.flatnonzero(cps == NEWLINE)
    line_start = np.concatenate(([0], newlines + 1))
    line_end = np.concatenate((newlines, [cps.size]))
    space = _is_space(cps)
    visible = np.flatnonzero(~space & (cps != NEWLINE))
    first_idx = np.searchsorted(visible, line_start)
    last_idx = np.searchsorted(visible, line_end) - 1
    padded_visible = np.concatenate((visible, [cps.size + 1]))
    first = padded_visible[first_idx]
    blank = first >= line_end
    last = np.where(blank, line_start, visible[np.clip(last_idx, 0, max(visible.size - 1, 0))] if visible.size else 0)
    first = np.where(blank, line_start, first)

    # Pad so that looking a few characters past the end of a line is safe.
    pad = np.concatenate((cps, np.full(8, NEWLINE, dtype=np.uint32)))
    pad_space = np.concatenate((space, np.zeros(8, dtype=bool)))

    def at(offset: int) -> np.ndarray:
        return pad[first + offset]

    def space_at(offset: int) -> np.ndarray:
        return pad_space[first + offset]

    def digit(offset: int) -> np.ndarray:
        c = at(offset)
        return (c >= 48) & (c <= 57)

    def closer(offset: int) -> np.ndarray:
        c = at(offset)
        return (c == ord(".")) | (c == ord(")"))

    bullet = np.isin(at(0), _BULLETS) & space_at(1)
    numbered = digit(0) & (
        (closer(1) & space_at(2))
        | (digit(1) & closer(2) & space_at(3))
        | (digit(1) & digit(2) & closer(3) & space_at(4))
    )
    line_doc = np.searchsorted(doc_starts, line_start, side="right") - 1
    return {
        "start": line_start,
        "first": first,
        "last": last,
        "blank": blank,
        "item": (bullet | numbered) & ~blank,
        "terminal": np.isin(pad[last], _TERMINAL) & ~blank,
        "width": np.where(blank, 0, last - first + 1),
        "doc": line_doc,
    }


def _wrapped_docs(f: dict[str, np.ndarray], n_docs: int) -> np.ndarray:
    """Documents that look hard-wrapped: short lines, most of them near the width."""
    prose = ~f["blank"] & ~f["item"]
    docs = f["doc"][prose]
    widths = f["width"][prose]
    max_width = np.zeros(n_docs, dtype=np.int64)
    np.maximum.at(max_width, docs, widths)
    lines = np.bincount(docs, minlength=n_docs)
    full = np.bincount(docs, weights=widths >= 0.6 * max_width[docs], minlength=n_docs)
    return (max_width <= WRAP_MAX_WIDTH) & (lines >= 4) & (full >= 0.5 * lines)


def _joins_previous(f: dict[str, np.ndarray], options: SegmentOptions, n_docs: int) -> np.ndarray:
    """Whether each line continues the block of the line before it."""
    n = f["blank"].size
    prev_ok = np.zeros(n, dtype=bool)
    prev_ok[1:] = ~f["blank"][:-1] & (f["doc"][1:] == f["doc"][:-1])
    prev_ok &= ~f["blank"]
    if options.split == "paragraph":
        return prev_ok

    joins = np.zeros(n, dtype=bool)
    item = f["item"]
    if options.lists == "run":
        next_item = np.zeros(n, dtype=bool)
        next_item[:-1] = item[1:] & (f["doc"][1:] == f["doc"][:-1])
        heading = ~f["blank"] & ~item & next_item & (f["width"] <= options.heading_max_chars)
        in_run = item | heading
        joins[1:] |= in_run[1:] & in_run[:-1]
    if options.split == "auto":
        wrapped = _wrapped_docs(f, n_docs)[f["doc"]]
        joins[1:] |= wrapped[1:] & ~item[1:] & ~item[:-1]
    return joins & prev_ok


def segment(documents: pl.DataFrame, options: SegmentOptions) -> pl.DataFrame:
    """Blocks of a batch of documents.

    Args:
        documents: a batch with ``doc_index`` and ``text`` columns.
        options: the segmentation rules.

    Returns:
        One row per block: ``doc_index``, ``block``, ``start``, ``end``,
        ``line`` and ``text`` (``text`` is ``document[start:end]``).
    """
    texts = documents[S.TEXT].to_list()
    cps, doc_starts = code_points(texts)
    f = _line_features(cps, doc_starts)
    joins = _joins_previous(f, options, len(texts))

    lines = np.flatnonzero(~f["blank"])
    begins = ~joins[lines]
    first_line = lines[begins]
    block_ends = np.concatenate((np.flatnonzero(begins)[1:] - 1, [lines.size - 1])) if lines.size else lines
    last_line = lines[block_ends]

    doc = f["doc"][first_line]
    doc_start = doc_starts[doc]
    start = f["first"][first_line] - doc_start
    end = f["last"][last_line] + 1 - doc_start
    # Line numbers: newlines before the block's line within its document.
    doc_first_line = np.searchsorted(f["start"], doc_starts)
    line = first_line - doc_first_line[doc] + 1
    block = np.arange(doc.size) - np.searchsorted(doc, doc, side="left")

    blocks = pl.DataFrame(
        {
            S.DOC_INDEX: documents[S.DOC_INDEX].gather(doc),
            S.BLOCK: block.astype(np.int32),
            S.START: start,
            S.END: end,
            S.LINE: line.astype(np.int32),
        }
    )
    text = pl.Series(S.TEXT, texts, dtype=pl.String).gather(doc)
    return blocks.with_columns(text).with_columns(
        pl.col(S.TEXT).str.slice(pl.col(S.START), pl.col(S.END) - pl.col(S.START))
    )
