"""The HTML report: one self-contained file with the clusters, their diffs and charts.

Everything the page needs is inside it: CSS and a small script from
``dedup/templates/``, the charts as inline SVG (``dedup.charts``), and the
clusters as JSON that the script renders a page at a time, so that a report of
10,000 clusters opens as fast as one of ten. No text reaches the page as HTML:
the server-side parts are escaped, the script inserts text with ``textContent``,
and the JSON is escaped so that it cannot end its ``<script>`` element.
"""

from __future__ import annotations

import re
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl

from dedup import charts
from dedup import schema as S
from dedup.diff import INSERT, Segment, word_diff
from dedup.documents import containment_matrix
from dedup.errors import OutputError
from dedup.locations import places
from dedup.output import atomic_write
from dedup.report import CONTAINED_AT, counted
from dedup.result import ScanResult

MAX_CLUSTERS = 20_000  # the largest clusters in the page (about 1 KB each); clusters.parquet holds them all
MAX_OCCURRENCES = 1_000  # per cluster in the page; the count says how many more blocks.parquet holds
MAX_HEATMAP_DOCS = 300  # a document-by-document heatmap beyond this is unreadable and heavy
SHARE_BARS = 30  # documents in the duplicated-share chart, most duplicated first
CONTAINED_SHOWN = 10  # documents contained in others listed before the rest fold away
COLOURS = {S.EXACT: "#2f855a", S.NEAR: "#805ad5", "short": "#a0aec0", "share": "#dd6b20", "jaccard": "#805ad5"}
VARIANT = "variant"
ROW = "row"


def write_html(result: ScanResult, path: str | Path) -> Path:
    """Write the HTML report of a scan to ``path`` (atomically).

    Raises:
        OutputError: the file cannot be written.
    """
    target = Path(path)
    page = render_html(result)
    if target.is_dir():
        raise OutputError(f"{target}: is a folder; give a file name such as report.html")
    try:
        return atomic_write(target, lambda p: Path(p).write_text(page, encoding="utf-8"))
    except OSError as exc:
        raise OutputError(f"{target}: cannot write ({exc.strerror or exc})") from exc


def render_html(result: ScanResult) -> str:
    """The HTML report as one string."""
    summary = result.summary()
    documents = result.documents
    template = _template("report.html")
    parts = {
        "TITLE": escape(f"dedup report: {summary['documents']:,} documents, {summary['clusters']:,} clusters"),
        "CSS": _template("report.css"),
        "JS": _template("report.js"),
        "SUMMARY": _summary_html(summary),
        "CONTAINED": _contained_html(documents),
        "CHARTS": _charts_html(result),
        "VERSION": escape(result.version),
        "DATA": _json_for_script(report_data(result)),
    }
    # One pass, so that no inserted part is searched for placeholders again.
    return re.sub(r"<!--([A-Z]+)-->", lambda match: parts[match.group(1)], template)


def report_data(result: ScanResult) -> dict[str, Any]:
    """What the page's script renders: the ``MAX_CLUSTERS`` largest clusters with their occurrences and diffs,
    and the documents they stand in.

    Each cluster has ``occurrences`` as flat ``[document index, line, variant, …]``
    triples (at most ``MAX_OCCURRENCES``), the ``places`` of the same occurrences in
    their files (``file:line:column``, or the record: see ``dedup.locations``) and,
    for near clusters, ``diffs``: for
    every variant among them after the first (the representative), the word diff
    from the representative's ``text`` (see ``compact_diff``). ``total`` is how many
    clusters the scan has.
    """
    clusters = result.lazy("clusters")
    chosen = (
        clusters.sort([S.N_CHARS, S.CLUSTER], descending=[True, False]).head(MAX_CLUSTERS).sort(S.CLUSTER).collect()
    )
    occ = _occurrences(result, chosen[S.CLUSTER])
    doc_ids = occ[S.DOC_ID].unique(maintain_order=True)
    occ = occ.with_columns(pl.col(S.DOC_ID).replace_strict(doc_ids, range(doc_ids.len())).alias("doc"))
    variants = _variant_texts(result, occ.filter(pl.col(S.CLUSTER).is_in(_near(chosen).implode())))
    triples = occ.select("doc", S.LINE, VARIANT).to_numpy()
    named = places(occ, result.lazy("documents"))
    cluster_of = occ[S.CLUSTER].to_numpy()
    data = []
    for row in chosen.iter_rows(named=True):
        first, end = (
            np.searchsorted(cluster_of, row[S.CLUSTER], "left"),
            np.searchsorted(cluster_of, row[S.CLUSTER], "right"),
        )
        texts = variants.get(row[S.CLUSTER], [])
        data.append(
            {
                "id": row[S.CLUSTER],
                "kind": row[S.KIND],
                "scope": row[S.SCOPE],
                "short": row[S.SHORT],
                "blocks": row[S.N_BLOCKS],
                "docs": row[S.N_DOCS],
                "chars": row[S.N_CHARS],
                "text": row[S.TEXT],
                "occurrences": triples[first:end].ravel().tolist(),
                "places": named[first:end],
                "diffs": [compact_diff(word_diff(row[S.TEXT], text)) for text in texts[1:]],
            }
        )
    total = clusters.select(pl.len()).collect().item()
    return {"documents": doc_ids.to_list(), "clusters": data, "max_occurrences": MAX_OCCURRENCES, "total": total}


def compact_diff(segments: list[Segment]) -> list[list[Any]]:
    """A word diff that does not repeat the old text: ``["=", n]`` and ``["-", n]`` take the next ``n``
    characters of the old text, ``["+", text]`` is new. ``n`` counts UTF-16 code units, as JavaScript strings do.

    Near copies share most of their text, so this halves the page against spelling every segment out.
    """
    return [[op, text] if op == INSERT else [op, _utf16_units(text)] for op, text in segments]


def _utf16_units(text: str) -> int:
    # isascii() reads a flag of the string: encoding every segment to count its units was a tenth of a report.
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def _near(clusters: pl.DataFrame) -> pl.Series:
    return clusters.filter(pl.col(S.KIND) == S.NEAR)[S.CLUSTER]


def _occurrences(result: ScanResult, clusters: pl.Series) -> pl.DataFrame:
    """The first ``MAX_OCCURRENCES`` blocks of each of these clusters, sorted by cluster and reading order,
    with their variant number in the cluster (variants numbered by first appearance: 0 is the representative)."""
    occ = (
        result.blocks_lazy.select(S.DOC_ID, S.LINE, S.SOURCE_LINE, S.SOURCE_COLUMN, S.CLUSTER, S.EXACT_HASH)
        .with_row_index(ROW)
        .filter(pl.col(S.CLUSTER).is_in(clusters.implode()))
        .group_by(S.CLUSTER, maintain_order=True)
        .head(MAX_OCCURRENCES)
        .sort(S.CLUSTER, ROW)
        .collect()
    )
    first = occ.group_by(S.CLUSTER, S.EXACT_HASH).agg(pl.col(ROW).min().alias("first"))
    first = first.with_columns(pl.col("first").rank("dense").over(S.CLUSTER).cast(pl.Int64).alias(VARIANT) - 1)
    return occ.join(first.select(S.CLUSTER, S.EXACT_HASH, VARIANT), on=[S.CLUSTER, S.EXACT_HASH]).sort(S.CLUSTER, ROW)


def _variant_texts(result: ScanResult, occ: pl.DataFrame) -> dict[int, list[str]]:
    """For each cluster of these occurrences, the text of each variant in variant order."""
    firsts = occ.unique([S.CLUSTER, VARIANT]).select(ROW, S.CLUSTER, VARIANT)
    texts = (
        result.blocks_lazy.select(S.TEXT)
        .with_row_index(ROW)
        .join(firsts.lazy(), on=ROW)
        .sort(S.CLUSTER, VARIANT)
        .collect()
    )
    grouped: dict[int, list[str]] = {}
    for cluster, text in texts.select(S.CLUSTER, S.TEXT).iter_rows():
        grouped.setdefault(cluster, []).append(text)
    return grouped


def _json_for_script(data: dict[str, Any]) -> str:
    """JSON that can stand inside ``<script>``: no ``<``, ``>`` or ``&`` left to end the element or open a comment."""
    # orjson writes what json.dumps(data, ensure_ascii=False, separators=(",", ":")) does, about ten times faster.
    text = orjson.dumps(data).decode()
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _template(name: str) -> str:
    return files("dedup").joinpath("templates", name).read_text(encoding="utf-8")


def _of_files(files: int) -> str:
    """``3 files, `` before the blocks; nothing when every document came from memory."""
    return f"{counted(files, 'file')}, " if files else ""


def _summary_html(summary: dict[str, Any]) -> str:
    cards = [
        (
            "Documents",
            f"{summary['documents']:,}",
            f"{_of_files(summary['files'])}{summary['blocks']:,} blocks",
        ),
        ("Exact clusters", f"{summary['exact_clusters']:,}", "paragraphs repeated word for word"),
        (
            "Near clusters",
            f"{summary['near_clusters']:,}",
            counted(summary["near_pairs"], "near pair"),
        ),
        ("Short lines", f"{summary['short_clusters']:,}", "headings and labels that repeat"),
        (
            "Duplicated",
            f"{summary['dup_fraction']:.1%}",
            f"{summary['dup_chars']:,} of {summary['chars']:,} characters",
        ),
    ]
    if summary["skipped"]:
        cards.append(("Skipped", f"{summary['skipped']:,}", "records that could not be read"))
    return "".join(
        f'<div class="card"><div class="label">{escape(label)}</div><div class="value">{escape(value)}</div>'
        f'<div class="note">{escape(note)}</div></div>'
        for label, value, note in cards
    )


def _contained_html(documents: pl.DataFrame) -> str:
    contained = documents.filter(pl.col(S.CONTAINMENT) >= CONTAINED_AT).sort(
        [S.CONTAINMENT, S.DOC_ID], descending=[True, False]
    )
    if contained.is_empty():
        return '<p class="none">No document stands mostly inside another.</p>'
    items = [
        f'<li><span class="doc">{escape(row[S.DOC_ID])}</span> is <b>{row[S.CONTAINMENT]:.0%}</b> contained in '
        f'<span class="doc">{escape(row[S.CONTAINED_IN])}</span></li>'
        for row in contained.iter_rows(named=True)
    ]
    shown = f'<ul class="contained">{"".join(items[:CONTAINED_SHOWN])}</ul>'
    if len(items) <= CONTAINED_SHOWN:
        return shown
    rest = f'<ul class="contained">{"".join(items[CONTAINED_SHOWN:])}</ul>'
    return f"{shown}<details><summary>{len(items) - CONTAINED_SHOWN:,} more</summary>{rest}</details>"


def _figure(title: str, note: str, svg: str) -> str:
    return f"<figure><figcaption><b>{escape(title)}</b> <span>{escape(note)}</span></figcaption>{svg}</figure>"


def _charts_html(result: ScanResult) -> str:
    sizes = result.lazy("clusters").select(S.KIND, S.SHORT, S.N_BLOCKS).collect()
    figures = [_cluster_sizes(sizes), _similarities(result), _shares(result.documents)]
    if 2 <= result.documents.height <= MAX_HEATMAP_DOCS:
        figures.append(_heatmap(result))
    elif result.documents.height > MAX_HEATMAP_DOCS:
        note = (
            f"drawn for up to {MAX_HEATMAP_DOCS} documents; this scan has {result.documents.height:,}. "
            "Each document's best container is in documents.parquet (contained_in, containment)."
        )
        figures.append(_figure("Containment", note, ""))
    return "".join(figures)


def size_bins(largest: int) -> list[tuple[int, int]]:
    """Cluster-size bins: 2, 3, 4, then doubling (5–8, 9–16, …) up to ``largest``."""
    bins, low = [(2, 2), (3, 3), (4, 4)], 5
    while low <= largest:
        bins.append((low, low * 2 - 2))
        low *= 2
        low -= 1
    return bins


def _cluster_sizes(clusters: pl.DataFrame) -> str:
    sizes = {
        "exact": clusters.filter((pl.col(S.KIND) == S.EXACT) & ~pl.col(S.SHORT))[S.N_BLOCKS].to_numpy(),
        "near": clusters.filter(pl.col(S.KIND) == S.NEAR)[S.N_BLOCKS].to_numpy(),
        "short lines": clusters.filter(pl.col(S.SHORT))[S.N_BLOCKS].to_numpy(),
    }
    bins = size_bins(int(clusters[S.N_BLOCKS].max() or 2))  # type: ignore[arg-type]
    categories = [str(low) if low == high else f"{low}–{high}" for low, high in bins]
    colours = {"exact": COLOURS[S.EXACT], "near": COLOURS[S.NEAR], "short lines": COLOURS["short"]}
    series = [
        (name, [int(((values >= low) & (values <= high)).sum()) for low, high in bins], colours[name])
        for name, values in sizes.items()
    ]
    svg = charts.bar_chart(
        "cluster-sizes", "Clusters by number of blocks", categories, series, "blocks in the cluster", "clusters"
    )
    return _figure("Cluster sizes", f"{clusters.height:,} clusters by how many blocks they hold", svg)


def _similarities(result: ScanResult) -> str:
    near = result.pairs_lazy.filter(pl.col(S.KIND) == S.NEAR).select(S.JACCARD).collect()[S.JACCARD].to_numpy()
    edges = np.linspace(0.0, 1.0, 21)
    counts, _ = np.histogram(near, bins=edges)
    categories = [f"{edge:.2f}" for edge in edges[:-1]]
    svg = charts.bar_chart(
        "similarities",
        "Near pairs by Jaccard similarity",
        categories,
        [("near pairs", counts.tolist(), COLOURS["jaccard"])],
        "Jaccard similarity (bins of 0.05, from)",
        "near pairs",
    )
    threshold = result.options.lsh.threshold
    below = int((near < threshold).sum())
    note = f"{near.size:,} near pairs; threshold {threshold:g}"
    if below:
        note += f" ({below:,} below it, kept for their containment)"
    return _figure("Similarity of near pairs", note, svg)


def _shares(documents: pl.DataFrame) -> str:
    ranked = documents.sort([S.DUP_FRACTION, S.DOC_ID], descending=[True, False]).head(SHARE_BARS)
    rows = list(ranked.select(S.DOC_ID, S.DUP_FRACTION).iter_rows())
    svg = charts.share_bars("duplicated-share", "Duplicated share of each document", rows, COLOURS["share"])
    if documents.height <= len(rows):
        return _figure("Duplicated share per document", "characters that stand in a cluster", svg)
    # Too many documents for a bar each: how they spread, then the most duplicated ones.
    edges = np.linspace(0.0, 1.0, 11)
    counts, _ = np.histogram(documents[S.DUP_FRACTION].to_numpy(), bins=edges)
    spread = charts.bar_chart(
        "duplicated-share-spread",
        "Documents by duplicated share",
        [f"{low:.0%}" for low in edges[:-1]],
        [("documents", counts.tolist(), COLOURS["share"])],
        "duplicated share (bins of 10%, from)",
        "documents",
    )
    note = (
        f"characters that stand in a cluster: all {documents.height:,} documents, then the {len(rows)} most duplicated"
    )
    return _figure("Duplicated share per document", note, spread + svg)


def _heatmap(result: ScanResult) -> str:
    documents = result.documents
    index = documents.select(S.DOC_ID).with_row_index(S.DOC_KEY).with_columns(pl.col(S.DOC_KEY).cast(pl.Int64))
    blocks = (
        result.blocks_lazy.select(S.DOC_ID, S.CLUSTER, (pl.col(S.END) - pl.col(S.START)).alias(S.N_CHARS))
        .filter(pl.col(S.CLUSTER).is_not_null())
        .join(index.lazy(), on=S.DOC_ID)
        .collect()
    )
    matrix = containment_matrix(blocks, documents[S.N_CHARS].to_numpy())
    names = documents[S.DOC_ID].to_list()
    svg = charts.heatmap("containment", "Share of each document (row) that stands in another (column)", names, matrix)
    return _figure("Containment", "row document's share that also stands in the column document", svg)
