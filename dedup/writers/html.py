"""Cleaned copies of HTML pages: the page without the elements of its cut blocks, so a mirror stays browsable."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from dedup.errors import OutputError
from dedup.formats.encoding import clean_controls, decode, replace_lone_surrogates
from dedup.formats.html import block_sources, meta_charset, read_page, remove_blocks
from dedup.formats.records import Skip, read_whole
from dedup.options import ReadOptions
from dedup.writers.base import CleanedDocument, changed, output, source_input


def write_html(source: Path, target: Path, documents: Iterable[CleanedDocument], options: ReadOptions) -> int:
    """A page: itself without the elements of its cut blocks, every other byte as it was, compressed as its
    input was (``formats.html.remove_blocks``). Characters its encoding cannot hold become character references.

    Raises:
        InputError: the page no longer gives the text that was scanned.
        OutputError: the file held several documents, or is now over ``max_document_bytes``.
    """
    cleaned = list(documents)
    if len(cleaned) != 1:
        raise OutputError(f"{source}: holds {len(cleaned)} documents; a page is one")
    document, text = cleaned[0].document, cleaned[0].text
    if text is None:
        return 0
    entry = source_input(source)
    raw = read_whole(entry, options, "page")
    if isinstance(raw, Skip):
        raise changed(source, "")
    decoded = decode(raw, declared=meta_charset(raw), forced=options.encoding)
    page = read_page(decoded.text, options.html_drop_nav)
    if clean_controls(replace_lone_surrogates(page.text)[0])[0] != document.text:
        raise changed(source, "")
    with output(target, entry.compression) as out:
        if not cleaned[0].removed:
            out.write(raw)
        else:
            kept = remove_blocks(decoded.text, block_sources(page, list(cleaned[0].removed)))
            out.write(kept.encode(decoded.encoding, errors="xmlcharrefreplace"))
    return 1
