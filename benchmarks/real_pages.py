"""How right dedup is on real documentation pages: `scan` and `clean` with their defaults, judged independently.

    python benchmarks/real_pages.py --packages python3.11-doc,nodejs-doc,postgresql-doc-15,git-doc,bash-doc \\
        --out benchmarks/results/

The pages are the HTML documentation Debian ships in these packages (downloaded with ``apt-get download``
into benchmarks/corpora/debian/, which git ignores, and unpacked with ``dpkg-deb -x``). dedup scans and cleans
them with its default options; then, with judges of its own (not dedup's code):

- near-pair precision against exact character 5-gram similarity: each near pair dedup reports (a member and its
  cluster's representative) is right when the Jaccard similarity of the character 5-grams of the two texts
  (white space collapsed, case folded) reaches the threshold, or their containment the containment floor;
- near members below the floor: every distinct text of a near cluster against the representative, on word
  shingles recomputed here (``benchmarks.quality.members_below_floor``);
- exact clusters whose members differ in anything but white space, case, compatibility forms or list markers,
  by a reference normalizer written here (NFKC, case fold, markers, white space; nothing else);
- ``<pre>`` blocks torn: each ``<pre>`` of a page, read with Python's own ``html.parser``, must stand in the
  cleaned page whole or not at all;
- cut blocks that differ from their kept copy once punctuation is kept (the audit table against the reference
  normalizer): what ``clean`` removes as exact must be a real repeat;
- near recall for block pairs with Jaccard >= 0.8 and the precision of verified pairs (``benchmarks.quality``).

Results go to ``<out>/real-pages.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import unicodedata
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.quality import members_below_floor, quality  # noqa: E402

CACHE = ROOT / "benchmarks" / "corpora" / "debian"
BULLET_OR_NUMBER = re.compile(r"(?m)^\s*(?:[-*+•◦▪–—]|\d{1,3}[.)])(?:\s+|$)")


def pages(packages: list[str]) -> Path:
    """The HTML pages of these Debian packages, downloaded and unpacked once into the cache."""
    CACHE.mkdir(parents=True, exist_ok=True)
    root = CACHE / "pages"
    for package in packages:
        target = root / package
        if target.exists():
            continue
        subprocess.run(["apt-get", "download", package], cwd=CACHE, check=True, capture_output=True)
        deb = sorted(CACHE.glob(f"{package}_*.deb"))[-1]
        unpacked = CACHE / f"unpacked-{package}"
        subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
        target.mkdir(parents=True)
        for number, html in enumerate(sorted(unpacked.rglob("*.html"))):
            (target / f"{number:05d}-{html.name}").write_bytes(html.read_bytes())
    return root


def reference_form(text: str) -> str:
    """White space, case, compatibility forms and list markers made equal; nothing else."""
    text = unicodedata.normalize("NFKC", text.replace("\u200b", "").replace("\u00ad", ""))
    text = unicodedata.normalize("NFKC", text.casefold())
    return " ".join(BULLET_OR_NUMBER.sub(" ", text).split())


def char_grams(text: str, n: int = 5) -> set[str]:
    flat = " ".join(text.casefold().split())
    return {flat[k : k + n] for k in range(max(len(flat) - n + 1, 1))} if flat else set()


class _Pre(HTMLParser):
    """The text of every ``<pre>`` of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "pre":
            if self.depth == 0:
                self.found.append("")
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre" and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.found[-1] += data


def pre_texts(html: str, min_lines: int = 2) -> list[str]:
    parser = _Pre()
    parser.feed(html)
    return [text for text in parser.found if len(text.strip().splitlines()) >= min_lines]


def torn_pre_blocks(originals: Path, cleaned: Path) -> dict[str, int]:
    """Multi-line ``<pre>`` blocks of the pages, and how many stand in the cleaned copy neither whole nor gone.

    A cleaned page (HTML) is read with the same parser: each of its ``<pre>`` must be one of the original's,
    whole. A cleaned copy in text (an older dedup) is searched for the lines of each ``<pre>``.
    """
    total = torn = 0
    for page in sorted(originals.rglob("*.html")):
        copy = next(iter(cleaned.glob(f"{page.relative_to(originals).with_suffix('')}*")), None)
        html = page.read_text(encoding="utf-8", errors="replace")
        copied = copy.read_text(encoding="utf-8", errors="replace") if copy else ""
        if copy is not None and copy.suffix == ".html":
            total += len(pre_texts(html))
            own = [_lines(text) for text in pre_texts(html, min_lines=0)]
            # A <pre> of the cleaned page that is none of the page's own is what is left of a torn one.
            torn += sum(_lines(text) not in own for text in pre_texts(copied, min_lines=0))
            continue
        kept = " ".join(copied.split())
        for text in pre_texts(html):
            total += 1
            lines = _lines(text)
            present = [line in kept for line in lines]
            whole = " ".join(lines) in kept or " ".join(" ".join(text.split()).split()) in kept
            if any(present) and not all(present) and not whole:
                torn += 1
    return {"pre_blocks": total, "torn": torn}


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def near_precision(scan: Path, threshold: float, floor: float) -> dict[str, Any]:
    pairs = pl.read_parquet(scan / "pairs.parquet").filter(pl.col("kind") == "near")
    blocks = pl.read_parquet(scan / "blocks.parquet", columns=["doc_id", "block", "text"])
    texts = {(d, b): t for d, b, t in blocks.iter_rows()}
    right = 0
    for doc_a, block_a, doc_b, block_b in pairs.select("doc_a", "block_a", "doc_b", "block_b").iter_rows():
        a, b = char_grams(texts[(doc_a, block_a)]), char_grams(texts[(doc_b, block_b)])
        shared = len(a & b)
        jaccard = shared / len(a | b) if a | b else 0.0
        contained = shared / min(len(a), len(b)) if a and b else 0.0
        right += jaccard >= threshold or contained >= floor
    return {"near_pairs": pairs.height, "precision_char5": right / pairs.height if pairs.height else None}


def loose_exact_clusters(scan: Path) -> dict[str, int]:
    """Exact clusters whose members differ by more than the reference normalizer allows."""
    clusters = pl.read_parquet(scan / "clusters.parquet").filter(pl.col("kind") == "exact")
    blocks = pl.read_parquet(scan / "blocks.parquet", columns=["cluster", "text"]).filter(
        pl.col("cluster").is_in(clusters["cluster"].implode())
    )
    forms = blocks.with_columns(pl.col("text").map_elements(reference_form, return_dtype=pl.String).alias("form"))
    loose = forms.group_by("cluster").agg(pl.col("form").n_unique().alias("forms")).filter(pl.col("forms") > 1)
    return {"exact_clusters": clusters.height, "differing": loose.height}


def cut_but_different(scan: Path, removed: Path) -> dict[str, int]:
    """Exact cuts whose text differs from the kept copy's once punctuation is kept."""
    audit = pl.read_parquet(removed).filter(pl.col("kind") == "exact")
    blocks = pl.read_parquet(scan / "blocks.parquet", columns=["doc_id", "block", "text"])
    joined = audit.join(
        blocks.rename({"doc_id": "kept_doc_id", "block": "kept_block", "text": "kept_text"}),
        on=["kept_doc_id", "kept_block"],
    ).join(blocks, on=["doc_id", "block"])
    differing = sum(reference_form(a) != reference_form(b) for a, b in joined.select("text", "kept_text").iter_rows())
    return {"exact_cuts": audit.height, "differing": differing}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", default="python3.11-doc,nodejs-doc,postgresql-doc-15,git-doc,bash-doc")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    root = pages([name.strip() for name in args.packages.split(",") if name.strip()])
    import dedup

    options = dedup.ScanOptions()
    threshold, floor = options.lsh.threshold, options.lsh.containment
    with tempfile.TemporaryDirectory(prefix="dedup-real-pages-") as scratch_dir:
        scratch = Path(scratch_dir)
        scan = scratch / "scan"
        result = dedup.scan([root], options, out=scan)
        cleaned = dedup.clean([root], scratch / "clean", removed=scratch / "removed.parquet")
        results = {
            "command": " ".join(["python", "benchmarks/real_pages.py", *sys.argv[1:]]),
            "packages": args.packages,
            "pages": result.stats.documents,
            "blocks": result.stats.blocks,
            "summary": {k: v for k, v in result.summary().items() if k != "settings"},
            "near_precision": near_precision(scan, threshold, floor),
            "members": members_below_floor(scan, threshold, floor),
            "exact": loose_exact_clusters(scan),
            "clean": {
                "blocks_removed": cleaned.stats.blocks_removed,
                "chars_removed": cleaned.stats.chars_removed,
                "chars": cleaned.stats.chars,
            },
            "pre": torn_pre_blocks(root, scratch / "clean"),
            "cut_but_different": cut_but_different(scan, scratch / "removed.parquet"),
            # 2,000 query blocks held a few dozen near pairs: too few to measure recall.
            "quality": quality(scan, 0.8, 20_000, 0),
        }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "real-pages.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
