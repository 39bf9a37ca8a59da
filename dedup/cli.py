"""The ``dedup`` command: parse options, call the library, render. No logic here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated

import typer

from dedup.errors import DedupError
from dedup.options import LSHOptions, MinHashOptions, ReadOptions, ScanOptions, SegmentOptions, ShingleOptions
from dedup.pipeline import scan as run_scan
from dedup.report import render_skips, render_summary

app = typer.Typer(
    help="Find exact and near-duplicate paragraphs in scraped pages.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Find exact and near-duplicate paragraphs in scraped pages."""


@app.command()
def scan(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Folders, files or glob patterns to read; - reads standard input.", show_default=False),
    ],
    out: Annotated[
        Path | None, typer.Option(help="Write blocks/pairs/clusters/documents.parquet and scan.json here.")
    ] = None,
    json_summary: Annotated[
        bool, typer.Option("--json", help="Print a machine-readable summary instead of text.")
    ] = False,
    threshold: Annotated[float, typer.Option(help="Jaccard similarity of a near repeat.")] = 0.5,
    containment: Annotated[float, typer.Option(help="Containment that also makes a near repeat.")] = 0.8,
    num_perm: Annotated[int, typer.Option(help="MinHash permutations.")] = 128,
    seed: Annotated[int, typer.Option(help="MinHash seed.")] = 1,
    scheme: Annotated[str, typer.Option(help="datasketch permutation scheme: affine32 or legacy.")] = "affine32",
    bands: Annotated[
        int | None, typer.Option(help="LSH bands (with --rows); chosen from the threshold if not given.")
    ] = None,
    rows: Annotated[int | None, typer.Option(help="LSH rows per band (with --bands).")] = None,
    shingle: Annotated[str, typer.Option(help="Shingle kind: word or char.")] = "word",
    ngram: Annotated[int, typer.Option(help="Words per word shingle.")] = 3,
    char_ngram: Annotated[int, typer.Option(help="Characters per char shingle.")] = 5,
    min_words: Annotated[int, typer.Option(help="Blocks with fewer words are matched only exactly.")] = 8,
    lists: Annotated[str, typer.Option(help="List items: run (one block per run) or item.")] = "run",
    split: Annotated[str, typer.Option(help="Lines into blocks: auto, line or paragraph.")] = "auto",
    id_field: Annotated[
        str, typer.Option(help="JSON/JSONL field or CSV/Parquet column of the document id (dotted for nested).")
    ] = "id",
    text_field: Annotated[
        str, typer.Option(help="JSON/JSONL field or CSV/Parquet column of the document text (dotted for nested).")
    ] = "text",
    encoding: Annotated[
        str | None, typer.Option(help="Read every input in this encoding (default: BOM, declared charset, detection).")
    ] = None,
    html_drop_nav: Annotated[
        bool, typer.Option("--html-drop-nav", help="HTML: leave out nav, header, footer and aside elements.")
    ] = False,
    top: Annotated[int, typer.Option(help="How many clusters and pairs the summary shows.")] = 10,
    strict: Annotated[bool, typer.Option(help="Exit 2 when any record was skipped.")] = False,
) -> None:
    """Scan documents for repeated and near-repeated blocks."""
    try:
        options = ScanOptions(
            read=ReadOptions(id_field=id_field, text_field=text_field, encoding=encoding, html_drop_nav=html_drop_nav),
            segment=SegmentOptions(split=split, lists=lists),  # type: ignore[arg-type]
            shingle=ShingleOptions(kind=shingle, n=ngram, char_n=char_ngram),  # type: ignore[arg-type]
            minhash=MinHashOptions(num_perm=num_perm, seed=seed, scheme=scheme),  # type: ignore[arg-type]
            lsh=LSHOptions(threshold=threshold, containment=containment, bands=bands, rows=rows),
            min_words=min_words,
        )
        result = run_scan(paths, options)
        if out is not None:
            result.write(out)
    except DedupError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from exc

    for line in render_skips(result.stats.skips):
        typer.echo(line, err=True)
    if json_summary:
        typer.echo(json.dumps(result.summary(), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        width = shutil.get_terminal_size((100, 24)).columns
        typer.echo(render_summary(result, top=top, width=width))
        if out is not None:
            typer.echo(f"\nWrote {out}/: blocks, pairs, clusters, documents (.parquet) and scan.json")
    if strict and result.stats.skips:
        typer.echo(f"Error: {len(result.stats.skips)} records skipped and --strict is set", err=True)
        raise typer.Exit(2)


def main() -> None:
    """Console entry point."""
    app()
