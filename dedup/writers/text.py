"""Cleaned copies of files that are one document each: the cleaned text."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from dedup.errors import OutputError
from dedup.options import ReadOptions
from dedup.writers.base import CleanedDocument, output, output_encoding, source_input


def write_text(source: Path, target: Path, documents: Iterable[CleanedDocument], options: ReadOptions) -> int:
    """A file that is one document: its cleaned text, in the input's encoding and compression.

    Raises:
        OutputError: the file held several documents (a record format that has
            no writer yet), or the text cannot be encoded.
    """
    cleaned = list(documents)
    if len(cleaned) != 1:
        raise OutputError(f"{source}: holds {len(cleaned)} documents and there is no writer for {source.suffix} files")
    text = cleaned[0].text
    if text is None:
        return 0
    try:
        data = text.encode(output_encoding(options))
    except UnicodeEncodeError as exc:
        message = f"{target}: cannot encode the text as {output_encoding(options)} ({exc.reason})"
        raise OutputError(message) from exc
    with output(target, source_input(source).compression) as out:
        out.write(data)
    return 1
