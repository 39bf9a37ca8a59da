"""Pages held in a record (a field, a column, a WARC body): cleaned as pages, so that they stay pages.

Every page goes through ``cleaned_page``: the cut blocks' places in the page's source, then ``remove_blocks``.
For now both are simple stand-ins: a block is found by its text, and its text is what goes (its element
stays, empty). ``dedup.formats.html.block_sources`` and ``remove_blocks`` (branch ``locations``) replace them:
the places the reader kept while extracting, and the blocks' elements removed.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from dedup.errors import OutputError
from dedup.options import ReadOptions

if TYPE_CHECKING:
    from dedup.writers.base import CleanedDocument


def cleaned_page(page: str, cleaned: CleanedDocument, options: ReadOptions, where: str) -> str:
    """The page without the cut blocks of its document (``cleaned.removed``, offsets in its extracted text).

    Args:
        page: the page's source, decoded.
        cleaned: its document, and the blocks cut from it.
        options: how the page was read.
        where: the file and record, for messages.

    Raises:
        OutputError: a cut block cannot be found in the page.
    """
    text = cleaned.document.text
    return remove_blocks(page, block_sources(page, [text[start:end] for start, end in cleaned.removed], where))


def remove_blocks(page: str, cut: list[tuple[int, int]]) -> str:
    """The page without the given spans of its source (for now: their text; ``html.remove_blocks`` will take
    the cut blocks' elements out)."""
    parts: list[str] = []
    position = 0
    for start, end in sorted(cut):
        parts.append(page[position:start])
        position = end
    parts.append(page[position:])
    return "".join(parts)


# Between two words of a block, the page may hold white space, tags and non-breaking spaces.
_GAP = r"(?:\s|&nbsp;|&#160;|&#xa0;|<[^>]*>)+"
_REFERENCES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "\xa0": "&nbsp;"}
_BODY = re.compile(r"<body[\s>]", re.IGNORECASE)


def block_sources(page: str, blocks: list[str], where: str) -> list[tuple[int, int]]:
    """Where each block's text stands in the page source, searched in order from the start of the body.

    The extracted text collapses white space and drops markup: a block is found as it is, or escaped, else
    as its words with any white space or tags between them (a character also as its character reference).

    Raises:
        OutputError: a block's words do not stand in the page in that order.
    """
    spans: list[tuple[int, int]] = []
    body = _BODY.search(page)
    position = body.end() if body is not None else 0
    for number, block in enumerate(blocks, start=1):
        span = _block_source(page, block, position)
        if span is None:
            raise OutputError(f"{where}: the text of cut block {number} is not found in the page; cannot clean it")
        spans.append(span)
        position = span[1]
    return spans


def _block_source(page: str, block: str, position: int) -> tuple[int, int] | None:
    """The first place from ``position`` on where the block stands as a whole paragraph (between tags or lines)."""
    for form in dict.fromkeys((block, html.escape(block, quote=False), html.escape(block))):
        at = page.find(form, position)
        while at >= 0:
            if _whole(page, at, at + len(form)):
                return at, at + len(form)
            at = page.find(form, at + 1)
    pattern = re.compile(_GAP.join(_word_pattern(word) for word in block.split()))
    return next((m.span() for m in pattern.finditer(page, position) if _whole(page, *m.span())), None)


def _whole(page: str, start: int, end: int) -> bool:
    """Whether the span is a whole paragraph of the page: a tag or a line break on either side (spaces aside)."""
    before = page[max(start - 200, 0) : start].rstrip(" \t")
    after = page[end : end + 200].lstrip(" \t")
    return before[-1:] in ("", ">", "\n") and after[:1] in ("", "<", "\n", "\r")


def _word_pattern(word: str) -> str:
    return "".join(_char_pattern(ch) for ch in word)


def _char_pattern(ch: str) -> str:
    """A character as the page may write it: itself, or (when markup or not ASCII) a character reference."""
    if ch.isascii() and ch not in _REFERENCES:
        return re.escape(ch)
    forms = [re.escape(ch), f"&#0*{ord(ch)};", f"&#[xX]0*{ord(ch):x};"]
    if ch in _REFERENCES:
        forms.append(re.escape(_REFERENCES[ch]))
    return "(?:" + "|".join(forms) + ")"
