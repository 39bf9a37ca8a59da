"""Render for people on a terminal: a scan (counts, largest clusters, near pairs with their differences), a clean.

One renderer for every console: rich adds colour on a terminal and leaves plain
text when the output is piped (its ``Console`` decides; tests force either).
Without colour, changes are marked the way ``git diff --word-diff`` does:
``[-deleted-]{+inserted+}``. Widths follow the console.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

import polars as pl
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from dedup import schema as S
from dedup.diff import DELETE, EQUAL, INSERT, Segment, word_diff
from dedup.locations import places
from dedup.result import ScanResult
from dedup.sources import Skip
from dedup.terminal import printable

if TYPE_CHECKING:
    from dedup.clean import CleanResult

INDENT = 4
TEXT_LINES = 2  # lines of a cluster's text shown under its heading
PLACE = "place"  # an occurrence's place in its file, as people read it (``dedup.locations.place``)
PLACES = 8  # occurrences listed per cluster before "… N more"
CONTEXT_WORDS = 6  # unchanged words kept either side of a change
CONTAINED_AT = 0.5  # documents at least this contained in another are listed

STYLE = {
    "title": "bold",
    "cluster": "bold cyan",
    S.EXACT: "green",
    S.NEAR: "magenta",
    "place": "blue",
    "dim": "dim",
    DELETE: "bold red strike",
    INSERT: "bold green underline",
}
MARKERS = {DELETE: ("[-", "-]"), INSERT: ("{+", "+}")}


def render_report(result: ScanResult, console: Console, top: int = 10) -> None:
    """Print the report of a scan: summary, largest clusters, near pairs, short repeats, containment.

    Args:
        result: a scan, fresh from ``dedup.scan`` or read back with ``dedup.load``.
        console: where to print; colour and width are the console's.
        top: how many clusters, pairs, short lines and documents each section shows.
    """
    summary = result.summary()
    # Only the rows shown are loaded: the tables can hold millions of rows.
    clusters = result.lazy("clusters")
    by_size = [S.N_CHARS, S.CLUSTER]
    shown = clusters.filter(~pl.col(S.SHORT)).sort(by_size, descending=[True, False]).head(top).collect()
    short = clusters.filter(pl.col(S.SHORT)).sort([S.N_BLOCKS, S.CLUSTER], descending=[True, False]).head(top).collect()
    near_pairs = result.pairs_lazy.filter(pl.col(S.KIND) == S.NEAR)
    near = near_pairs.sort([S.JACCARD, S.CLUSTER], descending=[True, False]).head(top).collect()
    where = occurrences(result, shown[S.CLUSTER].to_list() + short[S.CLUSTER].to_list())
    texts = _pair_texts(result, near)

    sections: list[list[Text]] = [_summary(summary, result)]
    long_count = summary["exact_clusters"] + summary["near_clusters"]
    if shown.height:
        sections.append(_largest(shown, long_count, where, console))
    if near.height:
        sections.append(_near_pairs(near, summary["near_pairs"], texts, console))
    if short.height:
        sections.append(_short(short, where, console))
    contained_query = result.lazy("documents").filter(pl.col(S.CONTAINMENT) >= CONTAINED_AT)
    contained = contained_query.sort([S.CONTAINMENT, S.DOC_ID], descending=[True, False]).head(top).collect()
    if contained.height:
        total = contained_query.select(pl.len()).collect().item()
        sections.append(_contained(contained, total, console))
    for index, section in enumerate(sections):
        if index:
            console.print()
        for part in section:
            # Wrapped here rather than by the console, which would pad wrapped lines with spaces and fold paths.
            console.print(_indented(part, console, 0), soft_wrap=True)


def occurrences(result: ScanResult, clusters: list[int], limit: int = PLACES) -> pl.DataFrame:
    """Where the first ``limit`` blocks of each of these clusters stand, in reading order (no text is loaded):
    their ``place`` in the original file (see ``dedup.locations``)."""
    found = (
        result.blocks_lazy.select(S.DOC_ID, S.BLOCK, S.LINE, S.SOURCE_LINE, S.SOURCE_COLUMN, S.CLUSTER)
        .filter(pl.col(S.CLUSTER).is_in(clusters))
        .group_by(S.CLUSTER, maintain_order=True)
        .head(limit)
        .collect()
    )
    return found.with_columns(pl.Series(PLACE, places(found, result.lazy("documents")), dtype=pl.String))


def accounting_line(summary: dict[str, Any]) -> str:
    """Every record read, as scanned + skipped by reason: ``Read 12 records = 9 scanned + 3 skipped (…).``"""
    line = f"Read {summary['records']:,} records = {summary['documents']:,} scanned + {summary['skipped']:,} skipped"
    if summary["skipped"]:
        line += " (" + ", ".join(f"{n:,} {reason}" for reason, n in summary["skipped_by_reason"].items()) + ")"
    if summary["warnings"]:
        line += f"; {summary['warnings']:,} repaired with a warning"
    return line + "."


def render_skips(skips: list[Skip], per_reason: int = 20) -> list[str]:
    """The skips for people: one line per skip of bad input, at most ``per_reason`` of each reason, then one
    line for the rest of it; the expected skips (records that hold no page) counted on one line, not listed.

    A WARC archive skips every request, metadata and image record on every run: listing them would bury
    the skips that need attention, and they are no fault of the input.
    """
    lines: list[str] = []
    shown: Counter[str] = Counter()
    expected: Counter[str] = Counter()
    for skip in skips:
        if skip.expected:
            expected[skip.reason] += 1
            continue
        shown[skip.reason] += 1
        if shown[skip.reason] <= per_reason:
            lines.append(f"Skipped {skip}")
    for reason, count in shown.items():
        if count > per_reason:
            lines.append(f"Skipped {count - per_reason} more: {reason}")
    if expected:
        kinds = ", ".join(f"{count:,} {reason}" for reason, count in expected.most_common())
        total = expected.total()
        lines.append(f"Skipped {counted(total, 'record')} that hold no page (not bad input): {kinds}")
    return lines


def counted(n: int, noun: str) -> str:
    """``1 file``, ``1,024 files``: a count and its noun, in the plural unless one."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _of_files(files: int) -> str:
    """`` (3 files)`` after the documents; nothing when every document came from memory (a data frame, a list)."""
    return f" ({counted(files, 'file')})" if files else ""


def _plain(console: Console) -> bool:
    return console.color_system is None


def _heading(title: str, shown: int, total: int) -> Text:
    count = f" ({shown:,} of {total:,})" if total > shown else f" ({total:,})"
    return Text.assemble((title, STYLE["title"]), (count, STYLE["dim"]))


def _summary(summary: dict[str, Any], result: ScanResult) -> list[Text]:
    rows: list[tuple[str, Text | str]] = [
        (
            "Scanned",
            f"{summary['documents']:,} documents{_of_files(summary['files'])}, {summary['blocks']:,} blocks",
        ),
        (
            "Clusters",
            Text.assemble(
                (f"{summary['exact_clusters']:,} exact", STYLE[S.EXACT]),
                ", ",
                (f"{summary['near_clusters']:,} near", STYLE[S.NEAR]),
                f", {summary['short_clusters']:,} of short lines; {summary['cross_doc_clusters']:,} span documents",
            ),
        ),
        (
            "Duplicated",
            Text.assemble(
                f"{summary['dup_chars']:,} of {summary['chars']:,} characters (",
                (f"{summary['dup_fraction']:.1%}", STYLE["title"]),
                ")",
            ),
        ),
    ]
    if "index_exact_blocks" in summary:
        exact, near = summary["index_exact_blocks"], summary["index_near_blocks"]
        held = f"{exact + near:,} blocks repeat what the index holds ({exact:,} word for word, {near:,} near)"
        rows.append(("Index", held))
    rows.append(("Read", accounting_line(summary).removeprefix("Read ")))
    rows += [("Warning", str(warning)) for warning in result.stats.warnings[:PLACES]]
    label_width = max(len(label) for label, _ in rows) + 2
    # Plain lines rather than a rich table: a table pads every line to its width, which piped output should not carry.
    return [Text.assemble((label.ljust(label_width), STYLE["title"]), value) for label, value in rows]


def _places(where: pl.DataFrame, cluster: dict[str, Any], limit: int) -> Text:
    """Each occurrence of a cluster (a row of the clusters table) as ``file:line:column``, then how many more."""
    rows = where.filter(pl.col(S.CLUSTER) == cluster[S.CLUSTER])
    names = rows[PLACE].head(limit).to_list()
    text = Text(", ").join(Text(name, style=STYLE["place"]) for name in names)
    if cluster[S.N_BLOCKS] > limit:
        text.append(f", … {cluster[S.N_BLOCKS] - limit:,} more", style=STYLE["dim"])
    return text


def _indented(text: Text, console: Console, indent: int, hang: int = 0) -> Text:
    """The text wrapped to the console width, indented (lines after the first by ``hang`` more), no trailing spaces.

    Lines break at spaces only: a word longer than the line (a file's path, a URL) stays whole, to copy or open."""
    width = max(console.width - indent - hang, 20)
    lines = [wrapped for line in text.split("\n") for wrapped in _broken_at_spaces(line, width)]
    for line in lines:
        line.rstrip()
    return Text("\n").join(Text(" " * (indent + (hang if n else 0))) + line for n, line in enumerate(lines))


def _broken_at_spaces(line: Text, width: int) -> list[Text]:
    """The line cut before the words that would take it past ``width`` cells (rich's wrap also cuts a long word).

    A place (a span in ``STYLE["place"]``) is one word however many spaces it holds (``crawl.warc, record 3 (…)``)."""
    plain = line.plain
    cuts: list[int] = []
    start = 0
    first_word = True  # of the line being filled: it stays on it however long it is (a line holds a word or more)
    for word_start, word_end in _words(line):
        if not first_word and cell_len(plain[start:word_end]) > width:
            cuts.append(word_start)
            start = word_start
        first_word = False
    return list(line.divide(cuts))


def _words(line: Text) -> list[tuple[int, int]]:
    """Where each word of the line starts and ends: runs of non-space, a place's runs joined into one."""
    places = [(span.start, span.end) for span in line.spans if span.style == STYLE["place"]]
    words: list[tuple[int, int]] = []
    for run in re.finditer(r"\S+", line.plain):
        if words and any(start <= words[-1][0] < run.start() < end for start, end in places):
            words[-1] = (words[-1][0], run.end())  # the same place goes on
        else:
            words.append((run.start(), run.end()))
    return words


def _clipped(text: str, console: Console, width: int, lines: int) -> Text:
    """The text flattened and wrapped to at most ``lines`` lines of ``width``, ending in … when cut."""
    flat = Text(printable(" ".join(text.split())))  # flattened first: line ends are spaces here, not escapes
    wrapped = flat.wrap(console, width)
    if len(wrapped) <= lines:
        return flat
    kept = list(wrapped)[:lines]
    last = kept[-1]
    last.rstrip()
    last.truncate(width - 1)
    last.append("…")
    return Text("\n").join(kept)


def _largest(shown: pl.DataFrame, total: int, where: pl.DataFrame, console: Console) -> list[Text]:
    parts: list[Text] = [_heading("Largest clusters", shown.height, total)]
    width = max(console.width - INDENT, 20)
    for row in shown.iter_rows(named=True):
        documents = counted(row[S.N_DOCS], "document")
        parts.append(
            Text.assemble(
                (f"#{row[S.CLUSTER]}", STYLE["cluster"]),
                " ",
                (row[S.KIND], STYLE[row[S.KIND]]),
                f", {row[S.SCOPE]}: {row[S.N_BLOCKS]:,} blocks in {documents}, {row[S.N_CHARS]:,} characters",
            )
        )
        parts.append(_indented(_clipped(row[S.TEXT], console, width, TEXT_LINES), console, INDENT))
        parts.append(_indented(Text.assemble(("at ", STYLE["dim"]), _places(where, row, PLACES)), console, INDENT))
    return parts


def _pair_texts(result: ScanResult, pairs: pl.DataFrame) -> dict[tuple[str, int], tuple[str, str]]:
    """Text and place of both blocks of each pair, keyed by (doc, block)."""
    if not pairs.height:
        return {}
    wanted = pl.concat(
        [
            pairs.select(pl.col(S.DOC_A).alias(S.DOC_ID), pl.col(S.BLOCK_A).alias(S.BLOCK)),
            pairs.select(pl.col(S.DOC_B).alias(S.DOC_ID), pl.col(S.BLOCK_B).alias(S.BLOCK)),
        ]
    ).unique()
    found = (
        result.blocks_lazy.select(S.DOC_ID, S.BLOCK, S.SOURCE_LINE, S.SOURCE_COLUMN, S.TEXT)
        # Their documents' rows first, a filter the Parquet reader applies before it reads the texts: the join
        # alone read every text of the corpus (0.45 s of the report of a 400 MB scan, against 0.04 s).
        .filter(pl.col(S.DOC_ID).is_in(wanted[S.DOC_ID].unique().implode()))
        .join(wanted.lazy(), on=[S.DOC_ID, S.BLOCK])
        .collect()
    )
    named = places(found, result.lazy("documents"))
    return {
        (doc_id, block): (printable(text), where)
        for (doc_id, block, text), where in zip(found.select(S.DOC_ID, S.BLOCK, S.TEXT).iter_rows(), named, strict=True)
    }


def _near_pairs(
    near: pl.DataFrame, total: int, texts: dict[tuple[str, int], tuple[str, str]], console: Console
) -> list[Text]:
    parts: list[Text] = [_heading("Near pairs", near.height, total)]
    for row in near.iter_rows(named=True):
        (old, old_place), (new, new_place) = (
            texts[(row[S.DOC_A], row[S.BLOCK_A])],
            texts[(row[S.DOC_B], row[S.BLOCK_B])],
        )
        parts.append(
            Text.assemble(
                (old_place, STYLE["place"]),
                " ~ ",
                (new_place, STYLE["place"]),
                (
                    f"  jaccard {row[S.JACCARD]:.2f}, containment {row[S.CONTAINMENT]:.2f}, cluster #{row[S.CLUSTER]}",
                    STYLE["dim"],
                ),
            )
        )
        parts.append(_indented(diff_text(word_diff(old, new), _plain(console)), console, INDENT))
    return parts


def diff_text(segments: list[Segment], plain: bool, context: int = CONTEXT_WORDS) -> Text:
    """A word diff as one line of text: changes highlighted (or marked when ``plain``), long sameness cut to …

    Args:
        segments: from ``dedup.diff.word_diff``.
        plain: mark changes as ``[-old-]{+new+}`` instead of with colour.
        context: unchanged words kept before and after each change.
    """
    text = Text()
    last = len(segments) - 1
    for index, (op, chunk) in enumerate(segments):
        flat = " ".join(chunk.split())
        if op == EQUAL:
            text.append(_around(chunk, context, keep_head=index > 0, keep_tail=index < last))
            continue
        lead, trail = chunk[: len(chunk) - len(chunk.lstrip())], chunk[len(chunk.rstrip()) :]
        opening, closing = MARKERS[op] if plain else ("", "")
        text.append(" " if lead else "")
        text.append(f"{opening}{flat}{closing}", style=STYLE[op])
        text.append(" " if trail else "")
    return text


def _around(chunk: str, context: int, keep_head: bool, keep_tail: bool) -> str:
    """Unchanged text cut to ``context`` words after the previous and before the next change."""
    words = chunk.split()
    lead = " " if chunk[:1].isspace() else ""
    trail = " " if chunk[-1:].isspace() else ""
    head = words[:context] if keep_head else []
    tail = words[-context:] if keep_tail else []
    if len(head) + len(tail) >= len(words):
        return lead + " ".join(words) + trail
    middle = " … " if head and tail else ("… " if tail else " …")
    return lead + " ".join(head) + middle + " ".join(tail) + trail


def _short(short: pl.DataFrame, where: pl.DataFrame, console: Console) -> list[Text]:
    parts: list[Text] = [
        Text.assemble(
            ("Short lines that repeat", STYLE["title"]), (" (matched exactly, never as near repeats)", STYLE["dim"])
        )
    ]
    for row in short.iter_rows(named=True):
        flat = printable(" ".join(row[S.TEXT].split()))
        line = Text.assemble(
            (f"“{flat if len(flat) <= 40 else flat[:39] + '…'}”", STYLE["title"]),
            f" ×{row[S.N_BLOCKS]}: ",
            _places(where, row, PLACES // 2),
        )
        parts.append(_indented(line, console, 2, hang=4))
    return parts


def _contained(contained: pl.DataFrame, total: int, console: Console) -> list[Text]:
    parts: list[Text] = [_heading("Documents contained in others", contained.height, total)]
    for row in contained.iter_rows(named=True):
        line = Text.assemble(
            (printable(row[S.DOC_ID]), STYLE["place"]),
            " is ",
            (f"{row[S.CONTAINMENT]:.0%}", STYLE["title"]),
            " contained in ",
            (printable(row[S.CONTAINED_IN]), STYLE["place"]),
        )
        parts.append(_indented(line, console, 2, hang=4))
    return parts


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "0.0%"


def render_clean(result: CleanResult) -> str:
    """What a clean wrote, removed and dropped, and where the audit table is."""
    stats = result.stats
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in sorted(stats.removed_by_kind.items())) or "none"
    lines = [
        f"Cleaned {counted(stats.documents, 'document')}: wrote {stats.written:,} to {result.out}/ "
        f"({counted(stats.files, 'file')}).",
        f"Removed {counted(stats.blocks_removed, 'repeated block')} "
        f"({kinds}; {stats.boilerplate_removed:,} of them boilerplate, {stats.short_removed:,} short lines).",
    ]
    if stats.dropped:
        lines.append(f"Dropped {counted(stats.dropped, 'document')} contained in a kept one.")
    if stats.emptied:
        lines.append(f"Not written: {counted(stats.emptied, 'document')} that held nothing but repeats.")
    lines += [
        f"Cut {stats.chars_removed:,} of {stats.chars:,} characters ({_share(stats.chars_removed, stats.chars)}).",
        f"Audit table: {result.removed} (every cut, its cluster and the kept occurrence).",
    ]
    return "\n".join(lines)


def render_index_add(index: object, summary: dict[str, Any]) -> str:
    """What an add to an index found and added."""
    exact, near = summary.get("index_exact_blocks", 0), summary.get("index_near_blocks", 0)
    return "\n".join(
        [
            f"Added {counted(summary['documents'], 'document')} ({summary['blocks']:,} blocks) to {index}.",
            f"Already held: {exact:,} blocks word for word and {near:,} near copies of indexed blocks.",
            accounting_line(summary),
        ]
    )


def render_index_info(info: dict[str, Any]) -> str:
    """An index's contents, one line each."""
    lines = [
        f"Index      {info['index']}",
        f"Documents  {info['documents']:,} in {counted(len(info['adds']), 'add')}, {info['blocks']:,} blocks, "
        f"{info['texts']:,} distinct texts; {info['removed_documents']:,} document ids removed",
        f"On disk    {info['bytes_on_disk']:,} bytes, {info['bytes_per_block']} per block",
        f"Settings   {info['settings']}",
    ]
    lines += [f"  add {add['name']!r} at {add['time']}: {add['documents']:,} documents" for add in info["adds"]]
    return "\n".join(lines)
