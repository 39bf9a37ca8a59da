"""Deterministic corpora with known duplicates, for benchmarks and tests.

The text comes from CPython's own documentation (``pydoc_data.topics``, shipped
with every Python): its real paragraphs, and new paragraphs walked from a word
bigram model of it, so that a corpus of any size reads like documentation
while its unique paragraphs really are unique. Into the documents go, at known
places and rates:

- exact copies of earlier paragraphs;
- near copies: an earlier paragraph with a known share of its words
  substituted, deleted or inserted;
- extended copies: an earlier paragraph plus a clause (like the seeds' synopsis);
- boilerplate: a site header and footer shared by many documents.

``make_corpus`` returns the documents and the truth (which block copies which),
so that recall and precision can be measured.

Usage: python benchmarks/corpus.py --size 100MB --out benchmarks/corpora/100MB.jsonl
"""

from __future__ import annotations

import argparse
import json
import pydoc_data.topics
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np


@dataclass(frozen=True, slots=True)
class Copy:
    """Block ``block`` of document ``doc`` copies block ``source_block`` of ``source_doc``."""

    doc: int
    block: int
    source_doc: int
    source_block: int
    kind: str  # "exact" | "near" | "extended" | "boilerplate"
    edit_rate: float = 0.0


@dataclass(slots=True)
class Corpus:
    documents: list[str] = field(default_factory=list)
    copies: list[Copy] = field(default_factory=list)

    def ids(self) -> list[str]:
        return [f"doc-{i:07d}" for i in range(len(self.documents))]

    def write_jsonl(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            for doc_id, text in zip(self.ids(), self.documents, strict=True):
                handle.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")

    @property
    def n_chars(self) -> int:
        return sum(len(d) for d in self.documents)


@cache
def _language() -> tuple[list[str], list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Real paragraphs, the vocabulary, and a bigram successor table over it."""
    text = "\n\n".join(pydoc_data.topics.topics[k] for k in sorted(pydoc_data.topics.topics))
    paragraphs = sorted({" ".join(p.split()) for p in re.split(r"\n\s*\n", text)})
    paragraphs = [p for p in paragraphs if len(p.split()) >= 20]
    words = " ".join(paragraphs).split()
    vocabulary = sorted(set(words))
    index = {w: i for i, w in enumerate(vocabulary)}
    ids = np.array([index[w] for w in words], dtype=np.int64)
    order = np.argsort(ids[:-1], kind="stable")
    successors = ids[1:][order]
    counts = np.bincount(ids[:-1], minlength=len(vocabulary))
    offsets = np.concatenate(([0], np.cumsum(counts)))
    return paragraphs, vocabulary, successors, offsets, counts


def fresh_paragraphs(count: int, rng: np.random.Generator, min_words: int = 25, max_words: int = 120) -> list[str]:
    """New paragraphs walked from the bigram model, all walks in step at once."""
    _, vocabulary, successors, offsets, counts = _language()
    lengths = rng.integers(min_words, max_words + 1, size=count)
    current = rng.integers(0, len(vocabulary), size=count)
    walk = np.empty((count, max_words), dtype=np.int64)
    for step in range(max_words):
        dead = counts[current] == 0
        current = np.where(dead, rng.integers(0, len(vocabulary), size=count), current)
        walk[:, step] = current
        pick = offsets[current] + (rng.random(count) * counts[current]).astype(np.int64)
        current = successors[np.minimum(pick, successors.size - 1)]
    vocab = np.array(vocabulary, dtype=object)
    return [" ".join(vocab[row[:n]]) for row, n in zip(walk, lengths, strict=True)]


def edit_words(paragraph: str, rate: float, rng: np.random.Generator) -> str:
    """Substitute, delete or insert about ``rate`` of the words."""
    _, vocabulary, *_ = _language()
    out: list[str] = []
    for word in paragraph.split():
        roll = rng.random()
        if roll < rate / 3:
            out.append(vocabulary[rng.integers(len(vocabulary))])
        elif roll < 2 * rate / 3:
            continue
        elif roll < rate:
            out.extend((word, vocabulary[rng.integers(len(vocabulary))]))
        else:
            out.append(word)
    return " ".join(out)


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
    """A corpus of about ``target_chars`` characters with known copies.

    Documents are paragraphs separated by blank lines: a site header, body
    paragraphs, a site footer. Each body paragraph is fresh text, or with the
    given rates a copy of a fresh paragraph of an earlier document.
    """
    rng = np.random.default_rng(seed)
    real, *_ = _language()
    headers = [
        f"Site {s} navigation: Home | Docs | Blog | About | Contact | Search the site {s} archive" for s in range(sites)
    ]
    footers = [
        f"Copyright {2000 + s} Example Site {s}. All rights reserved. Privacy policy, terms of use and cookie settings."
        for s in range(sites)
    ]
    corpus = Corpus()
    originals: list[tuple[int, int, str]] = []  # (doc, block, text) of fresh paragraphs
    pool: list[str] = []
    size = 0  # a running total: summing every document on each loop is quadratic
    while size < target_chars:
        if len(pool) < paragraphs_per_doc[1]:
            pool.extend(fresh_paragraphs(4096, rng))
            # A few real documentation paragraphs keep real phrasing in the mix.
            pool.extend(real[int(i)] for i in rng.integers(0, len(real), size=8))
        doc = len(corpus.documents)
        site = int(rng.integers(sites))
        blocks = [headers[site]]
        corpus.copies.append(Copy(doc, 0, -1, site, "boilerplate"))
        for _ in range(int(rng.integers(paragraphs_per_doc[0], paragraphs_per_doc[1] + 1))):
            block = len(blocks)
            roll = rng.random()
            if originals and roll < exact_rate + near_rate + extended_rate:
                source_doc, source_block, text = originals[int(rng.integers(len(originals)))]
                if roll < exact_rate:
                    corpus.copies.append(Copy(doc, block, source_doc, source_block, "exact"))
                elif roll < exact_rate + near_rate:
                    rate = float(edit_rates[int(rng.integers(len(edit_rates)))])
                    text = edit_words(text, rate, rng)
                    corpus.copies.append(Copy(doc, block, source_doc, source_block, "near", rate))
                else:
                    text = text + " " + pool.pop()[:120].rsplit(" ", 1)[0] + "."
                    corpus.copies.append(Copy(doc, block, source_doc, source_block, "extended"))
                blocks.append(text)
            else:
                text = pool.pop()
                originals.append((doc, block, text))
                blocks.append(text)
        blocks.append(footers[site])
        corpus.copies.append(Copy(doc, len(blocks) - 1, -1, sites + site, "boilerplate"))
        corpus.documents.append("\n\n".join(blocks) + "\n")
        size += len(corpus.documents[-1])
    return corpus


def parse_size(text: str) -> int:
    """'100MB' -> 100_000_000 characters (KB, MB, GB are powers of 1000)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(KB|MB|GB)?", text.strip(), flags=re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"size must look like 500KB, 100MB or 1GB, got {text!r}")
    scale = {"KB": 10**3, "MB": 10**6, "GB": 10**9}.get((match.group(2) or "").upper(), 1)
    return int(float(match.group(1)) * scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=parse_size, default=parse_size("10MB"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    corpus = make_corpus(args.size, seed=args.seed)
    corpus.write_jsonl(args.out)
    print(
        f"wrote {len(corpus.documents)} documents, {corpus.n_chars:,} characters, "
        f"{len(corpus.copies)} copies to {args.out}"
    )


if __name__ == "__main__":
    main()
