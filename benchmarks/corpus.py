"""Deterministic corpora with known duplicates, for benchmarks and tests, in two profiles.

``light`` (``make_corpus``, here): documentation prose (``benchmarks/prose.py``) in documents of
a header, fresh paragraphs and a footer, with about 10% of the paragraphs repeated:

- exact copies of earlier paragraphs;
- near copies: an earlier paragraph with a known share of its words
  substituted, deleted or inserted;
- extended copies: an earlier paragraph plus a clause (like the seeds' synopsis);
- boilerplate: a site header and footer shared by many documents.

``crawl`` (``benchmarks/crawl.py``): what a real crawl dump looks like, where most of the text
repeats: many versions of each page, site boilerplate on every page, short lines everywhere;
over 90% of the characters duplicated.

Both come with their truth: which block copies which, and how (``benchmarks/truth.py``), so
that recall and precision can be measured.

Usage:
    python benchmarks/corpus.py --size 100MB --out benchmarks/corpora/light-100MB-seed0.jsonl
    python benchmarks/corpus.py --profile crawl --size 100MB --out benchmarks/corpora/crawl-100MB-seed0.jsonl

Beside the JSONL file (``{"id", "text"}`` per line) go ``<name>.truth.parquet`` (one row per copied
block) and ``<name>.truth.json`` (counts, the duplicated share, the largest cluster).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the benchmarks package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.crawl import CrawlShape, crawl_documents
from benchmarks.prose import edit_words, fresh_paragraphs, language
from benchmarks.truth import Copy, Document, Truth, doc_id, jsonl_line

PROFILES = ("light", "crawl")


@dataclass(slots=True)
class Corpus:
    documents: list[str] = field(default_factory=list)
    copies: list[Copy] = field(default_factory=list)

    def ids(self) -> list[str]:
        return [doc_id(i) for i in range(len(self.documents))]

    def write_jsonl(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            for number, text in enumerate(self.documents):
                handle.write(jsonl_line(number, text))

    @property
    def n_chars(self) -> int:
        return sum(len(d) for d in self.documents)


# ---------------------------------------------------------------- light profile


def make_corpus(
    target_chars: int,
    seed: int = 0,
    exact_rate: float = 0.04,
    near_rate: float = 0.04,
    extended_rate: float = 0.02,
    edit_rates: tuple[float, ...] = (0.02, 0.05, 0.1),
    sites: int = 20,
    paragraphs_per_doc: tuple[int, int] = (3, 12),
) -> Corpus:
    """A light-profile corpus of about ``target_chars`` characters with known copies, in memory.

    Documents are paragraphs separated by blank lines: a site header, body
    paragraphs, a site footer. Each body paragraph is fresh text, or with the
    given rates a copy of a fresh paragraph of an earlier document.
    """
    corpus = Corpus()
    for document in light_documents(
        target_chars, seed, exact_rate, near_rate, extended_rate, edit_rates, sites, paragraphs_per_doc
    ):
        corpus.documents.append(document.text)
        corpus.copies.extend(document.copies)
    return corpus


def light_documents(
    target_chars: int,
    seed: int = 0,
    exact_rate: float = 0.04,
    near_rate: float = 0.04,
    extended_rate: float = 0.02,
    edit_rates: tuple[float, ...] = (0.02, 0.05, 0.1),
    sites: int = 20,
    paragraphs_per_doc: tuple[int, int] = (3, 12),
) -> Iterator[Document]:
    """The documents of ``make_corpus``, one at a time (its arguments)."""
    rng = np.random.default_rng(seed)
    real, *_ = language()
    headers = [
        f"Site {s} navigation: Home | Docs | Blog | About | Contact | Search the site {s} archive" for s in range(sites)
    ]
    footers = [
        f"Copyright {2000 + s} Example Site {s}. All rights reserved. Privacy policy, terms of use and cookie settings."
        for s in range(sites)
    ]
    originals: list[tuple[int, int, str]] = []  # (doc, block, text) of fresh paragraphs
    pool: list[str] = []
    doc = 0
    size = 0  # a running total: summing every document on each loop is quadratic
    while size < target_chars:
        if len(pool) < paragraphs_per_doc[1]:
            pool.extend(fresh_paragraphs(4096, rng))
            # A few real documentation paragraphs keep real phrasing in the mix.
            pool.extend(real[int(i)] for i in rng.integers(0, len(real), size=8))
        site = int(rng.integers(sites))
        blocks = [headers[site]]
        copies = [Copy(doc, 0, -1, site, "boilerplate")]
        for _ in range(int(rng.integers(paragraphs_per_doc[0], paragraphs_per_doc[1] + 1))):
            block = len(blocks)
            roll = rng.random()
            if originals and roll < exact_rate + near_rate + extended_rate:
                source_doc, source_block, text = originals[int(rng.integers(len(originals)))]
                if roll < exact_rate:
                    copies.append(Copy(doc, block, source_doc, source_block, "exact"))
                elif roll < exact_rate + near_rate:
                    rate = float(edit_rates[int(rng.integers(len(edit_rates)))])
                    text = edit_words(text, rate, rng)
                    copies.append(Copy(doc, block, source_doc, source_block, "near", rate))
                else:
                    text = text + " " + pool.pop()[:120].rsplit(" ", 1)[0] + "."
                    copies.append(Copy(doc, block, source_doc, source_block, "extended"))
                blocks.append(text)
            else:
                text = pool.pop()
                originals.append((doc, block, text))
                blocks.append(text)
        blocks.append(footers[site])
        copies.append(Copy(doc, len(blocks) - 1, -1, sites + site, "boilerplate"))
        text = "\n\n".join(blocks) + "\n"
        yield Document(text, [len(block) for block in blocks], copies)
        doc += 1
        size += len(text)


def documents_of(profile: str, target_chars: int, seed: int) -> Iterator[Document]:
    """The documents of a profile with its benchmark settings.

    Raises:
        ValueError: an unknown profile.
    """
    if profile == "light":
        return light_documents(target_chars, seed)
    if profile == "crawl":
        return crawl_documents(target_chars, seed)
    raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")


# --------------------------------------------------------------------- files


TRUTH_ROWS_PER_GROUP = 1_000_000


def truth_paths(path: Path) -> tuple[Path, Path]:
    """The truth table and its summary beside a corpus file."""
    return path.with_name(f"{path.stem}.truth.parquet"), path.with_name(f"{path.stem}.truth.json")


def write_corpus(documents: Iterable[Document], path: Path, description: dict[str, Any]) -> dict[str, Any]:
    """Write the documents as JSON lines (``{"id", "text"}``), the truth beside them; return its summary.

    Everything is written under temporary names and renamed into place, the corpus last, so an
    interrupted run never leaves a corpus file that a later run would take for a finished one.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table_path, summary_path = truth_paths(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = {p: p.with_name(p.name + ".partial") for p in (path, table_path, summary_path)}
    schema = pa.schema(
        [(name, pa.int32()) for name in ("doc", "block", "source_doc", "source_block")]
        + [("kind", pa.string()), ("edit_rate", pa.float32())]
    )
    truth = Truth()
    chars = 0
    with (
        partial[path].open("w", encoding="utf-8") as handle,
        pq.ParquetWriter(partial[table_path], schema) as table,
    ):
        pending: list[Copy] = []
        for number, document in enumerate(documents):
            handle.write(jsonl_line(number, document.text))
            chars += len(document.text)
            truth.add(document)
            pending.extend(document.copies)
            if len(pending) >= TRUTH_ROWS_PER_GROUP:
                table.write_table(_copies_table(pending, schema))
                pending = []
        table.write_table(_copies_table(pending, schema))
    summary = {**description, "chars": chars, "file_bytes": partial[path].stat().st_size, **truth.summary()}
    partial[summary_path].write_text(json.dumps(summary, indent=2) + "\n")
    for final in (table_path, summary_path, path):
        os.replace(partial[final], final)
    return summary


def _copies_table(copies: list[Copy], schema: Any) -> Any:
    import pyarrow as pa

    columns = {name: [getattr(copy, name) for copy in copies] for name in schema.names}
    return pa.Table.from_pydict(columns, schema=schema)


def read_truth_summary(path: Path) -> dict[str, Any]:
    return json.loads(truth_paths(path)[1].read_text())


def parse_size(text: str) -> int:
    """'100MB' -> 100_000_000 characters (KB, MB, GB are powers of 1000)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(KB|MB|GB)?", text.strip(), flags=re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"size must look like 500KB, 100MB or 1GB, got {text!r}")
    scale = {"KB": 10**3, "MB": 10**6, "GB": 10**9}.get((match.group(2) or "").upper(), 1)
    return int(float(match.group(1)) * scale)


def size_label(chars: int) -> str:
    """100_000_000 -> '100MB', 1_200_000_000 -> '1.2GB': the inverse of ``parse_size`` for names."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if chars >= scale:
            return f"{chars / scale:g}{unit}"
    return str(chars)


def corpus_name(profile: str, chars: int, seed: int) -> str:
    return f"{profile}-{size_label(chars)}-seed{seed}.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=PROFILES, default="light")
    parser.add_argument("--size", type=parse_size, default=parse_size("10MB"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    description = {"profile": args.profile, "size": size_label(args.size), "seed": args.seed}
    if args.profile == "crawl":
        description["shape"] = asdict(CrawlShape())
    summary = write_corpus(documents_of(args.profile, args.size, args.seed), args.out, description)
    print(describe(summary, args.out))


def describe(summary: dict[str, Any], path: Path) -> str:
    return (
        f"wrote {summary['documents']:,} documents, {summary['chars']:,} characters, {summary['blocks']:,} blocks "
        f"({summary['mean_chars_per_block']:.0f} characters a block) to {path}\n"
        f"truth: {summary['duplicated_share']:.1%} of the block characters duplicated; "
        f"{summary['clusters']:,} clusters, the largest {summary['largest_cluster_blocks']:,} blocks in "
        f"{summary['largest_cluster_documents']:,} documents; "
        + ", ".join(f"{v['blocks']:,} {k}" for k, v in summary["copies_by_kind"].items())
        + " copies"
    )


if __name__ == "__main__":
    main()
