"""The ``dedup`` command: parse options, call the library, render. No logic here.

Exit codes: 0 success (``check``: within the limits), 1 ``check`` over a limit,
2 a usage or input error, printed as ``Error: <message>`` (and any unexpected error), 130 interrupted.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import gc
import inspect
import io
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from dedup import signals
from dedup._version import dedup_version
from dedup.errors import DedupError, OptionsError
from dedup.options import (
    CheckOptions,
    CleanOptions,
    KeepBy,
    LSHOptions,
    MinHashOptions,
    ReadOptions,
    ScanOptions,
    SegmentOptions,
    ShingleOptions,
    parse_size,
)
from dedup.terminal import printable

if TYPE_CHECKING:
    from dedup.result import ScanResult

# The library (polars, numpy, the compiled kernels) is imported inside each command, when it runs:
# ``dedup --help`` and ``dedup --version`` (a pre-commit hook pays for start-up on every commit) stay fast.

app = typer.Typer(
    help="Find exact and near-duplicate paragraphs in scraped pages.",
    no_args_is_help=True,
    add_completion=False,
    # Plain help and usage errors: rich's help layout imports in about 0.3 s, which a pre-commit hook
    # would pay on every commit, and which made ``dedup --help`` miss its 0.5 s target.
    rich_markup_mode=None,
)

_DEFAULTS = ScanOptions()

# The scan options, shared by every command that scans.
Paths = Annotated[
    list[Path],
    typer.Argument(
        help="Folders, files or glob patterns to read; - reads standard input.", show_default=False, metavar="PATHS"
    ),
]
Threshold = Annotated[float, typer.Option(help="Jaccard similarity of a near repeat.")]
Containment = Annotated[float, typer.Option(help="Containment that also makes a near repeat.")]
NumPerm = Annotated[int, typer.Option(help="MinHash permutations.")]
Seed = Annotated[int, typer.Option(help="MinHash seed.")]
Scheme = Annotated[str, typer.Option(help="datasketch permutation scheme: affine32 or legacy.")]
Bands = Annotated[int | None, typer.Option(help="LSH bands (with --rows); chosen from the threshold if not given.")]
Rows = Annotated[int | None, typer.Option(help="LSH rows per band (with --bands).")]
Shingle = Annotated[str, typer.Option(help="Shingle kind: word or char (code and tables are always by char).")]
Ngram = Annotated[int, typer.Option(help="Words per word shingle.")]
CharNgram = Annotated[int, typer.Option(help="Characters per char shingle.")]
MinShingles = Annotated[
    int | None,
    typer.Option(
        help="Blocks with fewer distinct content shingles are matched only exactly "
        "(default: computed so that one changed word keeps a block a near repeat).",
        show_default=False,
    ),
]
Lists = Annotated[str, typer.Option(help="List items: run (one block per run) or item.")]
Split = Annotated[str, typer.Option(help="Lines into blocks: auto, line or paragraph.")]
IdField = Annotated[
    str, typer.Option(help="JSON/JSONL field or CSV/Parquet column of the document id (dotted for nested).")
]
TextField = Annotated[
    str, typer.Option(help="JSON/JSONL field or CSV/Parquet column of the document text (dotted for nested).")
]
Encoding = Annotated[
    str | None, typer.Option(help="Read every input in this encoding (default: BOM, declared charset, detection).")
]
HtmlDropNav = Annotated[
    bool, typer.Option("--html-drop-nav", help="HTML: leave out nav, header, footer and aside elements.")
]
Strict = Annotated[bool, typer.Option(help="Exit 2 when any record was skipped.")]
JsonSummary = Annotated[bool, typer.Option("--json", help="Print a machine-readable summary instead of text.")]
Top = Annotated[int, typer.Option(help="How many clusters and pairs the report shows.")]
Html = Annotated[Path | None, typer.Option(help="Also write the HTML report to this file.")]
IndexOption = Annotated[
    Path | None, typer.Option("--index", help="An index of earlier data (dedup index add) to match against.")
]
AddName = Annotated[str | None, typer.Option(help="The name of the add in the index (default: the paths).")]
Engine = Annotated[
    str, typer.Option(help="Where the scan runs: local (this process) or spark (the [spark] extra and Java).")
]
Master = Annotated[str, typer.Option(help="With --engine spark: the Spark master (local[*], spark://host:7077…).")]


# Every scan option, its type and its default: the parameters each scanning command takes (``_with_scan_options``).
_SCAN_PARAMETERS: dict[str, tuple[Any, Any]] = {
    "threshold": (Threshold, _DEFAULTS.lsh.threshold),
    "containment": (Containment, _DEFAULTS.lsh.containment),
    "num_perm": (NumPerm, _DEFAULTS.minhash.num_perm),
    "seed": (Seed, _DEFAULTS.minhash.seed),
    "scheme": (Scheme, _DEFAULTS.minhash.scheme),
    "bands": (Bands, None),
    "rows": (Rows, None),
    "shingle": (Shingle, _DEFAULTS.shingle.kind),
    "ngram": (Ngram, _DEFAULTS.shingle.n),
    "char_ngram": (CharNgram, _DEFAULTS.shingle.char_n),
    "min_shingles": (MinShingles, _DEFAULTS.min_shingles),
    "lists": (Lists, _DEFAULTS.segment.lists),
    "split": (Split, _DEFAULTS.segment.split),
    "id_field": (IdField, _DEFAULTS.read.id_field),
    "text_field": (TextField, _DEFAULTS.read.text_field),
    "encoding": (Encoding, _DEFAULTS.read.encoding),
    "html_drop_nav": (HtmlDropNav, _DEFAULTS.read.html_drop_nav),
    "max_document_bytes": (
        Annotated[
            int,
            typer.Option(
                parser=parse_size,
                metavar="SIZE",
                show_default=f"{_DEFAULTS.read.max_document_bytes >> 20}MiB",
                help="Skip a document larger than this as read (a file read whole, a line, a row, a WARC body), "
                "e.g. 512MB or 1GiB.",
            ),
        ],
        _DEFAULTS.read.max_document_bytes,
    ),
    "memory_budget": (
        Annotated[
            int,
            typer.Option(
                parser=parse_size,
                metavar="SIZE",
                show_default=f"{_DEFAULTS.memory_budget >> 30}GiB",
                help="Memory the corpus-wide steps may hold at once beyond the state per distinct text, e.g. 1GiB.",
            ),
        ],
        _DEFAULTS.memory_budget,
    ),
}


def _with_scan_options(command: Callable[..., None]) -> Callable[..., None]:
    """The command with every scan option after its own parameters, handed to it as ``scan_options``.

    typer reads a command's options from its signature and has no groups of shared options, so the
    signature typer sees is the command's own (without ``scan_options``) plus ``_SCAN_PARAMETERS``.
    """
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "scan_options"]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        for name, (annotation, default) in _SCAN_PARAMETERS.items()
    ]

    @functools.wraps(command)
    def run(**given: Any) -> None:
        scanning = {name: given.pop(name) for name in _SCAN_PARAMETERS}
        with _errors():
            options = _scan_options(scanning)
        _ready_to_scan()
        from dedup.runners.local import workers
        from dedup.sources import page_processes
        from dedup.spill import removals_in_background

        # The spill folder goes while the report is printed; HTML files are read on every core.
        with removals_in_background(), page_processes(workers()):
            command(scan_options=options, **given)

    run.__signature__ = inspect.Signature(own + shared)  # type: ignore[attr-defined]
    return run


def _ready_to_scan() -> None:
    """Settle the process for a scan, before the scan's threads start: things a library may not do to the
    process it is imported into, and the command line's process is its own."""
    from dedup._kernels import load_numba_without_blas

    load_numba_without_blas()
    _keep_freed_memory()
    # What start-up made (modules, numba's registries) lives to the end: no collection need walk it again.
    gc.freeze()


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def _keep_freed_memory() -> None:
    """Have glibc's malloc keep the memory a batch frees for the next batch, instead of giving it back.

    By default an allocation over 128 KiB (up to 32 MiB, the threshold adapts) is a fresh mapping that a free
    unmaps, and every batch's arrays then fault their pages in anew: in a light 400 MB scan, 700,000 page
    faults and 6.7 s of system time. Below 32 MiB, the most glibc allows, allocations now come from its heaps,
    which keep up to 64 MiB free before trimming: 310,000 faults and 4.0-4.6 s, for 40-70 MB more peak RSS
    (256 MiB kept 100 MB more). Elsewhere (not Linux, not glibc), nothing changes.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    mallopt(_M_TRIM_THRESHOLD, 64 << 20)


def _scan_options(given: dict[str, Any]) -> ScanOptions:
    """The scan options from the values of ``_SCAN_PARAMETERS``."""
    return ScanOptions(
        read=ReadOptions(
            id_field=given["id_field"],
            text_field=given["text_field"],
            encoding=given["encoding"],
            html_drop_nav=given["html_drop_nav"],
            max_document_bytes=given["max_document_bytes"],
        ),
        segment=SegmentOptions(split=given["split"], lists=given["lists"]),
        shingle=ShingleOptions(kind=given["shingle"], n=given["ngram"], char_n=given["char_ngram"]),
        minhash=MinHashOptions(num_perm=given["num_perm"], seed=given["seed"], scheme=given["scheme"]),
        lsh=LSHOptions(
            threshold=given["threshold"], containment=given["containment"], bands=given["bands"], rows=given["rows"]
        ),
        min_shingles=given["min_shingles"],
        memory_budget=given["memory_budget"],
    )


# Set by ``dedup --debug`` (the root callback runs before every command): tracebacks of unexpected errors.
_debug = False
INTERRUPTED = 130  # the shell's code for a run stopped by Ctrl-C (128 + SIGINT)


@contextmanager
def _errors() -> Iterator[None]:
    """The one place an exception becomes ``Error: <message>`` and exit code 2 (see ``_guarded``).

    A DedupError says what was wrong; any other exception is a bug, said as one (its traceback with
    ``--debug``): never exit code 1, which ``dedup check`` keeps for "over the limit". typer's own
    exits and usage errors pass through; Ctrl-C (and SIGTERM) is ``Interrupted.`` with code 130, and so is
    whatever a step stopped by one raised on its way out (``signals.received``).
    """
    try:
        yield
    except (typer.Exit, typer.Abort, typer.TyperException):
        raise
    except KeyboardInterrupt:
        _interrupted()
    except Exception as exc:
        if signals.received():
            _interrupted()
        if isinstance(exc, DedupError):
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(2) from exc
        from dedup.formats.records import error_text

        if _debug:
            traceback.print_exception(exc, file=sys.stderr)
        hint = "" if _debug else "; run with dedup --debug for the traceback"
        message = f"unexpected {type(exc).__name__}: {error_text(exc)} (a bug in dedup, please report it{hint})"
        typer.echo(f"Error: {printable(message)}", err=True)
        raise typer.Exit(2) from exc


def _interrupted() -> NoReturn:
    typer.echo("Interrupted.", err=True)
    raise typer.Exit(INTERRUPTED) from None


def _guarded(command: Callable[..., None]) -> Callable[..., None]:
    """The command run inside ``_errors``; typer still reads its parameters from the signature it wraps."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        with _errors():
            command(*args, **kwargs)

    return run


def _guard_every_command(group: typer.Typer) -> None:
    """Run every command of ``group`` and its sub-groups inside ``_errors``, those added later in this file too."""
    for info in group.registered_commands:
        if info.callback is not None:
            info.callback = _guarded(info.callback)
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _guard_every_command(sub.typer_instance)


def _echo_skips(result: ScanResult) -> None:
    from dedup.report import render_skips

    for line in render_skips(result.stats.skips):
        typer.echo(line, err=True)


def _strict(result: ScanResult, strict: bool) -> None:
    failing = [skip for skip in result.stats.skips if not skip.expected]  # a crawl's request records are no fault
    if strict and failing:
        typer.echo(f"Error: {len(failing)} records skipped and --strict is set", err=True)
        raise typer.Exit(2)


def _save(result: ScanResult, out: Path | None, html: Path | None) -> list[str]:
    """Write what was asked for (the tables in ``out`` the scan wrote already); say what was written."""
    from dedup.htmlreport import write_html

    written = []
    if out is not None:
        written.append(f"Wrote {out}/: blocks, pairs, clusters, documents (.parquet) and scan.json")
    if html is not None:
        write_html(result, html)
        written.append(f"Wrote {html}: the HTML report")
    return written


def _show(result: ScanResult, json_summary: bool, top: int, written: list[str]) -> None:
    """The report (or the --json summary) on stdout, then what was written."""
    from rich.console import Console

    from dedup.report import render_report

    if json_summary:
        typer.echo(json.dumps(result.summary(), indent=2, sort_keys=True, ensure_ascii=False))
        return
    console = Console(highlight=False)
    render_report(result, console, top=top)
    if written:
        console.print()
    for line in written:
        console.print(line, markup=False, soft_wrap=True)  # a path is kept whole, to copy it


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"dedup {dedup_version()}")
        raise typer.Exit()


def _on_spark(engine: str, update: bool = False) -> bool:
    """Whether the scan runs on Spark (``--engine``).

    Raises:
        OptionsError: an engine that does not exist, or Spark with ``--update``.
    """
    if engine not in ("local", "spark"):
        raise OptionsError(f"--engine must be local or spark, not {engine!r}")
    if engine == "spark" and update:
        from dedup.clean import SPARK_UPDATE

        raise OptionsError(SPARK_UPDATE)
    return engine == "spark"


def _spark_scanner(master: str) -> Callable[..., ScanResult]:
    """``dedup.spark.scan_files`` on this master.

    Raises:
        OptionsError: PySpark is not installed.
    """
    return functools.partial(_spark_module().scan_files, master=master)


def _spark_module() -> ModuleType:
    """``dedup.spark``.

    Raises:
        OptionsError: PySpark is not installed.
    """
    try:
        from dedup import spark
    except ImportError as exc:
        raise OptionsError(f"--engine spark needs PySpark: pip install 'dedup-pages[spark]' ({exc})") from exc
    return spark


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an unexpected error.")] = False,
) -> None:
    """Find exact and near-duplicate paragraphs in scraped pages."""
    global _debug
    _debug = debug


@app.command()
@_with_scan_options
def scan(
    paths: Paths,
    out: Annotated[
        Path | None, typer.Option(help="Write blocks/pairs/clusters/documents.parquet and scan.json here.")
    ] = None,
    json_summary: JsonSummary = False,
    top: Top = 10,
    html: Html = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    strict: Strict = False,
    index: IndexOption = None,
    update: Annotated[bool, typer.Option(help="With --index: add these documents to the index too.")] = False,
    name: AddName = None,
    engine: Engine = "local",
    master: Master = "local[*]",
    *,
    scan_options: ScanOptions,
) -> None:
    """Scan documents for repeated and near-repeated blocks (and, with --index, for what an index holds)."""
    from dedup.pipeline import scan as run_scan
    from dedup.progress import progress_bars

    with _errors():
        if update and index is None:
            raise OptionsError("--update adds to an index: give it with --index")
        if _on_spark(engine, update):
            result = _spark_scanner(master)(paths, scan_options, out, index=index)
        else:
            with progress_bars(quiet) as progress:
                result = run_scan(
                    paths, scan_options, progress=progress, out=out, index=index, update=update, name=name
                )
        with result:
            written = _save(result, out, html)
            _echo_skips(result)
            _show(result, json_summary, top, written)
    _strict(result, strict)


@app.command()
def report(
    scan_dir: Annotated[
        Path, typer.Argument(help="A folder written by dedup scan --out.", show_default=False, metavar="SCAN_DIR")
    ],
    json_summary: JsonSummary = False,
    top: Top = 10,
    html: Html = None,
) -> None:
    """Show a saved scan again from its Parquet files, without recomputing."""
    from dedup.result import load

    with _errors():
        result = load(scan_dir)
        _show(result, json_summary, top, _save(result, None, html))


@app.command()
@_with_scan_options
def show(
    doc: Annotated[
        str,
        typer.Argument(
            help="The document: a file, or an id in PATHS or the scan (a file's name in its folder, a record's id, "
            "a WARC record's URI).",
            show_default=False,
            metavar="DOC",
        ),
    ],
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="The inputs to find DOC in (default: DOC, a file).", show_default=False, metavar="PATHS"),
    ] = None,
    scan_dir: Annotated[
        Path | None,
        typer.Option("--scan", help="A folder written by dedup scan --out: its blocks, and the clusters they joined."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the blocks as JSON.")] = False,
    *,
    scan_options: ScanOptions,
) -> None:
    """Print the text dedup read from a document, block by block, each with its number and its place in the file."""
    from dedup.show import render_json as render_shown_json
    from dedup.show import render_text as render_shown
    from dedup.show import show as run_show

    with _errors():
        shown = run_show(doc, paths or [], scan_options, scan_dir)
    typer.echo(render_shown_json(shown) if json_output else render_shown(shown))


@app.command()
@_with_scan_options
def clean(
    paths: Paths,
    out: Annotated[
        Path,
        typer.Option(help="Folder for the cleaned copies: same relative paths, same formats.", show_default=False),
    ],
    keep: Annotated[
        str, typer.Option(help="Which occurrence of a repeat stays: first, longest, last or none (cut them all).")
    ] = "first",
    keep_by: Annotated[
        str | None,
        typer.Option(
            help="Keep the occurrence whose record ranks highest by a field: FIELD:max, FIELD:min or "
            "FIELD:priority=a,b,c (JSONL, JSON, CSV, Parquet), e.g. crawl_date:max.",
            show_default=False,
        ),
    ] = None,
    drop_docs_over: Annotated[
        float | None,
        typer.Option(help="Also drop whole documents contained in a kept one to at least this share (e.g. 0.9)."),
    ] = None,
    boilerplate_docs: Annotated[
        int, typer.Option(help="A repeat standing in at least this many documents is boilerplate.")
    ] = 10,
    drop_boilerplate: Annotated[
        bool, typer.Option("--drop-boilerplate", help="Cut every occurrence of boilerplate, not all but one.")
    ] = False,
    cut_short: Annotated[
        bool,
        typer.Option("--cut-short", help="Also cut repeated short lines that are not boilerplate (kept by default)."),
    ] = False,
    removed: Annotated[
        Path | None,
        typer.Option(help="Audit table of every cut (default: OUT.removed.parquet beside --out).", show_default=False),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace --out if it exists and is not empty.")
    ] = False,
    json_summary: JsonSummary = False,
    strict: Strict = False,
    index: IndexOption = None,
    update: Annotated[
        bool, typer.Option(help="With --index: add these documents to the index in the same run.")
    ] = False,
    name: AddName = None,
    engine: Engine = "local",
    master: Master = "local[*]",
    *,
    scan_options: ScanOptions,
) -> None:
    """Write the documents without their repeated blocks (and, with --index, without what an index holds),
    and an audit table of every cut."""
    from dedup.clean import clean as run_clean
    from dedup.report import render_clean

    with _errors():
        options = CleanOptions(
            scan=scan_options,
            keep=keep,  # type: ignore[arg-type]
            keep_by=KeepBy.parse(keep_by) if keep_by is not None else None,
            drop_docs_over=drop_docs_over,
            boilerplate_docs=boilerplate_docs,
            drop_boilerplate=drop_boilerplate,
            cut_short=cut_short,
        )
        if update and index is None:
            raise OptionsError("--update adds to an index: give it with --index")
        scanner = _spark_scanner(master) if _on_spark(engine, update) else None
        result = run_clean(
            paths,
            out,
            options,
            removed=removed,
            overwrite=overwrite,
            index=index,
            update=update,
            name=name,
            scanner=scanner,
        )

    _echo_skips(result.scan)
    if json_summary:
        typer.echo(json.dumps(result.summary(), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        typer.echo(render_clean(result))
    _strict(result.scan, strict)


@app.command()
@_with_scan_options
def check(
    paths: Paths,
    max_dup_fraction: Annotated[
        float | None, typer.Option(help="Largest share of characters that may be duplicated (0 to 1).")
    ] = None,
    max_clusters: Annotated[
        int | None, typer.Option(help="Largest number of duplicate clusters (0 when no limit is given).")
    ] = None,
    fail_on: Annotated[str, typer.Option(help="Which duplicates count: exact, near or any.")] = "any",
    include_short: Annotated[
        bool, typer.Option("--include-short", help="Count repeated short lines (headings, labels) too.")
    ] = False,
    output_format: Annotated[str, typer.Option("--format", help="Output: text, json, junit or github.")] = "text",
    baseline: Annotated[
        Path | None, typer.Option(help="Accepted duplicates (from --write-baseline): fail only on new ones.")
    ] = None,
    write_baseline: Annotated[
        Path | None, typer.Option(help="Record today's duplicates as accepted in this file, and exit 0.")
    ] = None,
    strict: Strict = False,
    *,
    scan_options: ScanOptions,
) -> None:
    """Fail (exit 1) when the documents hold more duplicates than allowed; 0 when within limits, 2 on errors."""
    from dedup.baseline import Baseline
    from dedup.check import ACCEPTED_FORMATS, accept, render_accepted, render_accepted_json, renderer
    from dedup.check import check as run_check

    with _errors():
        options = CheckOptions(
            scan=scan_options,
            max_dup_fraction=max_dup_fraction,
            max_clusters=max_clusters,
            fail_on=fail_on,  # type: ignore[arg-type]
            include_short=include_short,
        )
        render = renderer(output_format)
        if baseline is not None and write_baseline is not None:
            raise OptionsError("give --baseline or --write-baseline, not both")
        if write_baseline is not None and output_format not in ACCEPTED_FORMATS:
            raise OptionsError(f"--write-baseline prints text or json, not {output_format}: it checks nothing")
        if write_baseline is not None:
            report, accepted = accept(paths, write_baseline, options)
        else:
            report = run_check(paths, options, Baseline.load(baseline) if baseline is not None else None)

    if write_baseline is not None:
        _echo_skips(report.scan)
        if output_format == "json":
            typer.echo(render_accepted_json(report, accepted, write_baseline))
        else:
            typer.echo(f"Wrote {write_baseline}: {render_accepted(report, accepted)}")
        _strict(report.scan, strict)
        return
    _echo_skips(report.scan)
    typer.echo(render(report))
    _strict(report.scan, strict)
    raise typer.Exit(report.exit_code)


index_app = typer.Typer(
    help="An index of earlier crawls: add to it, look new data up in it (scan/clean --index), remove from it.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(index_app, name="index")
IndexPath = Annotated[Path, typer.Argument(help="The index folder.", show_default=False, metavar="INDEX")]


@index_app.command("add")
@_with_scan_options
def index_add(
    index: IndexPath,
    paths: Paths,
    name: AddName = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    json_summary: JsonSummary = False,
    strict: Strict = False,
    engine: Engine = "local",
    master: Master = "local[*]",
    *,
    scan_options: ScanOptions,
) -> None:
    """Add documents to an index (made on first use); files it holds already are passed over."""
    from dedup.pipeline import index_add as run_index_add
    from dedup.progress import progress_bars
    from dedup.report import render_index_add

    with _errors():
        if _on_spark(engine):
            result = _spark_module().index_add_files(index, paths, scan_options, name=name, master=master)
        else:
            with progress_bars(quiet) as progress:
                result = run_index_add(index, paths, scan_options, name=name, progress=progress)
        if result is None:
            typer.echo(f"Nothing new: every file was added to {index} before.")
            return
        _echo_skips(result)
        summary = result.summary()
        if json_summary:
            typer.echo(json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False))
        else:
            typer.echo(render_index_add(index, summary))
    _strict(result, strict)


@index_app.command("remove")
def index_remove(
    index: IndexPath,
    ids: Annotated[Path, typer.Option(help="A file of document ids to remove, one per line.", show_default=False)],
) -> None:
    """Remove documents by id: later lookups no longer match or name them."""
    from dedup.index import Index, read_ids

    with _errors():
        idx = Index.open(index)
        given = read_ids(ids)
        with idx.writing():
            idx.remove(given)
        typer.echo(f"Removed {len(given):,} document ids from {index}.")


@index_app.command("info")
def index_info(index: IndexPath, json_summary: JsonSummary = False) -> None:
    """Documents, blocks, adds, bytes on disk per block and settings of an index."""
    from dedup.index import Index
    from dedup.report import render_index_info

    with _errors():
        info = Index.open(index).info()
    if json_summary:
        typer.echo(json.dumps(info, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        typer.echo(render_index_info(info))


@index_app.command("compact")
def index_compact(index: IndexPath) -> None:
    """Merge every add into one and drop removed documents for good."""
    from dedup.index import Index

    with _errors():
        idx = Index.open(index)
        with idx.writing():
            merged = idx.compact()
    typer.echo(
        f"Compacted {index}: {merged.blocks:,} blocks of {merged.documents:,} documents." if merged else "Empty."
    )


_guard_every_command(app)  # after every command is registered


class _ReaderGone(io.FileIO):
    """Standard output that a reader may stop reading (``dedup check … | head``) without ending the command.

    When the pipe breaks, the descriptor is pointed at the null device and the command goes on: the tables,
    the cleaned corpus and the baseline are still written, and the exit code is still the command's own
    (``check``'s verdict), not the 1 that typer gives a broken pipe.
    """

    def write(self, data: Any) -> int:
        try:
            return super().write(data)
        except BrokenPipeError:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self.fileno())
            os.close(null)
            return memoryview(data).nbytes


def _stdout_may_close() -> None:
    """Put ``_ReaderGone`` under ``sys.stdout``, with the encoding and buffering it had."""
    current = sys.stdout
    try:
        descriptor = current.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (embedded, or replaced by a caller)
        return
    current.flush()
    raw = _ReaderGone(descriptor, "w", closefd=False)
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(raw),
        encoding=current.encoding,
        errors=current.errors,
        line_buffering=bool(current.line_buffering),
    )


def main() -> None:
    """Console entry point."""
    signals.install()
    _stdout_may_close()
    # The interpreter's last collection walks every object the run made and the heavy modules hold (0.4-0.6 s
    # of a scan's exit on the development machine); a process about to end frees its memory anyway.
    atexit.register(gc.freeze)
    try:
        app()
    except KeyboardInterrupt:  # before a command began or after it ended, outside ``_errors``
        typer.echo("Interrupted.", err=True)
        sys.exit(INTERRUPTED)
