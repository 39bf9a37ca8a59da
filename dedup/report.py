"""Render for people: plain-text summaries of a scan and of a clean."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import polars as pl

from dedup import schema as S
from dedup.result import ScanResult
from dedup.sources import Skip

if TYPE_CHECKING:
    from dedup.clean import CleanResult


def _clip(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: max(width - 1, 1)] + "…"


def _places(occurrences: pl.DataFrame, limit: int) -> str:
    """``doc:line`` of each occurrence, consecutive lines of one document shortened."""
    parts: list[str] = []
    previous = None
    for doc_id, line in occurrences.select(S.DOC_ID, S.LINE).head(limit).iter_rows():
        parts.append(f":{line}" if doc_id == previous else f"{doc_id}:{line}")
        previous = doc_id
    more = occurrences.height - limit
    return ", ".join(parts) + (f", … {more} more" if more > 0 else "")


def occurrences(result: ScanResult, clusters: list[int]) -> pl.DataFrame:
    """Where the blocks of these clusters stand (no text is loaded)."""
    return (
        result.blocks_lazy.select(S.DOC_ID, S.BLOCK, S.LINE, S.CLUSTER)
        .filter(pl.col(S.CLUSTER).is_in(clusters))
        .collect()
    )


def accounting_line(summary: dict[str, Any]) -> str:
    """Every record read, as scanned + skipped by reason: ``Read 12 records = 9 scanned + 3 skipped (…).``"""
    line = f"Read {summary['records']:,} records = {summary['documents']:,} scanned + {summary['skipped']:,} skipped"
    if summary["skipped"]:
        line += " (" + ", ".join(f"{n:,} {reason}" for reason, n in summary["skipped_by_reason"].items()) + ")"
    if summary["warnings"]:
        line += f"; {summary['warnings']:,} repaired with a warning"
    return line + "."


def render_skips(skips: list[Skip], per_reason: int = 20) -> list[str]:
    """One line per skip, at most ``per_reason`` of each reason, then one line for the rest of it.

    A WARC archive skips every request and image record: printing each would bury the rest.
    """
    lines: list[str] = []
    shown: Counter[str] = Counter()
    for skip in skips:
        shown[skip.reason] += 1
        if shown[skip.reason] <= per_reason:
            lines.append(f"Skipped {skip}")
    for reason, count in shown.items():
        if count > per_reason:
            lines.append(f"Skipped {count - per_reason} more: {reason}")
    return lines


def render_summary(result: ScanResult, top: int = 10, width: int = 100) -> str:
    """The terminal summary: counts, largest clusters, near pairs, short repeats, containment."""
    summary = result.summary()
    lines = [
        f"Scanned {summary['documents']} documents ({summary['files']} files), {summary['blocks']} blocks.",
        f"Clusters: {summary['exact_clusters']} exact, {summary['near_clusters']} near, "
        f"{summary['short_clusters']} of short lines; {summary['cross_doc_clusters']} span documents.",
        f"Duplicated: {summary['dup_chars']:,} of {summary['chars']:,} characters ({summary['dup_fraction']:.1%}).",
    ]
    lines.append(accounting_line(summary))
    for warning in result.stats.warnings[:top]:
        lines.append(f"Warning: {warning}")
    if len(result.stats.warnings) > top:
        lines.append(f"… and {len(result.stats.warnings) - top} more warnings")

    clusters = result.clusters
    long_clusters = clusters.filter(~pl.col(S.SHORT)).sort([S.N_CHARS, S.CLUSTER], descending=[True, False])
    shown = long_clusters.head(top)
    short = clusters.filter(pl.col(S.SHORT)).sort([S.N_BLOCKS, S.CLUSTER], descending=[True, False]).head(top)
    where = occurrences(result, shown[S.CLUSTER].to_list() + short[S.CLUSTER].to_list())

    if shown.height:
        lines += ["", f"Largest clusters ({shown.height} of {long_clusters.height}):"]
        for row in shown.iter_rows(named=True):
            lines.append(
                f"  #{row[S.CLUSTER]} {row[S.KIND]}, {row[S.SCOPE]}: {row[S.N_BLOCKS]} blocks in {row[S.N_DOCS]} "
                f"document{'s' if row[S.N_DOCS] > 1 else ''}"
            )
            lines.append(f"     “{_clip(row[S.TEXT], width - 7)}”")
            lines.append(f"     at {_places(where.filter(pl.col(S.CLUSTER) == row[S.CLUSTER]), 8)}")

    near = result.pairs.filter(pl.col(S.KIND) == S.NEAR).sort(S.JACCARD, descending=True)
    if near.height:
        lines += ["", f"Near pairs ({min(near.height, top)} of {near.height}):"]
        for row in near.head(top).iter_rows(named=True):
            lines.append(
                f"  {row[S.DOC_A]}:{row['line_a']} ~ {row[S.DOC_B]}:{row['line_b']}  "
                f"jaccard {row[S.JACCARD]:.2f}, containment {row[S.CONTAINMENT]:.2f} (cluster #{row[S.CLUSTER]})"
            )

    if short.height:
        lines += ["", "Short lines that repeat (matched exactly, never as near repeats):"]
        for row in short.iter_rows(named=True):
            places = _places(where.filter(pl.col(S.CLUSTER) == row[S.CLUSTER]), 4)
            lines.append(f"  “{_clip(row[S.TEXT], 40)}” ×{row[S.N_BLOCKS]}: {places}")

    contained = result.documents.filter(pl.col(S.CONTAINMENT) >= 0.5).sort(S.CONTAINMENT, descending=True)
    if contained.height:
        lines += ["", "Documents contained in others:"]
        for row in contained.head(top).iter_rows(named=True):
            lines.append(f"  {row[S.DOC_ID]} is {row[S.CONTAINMENT]:.0%} contained in {row[S.CONTAINED_IN]}")
    return "\n".join(lines)


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "0.0%"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def render_clean(result: CleanResult) -> str:
    """What a clean wrote, removed and dropped, and where the audit table is."""
    stats = result.stats
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in sorted(stats.removed_by_kind.items())) or "none"
    lines = [
        f"Cleaned {_count(stats.documents, 'document')}: wrote {stats.written:,} to {result.out}/ "
        f"({_count(stats.files, 'file')}).",
        f"Removed {_count(stats.blocks_removed, 'repeated block')} "
        f"({kinds}; {stats.short_removed:,} of them short lines).",
    ]
    if stats.dropped:
        lines.append(f"Dropped {_count(stats.dropped, 'document')} contained in a kept one.")
    if stats.emptied:
        lines.append(f"Not written: {_count(stats.emptied, 'document')} that held nothing but repeats.")
    lines += [
        f"Cut {stats.chars_removed:,} of {stats.chars:,} characters ({_share(stats.chars_removed, stats.chars)}).",
        f"Audit table: {result.removed} (every cut, its cluster and the kept occurrence).",
    ]
    return "\n".join(lines)
