"""Pages held in a record (a field, a column, a WARC body): cleaned as pages, so that they stay pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dedup.formats.html import clean_page
from dedup.options import ReadOptions

if TYPE_CHECKING:
    from dedup.writers.base import CleanedDocument


def cleaned_page(page: str, cleaned: CleanedDocument, options: ReadOptions, where: str) -> str:
    """The page without the elements of the cut blocks of its document (``cleaned.removed``, offsets in its
    extracted text): ``formats.html.clean_page``, through the places the reader kept while extracting.

    Args:
        page: the page's source, decoded.
        cleaned: its document, and the blocks cut from it.
        options: how the page was read.
        where: the file and record, for messages.
    """
    del where  # the places are the reader's own: a cut block is always found
    return clean_page(page, list(cleaned.removed), options.html_drop_nav)
