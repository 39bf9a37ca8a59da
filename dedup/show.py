"""``dedup show``: the text dedup read from one document, block by block, with each block's place in the file.

A page, a WARC record or a JSON field is not what dedup matches: it matches the text it extracted, cut into
blocks. ``show`` prints that text so a person can see what was read (a ``<pre>`` as one fenced block, a table
as rows, the navigation that repeats on every page) and open each block where it stands. From the inputs it
reads and segments only that document; from a saved scan (``--scan``) it also says which cluster each block
joined.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import polars as pl

from dedup import schema as S
from dedup.errors import InputError
from dedup.locations import block_places, place, shown_path
from dedup.options import ScanOptions
from dedup.result import load
from dedup.segment import segment
from dedup.sources import Document, ReadStats, read_documents
from dedup.terminal import printable

_NAMED_IN_ERROR = 5  # documents an error lists when the one asked for is not there


@dataclass(frozen=True, slots=True)
class ShownBlock:
    """One block as read.

    Attributes:
        block: its number in the document, 0-based (as in the blocks table).
        place: where it starts in the original file (``dedup.locations.place``).
        line: its line in the extracted text.
        text: its text as matched (before normalization).
        cluster: the cluster it joined in the saved scan, or None (or no scan).
        kind: ``exact`` or ``near`` for a block of a cluster, else None.
        short: the scan matched it only exactly (too few distinct words for near matching); None without a scan.
    """

    block: int
    place: str
    line: int
    text: str
    cluster: int | None = None
    kind: str | None = None
    short: bool | None = None


@dataclass(frozen=True, slots=True)
class ShownDocument:
    """A document's blocks in order, with where it came from."""

    doc_id: str
    source: str
    blocks: tuple[ShownBlock, ...]

    def as_dict(self) -> dict[str, Any]:
        """Plain data (the ``--json`` output)."""
        return {"doc_id": self.doc_id, "source": self.source, "blocks": [asdict(b) for b in self.blocks]}


def show(
    doc: str,
    paths: Sequence[str | Path] = (),
    options: ScanOptions | None = None,
    scan_dir: str | Path | None = None,
) -> ShownDocument:
    """The blocks of one document.

    Args:
        doc: the document's id (a file's name within the folder scanned, a record's id, a WARC record's URI)
            or the path of a file that is one document.
        paths: the inputs to find it in (default: ``doc`` itself, a file).
        options: reading and segmenting options (as for the scan being looked into).
        scan_dir: a saved scan (``dedup scan --out``) to take the blocks and their clusters from instead.

    Raises:
        InputError: the document is not there (the message names some that are), or an input cannot be read.
    """
    if scan_dir is not None:
        return _from_scan(doc, Path(scan_dir))
    options = options or ScanOptions()
    document = _find(doc, paths or [doc], options)
    frame = pl.DataFrame(
        {
            S.DOC_KEY: [0],
            S.TEXT: [document.text],
            S.SOURCE_LINE: [document.source_line],
            S.ANCHORS: pl.Series([document.anchors], dtype=pl.List(pl.Int64)),
        }
    )
    blocks = segment(frame, options.segment)
    lines, columns = block_places(frame, blocks)
    source = shown_path(document.source)
    shown = tuple(
        ShownBlock(block, place(source, line, column, document.doc_id), text_line, text)
        for block, text_line, text, line, column in zip(
            blocks[S.BLOCK], blocks[S.LINE], blocks[S.TEXT], lines, columns, strict=True
        )
    )
    return ShownDocument(document.doc_id, document.source, shown)


def _find(doc: str, paths: Sequence[str | Path], options: ScanOptions) -> Document:
    """The document of that id, or the one document of the file of that path, read from the inputs."""
    stats = ReadStats()
    seen: list[str] = []
    wanted_path = Path(doc).resolve() if Path(doc).is_file() else None
    documents = read_documents(paths, options.read, stats)
    for document in documents:
        if document.doc_id == doc or (wanted_path is not None and Path(document.source).resolve() == wanted_path):
            return document
        seen.append(document.doc_id)
    if not seen:
        skipped = f" ({printable(str(stats.skips[0]))})" if stats.skips else ""
        raise InputError(f"no documents read from {_listed(paths)}{skipped}")
    named = ", ".join(repr(printable(d)) for d in islice(seen, _NAMED_IN_ERROR))
    more = f" and {len(seen) - _NAMED_IN_ERROR:,} more" if len(seen) > _NAMED_IN_ERROR else ""
    raise InputError(f"no document {printable(doc)!r} in {_listed(paths)}; its documents are {named}{more}")


def _from_scan(doc: str, folder: Path) -> ShownDocument:
    result = load(folder)
    documents = result.lazy("documents").select(S.DOC_ID, S.SOURCE)
    found = documents.filter((pl.col(S.DOC_ID) == doc) | (pl.col(S.SOURCE) == doc)).head(1).collect()
    if not found.height and Path(doc).is_file():  # the file by another spelling of its path
        wanted = Path(doc).resolve()
        sources = documents.select(S.SOURCE).unique().collect()[S.SOURCE]
        same = [source for source in sources if Path(source).resolve() == wanted]
        found = documents.filter(pl.col(S.SOURCE).is_in(same)).head(1).collect()
    if not found.height:
        some = documents.head(_NAMED_IN_ERROR).collect()[S.DOC_ID].to_list()
        named = ", ".join(repr(printable(d)) for d in some)
        raise InputError(f"no document {printable(doc)!r} in the scan {folder}; its documents include {named}")
    doc_id, source = found.row(0)
    blocks = (
        result.blocks_lazy.filter(pl.col(S.DOC_ID) == doc_id)
        .select(S.BLOCK, S.LINE, S.SOURCE_LINE, S.SOURCE_COLUMN, S.TEXT, S.CLUSTER, S.SHORT)
        .join(result.lazy("clusters").select(S.CLUSTER, S.KIND), on=S.CLUSTER, how="left")
        .sort(S.BLOCK)
        .collect()
    )
    path = shown_path(source)
    shown = tuple(
        ShownBlock(
            row[S.BLOCK],
            place(path, row[S.SOURCE_LINE], row[S.SOURCE_COLUMN], doc_id),
            row[S.LINE],
            row[S.TEXT],
            row[S.CLUSTER],
            row[S.KIND],
            row[S.SHORT],
        )
        for row in blocks.iter_rows(named=True)
    )
    return ShownDocument(doc_id, source, shown)


def _listed(paths: Sequence[str | Path]) -> str:
    return ", ".join(printable(str(p)) for p in paths)


def render_text(shown: ShownDocument) -> str:
    """For people: a heading, then each block's number and place, and its text indented below it."""
    chars = sum(len(b.text) for b in shown.blocks)
    heading = (
        f"{printable(shown.doc_id)} ({printable(shown_path(shown.source))}): "
        f"{len(shown.blocks):,} block{'' if len(shown.blocks) == 1 else 's'}, {chars:,} characters"
    )
    lines = [heading]
    for block in shown.blocks:
        lines.append("")
        lines.append(f"[{block.block}] {block.place}{_membership(block)}")
        lines.extend("    " + printable(line) for line in block.text.split("\n"))
    return "\n".join(lines)


def _membership(block: ShownBlock) -> str:
    """The cluster a block joined in the scan shown, if any."""
    if block.cluster is None:
        return ""
    return f"  {block.kind} cluster #{block.cluster}" + (", short" if block.short else "")


def render_json(shown: ShownDocument) -> str:
    return json.dumps(shown.as_dict(), indent=2, ensure_ascii=False)
