"""Deterministic corpora with known duplicates, for benchmarks and tests.

The text comes from CPython's own documentation (``pydoc_data.topics``, shipped
with every Python): its real paragraphs, and new paragraphs walked from a word
bigram model of it, so that a corpus of any size reads like documentation
while its unique paragraphs really are unique. Two profiles put duplicates
into it at known places:

``light`` (``make_corpus``): documents of a header, fresh paragraphs and a
footer, with about 10% of the paragraphs repeated:

- exact copies of earlier paragraphs;
- near copies: an earlier paragraph with a known share of its words
  substituted, deleted or inserted;
- extended copies: an earlier paragraph plus a clause (like the seeds' synopsis);
- boilerplate: a site header and footer shared by many documents.

``crawl`` (``crawl_documents``): what a real crawl dump looks like, where most
of the text repeats:

- families of 10-100 versions of one page (re-crawls, the docs of many
  releases), a few dozen pages crawled in turn; from one version to the next a
  paragraph is unchanged (an exact repeat) or has 0-10% of its words edited,
  now and then one is added or dropped, and half the versions carry a note
  of their own (the only text that never repeats);
- site boilerplate on every page: a menu of short lines, a navigation list, a
  cookie banner (each site's a near copy of one wording), a footer;
- short lines everywhere: Markdown code samples (``{``, ``import json``,
  ``>>> x = 1``), table rows (``| a | b |``), headings, bullet lists;
- so clusters span thousands of documents and over 90% of the characters are
  duplicated (the summary says how much, from the truth).

Both return the truth with the text: which block copies which, and how
(``Copy``), so that recall and precision can be measured. Blocks are what
``dedup`` segments: a blank line ends a block, every other line starts one,
and a bullet list is one block.

Usage:
    python benchmarks/corpus.py --size 100MB --out benchmarks/corpora/light-100MB-seed0.jsonl
    python benchmarks/corpus.py --profile crawl --size 100MB --out benchmarks/corpora/crawl-100MB-seed0.jsonl

Beside the JSONL file go ``<name>.truth.parquet`` (one row per copied block)
and ``<name>.truth.json`` (counts and the duplicated share).
"""

from __future__ import annotations

import argparse
import json
import os
import pydoc_data.topics
import re
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

PROFILES = ("light", "crawl")


@dataclass(frozen=True, slots=True)
class Copy:
    """Block ``block`` of document ``doc`` copies block ``source_block`` of ``source_doc``.

    ``source_doc`` is -1 for the light profile's boilerplate, which copies no block but site
    ``source_block``'s header (or footer, ``sites + site``).
    """

    doc: int
    block: int
    source_doc: int
    source_block: int
    kind: str  # "exact" | "near" | "extended" | "boilerplate" | "shared" (a line many pages share)
    edit_rate: float = 0.0


@dataclass(frozen=True, slots=True)
class Document:
    """One generated document: its text, the characters of each of its blocks, and its copies."""

    text: str
    block_chars: list[int]  # as dedup counts them: first to last visible character
    copies: list[Copy]


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


def doc_id(number: int) -> str:
    return f"doc-{number:07d}"


def jsonl_line(number: int, text: str) -> str:
    return json.dumps({"id": doc_id(number), "text": text}, ensure_ascii=False) + "\n"


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
    real, *_ = _language()
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


# ---------------------------------------------------------------- crawl profile


@dataclass(frozen=True, slots=True)
class CrawlShape:
    """What a crawl-like corpus is made of; the defaults are the benchmark's.

    Raises:
        ValueError: a count below 1, a range upside down, or a share outside [0, 1].
    """

    versions: tuple[int, int] = (10, 100)  # documents per family: versions of one page
    crawled_together: int = 32  # pages whose versions interleave: a page's versions are about this many docs apart
    sites: int = 4  # each with its own boilerplate, shared by all its pages
    unchanged: float = 0.6  # chance that a paragraph stands unedited in the next version: an exact repeat
    max_edit_rate: float = 0.10  # an edited paragraph has a share of its words edited, drawn from [0, max]
    added_paragraph: float = 0.3  # chance that a version gains a fresh paragraph
    dropped_paragraph: float = 0.1  # chance that a version loses one
    version_note: float = 0.5  # chance that a version has a paragraph of its own (a release note): unique text
    sections: tuple[int, int] = (14, 36)  # body sections of a page: paragraphs, headings, code, tables, lists
    paragraph_words: tuple[int, int] = (12, 60)

    def __post_init__(self) -> None:
        for name in ("versions", "sections", "paragraph_words"):
            low, high = getattr(self, name)
            if not 1 <= low <= high:
                raise ValueError(f"{name} must be (low, high) with 1 <= low <= high, got {(low, high)}")
        if self.crawled_together < 1 or self.sites < 1:
            raise ValueError(f"crawled_together and sites must be >= 1, got {self.crawled_together} and {self.sites}")
        for name in ("unchanged", "max_edit_rate", "added_paragraph", "dropped_paragraph", "version_note"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} is a share in [0, 1], got {getattr(self, name)}")


# Lines that documentation pages everywhere share: each is one block wherever it stands.
COMMON_CODE = (
    "{",
    "}",
    "})",
    ")",
    "]",
    "...",
    "pass",
    "else:",
    "try:",
    "raise",
    "True",
    "None",
    "import json",
    "import os",
    "import sys",
    "import numpy as np",
    "from pathlib import Path",
    ">>> x = 1",
    ">>> x",
    ">>> print(x)",
    "return result",
    "return None",
    "except ValueError:",
    "def main():",
    'if __name__ == "__main__":',
    "    main()",
    "for item in items:",
    "    print(item)",
    "with open(path) as f:",
    "    data = json.load(f)",
    "self.assertEqual(result, expected)",
)
FENCES = ("```python", "```console", "```json")
FENCE_END = "```"
HEADINGS = (
    "## Examples",
    "## Parameters",
    "## Returns",
    "## See also",
    "## Notes",
    "## Installation",
    "## Usage",
    "## Configuration",
    "## Overview",
    "### Example",
    "### Arguments",
    "### Raises",
)
TABLE_HEADERS = (
    ("| Name | Type | Description |", "|------|------|-------------|"),
    ("| Parameter | Default | Meaning |", "|-----------|---------|---------|"),
    ("| Option | Value | Effect |", "|--------|-------|--------|"),
)
TYPES = ("str", "int", "bool", "float", "bytes", "None", "list[str]", "dict[str, int]", "Path", "Callable")
MENU = (
    "Home",
    "Documentation",
    "Tutorial",
    "API reference",
    "Download",
    "Community",
    "Blog",
    "Changelog",
    "FAQ",
    "Search",
    "Support",
    "Release notes",
    "Contributing",
    "About",
)
FOOTER_LINKS = "Privacy policy · Terms of use · Contact · Report an issue"
COOKIE_BANNER = (
    "This site uses cookies. {name} and its partners use cookies and similar technologies to understand how "
    "you read the documentation, to remember your settings and to improve the site. By clicking Accept or "
    "continuing to browse you agree to our use of cookies. Read our cookie policy to learn more."
)
BANNER_EDIT_RATE = 0.05  # each site's banner after the first: a near copy of the first site's wording
CODE_LINES_PER_SITE = 300


@dataclass(slots=True)
class _Slot:
    """A block that recurs: its text now, and where it stood last (its next occurrence copies that)."""

    text: str
    kind: str  # what its repeats are: "exact" (a page's own), "boilerplate" (a site's), "shared" (everyone's)
    seen: tuple[int, int] | None = None  # (doc, block)
    edit_rate: float = 0.0  # set when edited since it last stood: then its next occurrence is a near copy
    origin: _Slot | None = None  # for a slot made as a near copy of another, which it copies when first seen


Section = list[_Slot]  # lines one after another; sections are separated by blank lines


@dataclass(slots=True)
class _Site:
    top: list[Section]  # menu, navigation list, cookie banner
    bottom: list[Section]  # footer
    code: list[_Slot]  # the project's own code lines, which its pages share


@dataclass(slots=True)
class _Page:
    """A family: the versions of one page, one state that each version edits."""

    site: _Site
    versions_left: int
    title: _Slot
    body: list[Section]
    paragraphs: list[_Slot]  # the body's prose, which versions edit
    note: _Slot | None = None  # this version's own paragraph, below the title


class _CrawlWriter:
    """The crawl profile's generator: shared lines, sites and pages, and the documents made of them."""

    def __init__(self, seed: int, shape: CrawlShape) -> None:
        self.rng = np.random.default_rng(seed)
        self.shape = shape
        _, vocabulary, *_ = _language()
        self.words = vocabulary
        self.identifiers = [w for w in vocabulary if re.fullmatch(r"[a-z][a-z0-9_]{2,15}", w)]
        self.prose: list[str] = []
        self.common_code = [_Slot(line, "shared") for line in COMMON_CODE]
        self.fences = [_Slot(line, "shared") for line in FENCES]
        self.fence_end = _Slot(FENCE_END, "shared")
        self.headings = [_Slot(line, "shared") for line in HEADINGS]
        self.table_headers = [(_Slot(head, "shared"), _Slot(rule, "shared")) for head, rule in TABLE_HEADERS]
        self.menu = [_Slot(line, "boilerplate") for line in MENU]
        self.footer_links = _Slot(FOOTER_LINKS, "boilerplate")
        self.sites: list[_Site] = []
        for _ in range(shape.sites):
            self.sites.append(self._site())

    # -- random pieces

    def _pick(self, items: list[Any] | tuple[Any, ...]) -> Any:
        return items[int(self.rng.integers(len(items)))]

    def _between(self, bounds: tuple[int, int]) -> int:
        return int(self.rng.integers(bounds[0], bounds[1] + 1))

    def _phrase(self, low: int, high: int) -> str:
        return " ".join(self._pick(self.words) for _ in range(self._between((low, high))))

    def _paragraph(self) -> str:
        if not self.prose:
            self.prose = fresh_paragraphs(4096, self.rng, *self.shape.paragraph_words)
        return self.prose.pop()

    def _code_line(self) -> str:
        a, b, c = (self._pick(self.identifiers) for _ in range(3))
        templates = (
            f"{a} = {b}.{c}()",
            f">>> {a}.{b}({c!r})",
            f"def {a}_{b}({c}, options=None):",
            f"    return {a}({b}, {c})",
            f"from {a} import {b}, {c}",
            f"    self.{a} = {b}",
            f"print({a}.{b}({c}))",
            f"$ {a} {b} --{c}",
        )
        return self._pick(templates)

    # -- sites and pages

    def _site(self) -> _Site:
        name = self._pick(self.identifiers).capitalize()
        menu = [self.menu[int(i)] for i in self.rng.choice(len(self.menu), size=8, replace=False)]
        navigation = "\n".join(f"- {self._phrase(1, 3).capitalize()}" for _ in range(self._between((6, 12))))
        banner = self._banner(name)
        year, version = self._between((2015, 2025)), f"{self._between((1, 9))}.{self._between((0, 20))}"
        footer = [
            _Slot(
                f"© {year} The {name} developers. Licensed under the {self._pick(('MIT', 'BSD', 'Apache'))} license.",
                "boilerplate",
            ),
            self.footer_links,
            _Slot(f"Built with {self._pick(('Sphinx', 'MkDocs', 'Docusaurus'))} {version}.", "boilerplate"),
        ]
        return _Site(
            top=[menu, [_Slot(navigation, "boilerplate")], [banner]],
            bottom=[footer],
            code=[_Slot(self._code_line(), "shared") for _ in range(CODE_LINES_PER_SITE)],
        )

    def _banner(self, name: str) -> _Slot:
        """The first site's cookie banner names it; every later site's is a near copy of that one."""
        if not self.sites:
            return _Slot(COOKIE_BANNER.format(name=f"The {name} project"), "boilerplate")
        first = self.sites[0].top[-1][0]
        banner = _Slot(edit_words(first.text, BANNER_EDIT_RATE, self.rng), "boilerplate", origin=first)
        if banner.text != first.text:
            banner.edit_rate = BANNER_EDIT_RATE
        return banner

    def page(self) -> _Page:
        site = self._pick(self.sites)
        title = _Slot(f"# {self._phrase(2, 5).capitalize()}", "exact")
        body: list[Section] = []
        paragraphs: list[_Slot] = []
        for _ in range(self._between(self.shape.sections)):
            roll = self.rng.random()
            if roll < 0.40:
                paragraph = _Slot(self._paragraph(), "exact")
                paragraphs.append(paragraph)
                body.append([paragraph])
            elif roll < 0.55:
                own = _Slot(f"## {self._phrase(2, 4).capitalize()}", "exact")
                body.append([self._pick(self.headings) if self.rng.random() < 0.5 else own])
            elif roll < 0.80:
                body.append(self._code_sample(site))
            elif roll < 0.90:
                body.append(self._table())
            else:
                items = [f"- {self._phrase(3, 8)}" for _ in range(self._between((3, 7)))]
                body.append([_Slot("\n".join(items), "exact")])  # one block: dedup keeps a list run whole
        return _Page(site, self._between(self.shape.versions), title, body, paragraphs)

    def _code_sample(self, site: _Site) -> Section:
        lines = [self._pick(self.fences)]
        for _ in range(self._between((3, 12))):
            roll = self.rng.random()
            if roll < 0.45:
                lines.append(self._pick(self.common_code))
            elif roll < 0.75:
                lines.append(self._pick(site.code))
            else:
                lines.append(_Slot(self._code_line(), "exact"))
        lines.append(self.fence_end)
        return lines

    def _table(self) -> Section:
        head, rule = self._pick(self.table_headers)
        rows = [
            _Slot(f"| `{self._pick(self.identifiers)}` | {self._pick(TYPES)} | {self._phrase(3, 7)} |", "exact")
            for _ in range(self._between((3, 10)))
        ]
        return [head, rule, *rows]

    def next_version(self, page: _Page) -> None:
        """Edit the page's state into its next version."""
        for paragraph in page.paragraphs:
            if self.rng.random() >= self.shape.unchanged:
                rate = float(self.rng.uniform(0.0, self.shape.max_edit_rate))
                edited = edit_words(paragraph.text, rate, self.rng)
                if edited != paragraph.text:  # an edit that hit no word leaves an exact repeat
                    paragraph.text, paragraph.edit_rate = edited, rate
        if page.paragraphs and self.rng.random() < self.shape.dropped_paragraph:
            dropped = page.paragraphs.pop(int(self.rng.integers(len(page.paragraphs))))
            page.body = [section for section in page.body if section[0] is not dropped]
        if self.rng.random() < self.shape.added_paragraph:
            added = _Slot(self._paragraph(), "exact")
            page.paragraphs.append(added)
            page.body.insert(int(self.rng.integers(len(page.body) + 1)), [added])
        page.note = _Slot(self._paragraph(), "exact") if self.rng.random() < self.shape.version_note else None

    # -- documents

    @staticmethod
    def document(number: int, page: _Page) -> Document:
        """The page's current version as document ``number``; every slot that stood before is a copy."""
        note = [[page.note]] if page.note else []
        sections = [*page.site.top, [page.title], *note, *page.body, *page.site.bottom]
        block_chars: list[int] = []
        copies: list[Copy] = []
        texts: list[str] = []
        for section in sections:
            for slot in section:
                block = len(block_chars)
                source = slot.seen or (slot.origin.seen if slot.origin else None)
                if source is not None:
                    kind = "near" if slot.edit_rate > 0 else slot.kind
                    copies.append(Copy(number, block, source[0], source[1], kind, slot.edit_rate))
                slot.seen, slot.edit_rate = (number, block), 0.0
                block_chars.append(len(slot.text.strip()))
            texts.append("\n".join(slot.text for slot in section))
        return Document("\n\n".join(texts) + "\n", block_chars, copies)


def crawl_documents(target_chars: int, seed: int = 0, shape: CrawlShape | None = None) -> Iterator[Document]:
    """A crawl-like corpus of about ``target_chars`` characters, one document at a time.

    ``shape.crawled_together`` pages are crawled in turn, a random one next each time; a page that
    has had all its versions is replaced by a new page. State is kept for those pages only, so the
    generation takes time and memory in proportion to the documents, not to what came before.
    """
    writer = _CrawlWriter(seed, shape or CrawlShape())
    crawling = [writer.page() for _ in range(writer.shape.crawled_together)]
    number = size = 0
    while size < target_chars:
        turn = int(writer.rng.integers(len(crawling)))
        page = crawling[turn]
        document = writer.document(number, page)
        yield document
        page.versions_left -= 1
        if page.versions_left == 0:
            crawling[turn] = writer.page()
        else:
            writer.next_version(page)
        number += 1
        size += len(document.text)


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


# ------------------------------------------------------------------ the truth


class Truth:
    """The copies of a corpus as its documents stream past: clusters, duplicated characters, kinds.

    Every copy names an earlier block as its source, so the copies form trees, one per cluster of
    the truth, and a block's cluster is its source's: one pass, no union-find. Per block it keeps
    its cluster and characters, per cluster its size and documents (arrays: 24 bytes a block).
    """

    def __init__(self) -> None:
        self.documents = 0
        self.first_block = array("q")  # per document: the number of its first block
        self.chars = array("i")  # per block
        self.root = array("q")  # per block: the first block of its cluster
        self.size = array("i")  # per cluster's first block: blocks in the cluster
        self.spread = array("i")  # per cluster's first block: documents it stands in
        self.last_doc = array("i")  # per cluster's first block: the last document it stood in
        self.duplicated_chars = 0
        self.by_kind: dict[str, list[int]] = {}  # kind -> [copies, characters]
        self._stand_ins: dict[int, int] = {}  # light boilerplate: the first block of each header and footer

    def add(self, document: Document) -> None:
        number, first = self.documents, len(self.chars)
        self.first_block.append(first)
        for offset, chars in enumerate(document.block_chars):
            self.chars.append(chars)
            self.root.append(first + offset)
            self.size.append(1)
            self.spread.append(1)
            self.last_doc.append(number)
        for copy in document.copies:  # in block order, so a source in this document is resolved first
            block = first + copy.block
            source = self._source_of(copy, block)
            if source == block:
                continue
            root = self.root[source]
            self.root[block] = root
            if self.size[root] == 1:
                self.duplicated_chars += self.chars[root]
            self.size[root] += 1
            self.duplicated_chars += self.chars[block]
            if self.last_doc[root] != number:
                self.last_doc[root] = number
                self.spread[root] += 1
            counts = self.by_kind.setdefault(copy.kind, [0, 0])
            counts[0] += 1
            counts[1] += self.chars[block]
        self.documents += 1

    def _source_of(self, copy: Copy, block: int) -> int:
        if copy.source_doc < 0:  # the first copy of a light header or footer stands for it
            return self._stand_ins.setdefault(copy.source_block, block)
        return self.first_block[copy.source_doc] + copy.source_block

    def summary(self) -> dict[str, Any]:
        chars = np.frombuffer(self.chars, dtype=np.int32)
        size = np.frombuffer(self.size, dtype=np.int32)
        spread = np.frombuffer(self.spread, dtype=np.int32)
        clustered = size > 1
        total = int(chars.sum(dtype=np.int64))
        return {
            "documents": self.documents,
            "blocks": int(chars.size),
            "block_chars": total,
            "mean_chars_per_block": total / chars.size if chars.size else 0.0,
            "duplicated_chars": self.duplicated_chars,
            "duplicated_share": self.duplicated_chars / total if total else 0.0,
            "clusters": int(clustered.sum()),
            "largest_cluster_blocks": int(size.max()) if size.size else 0,
            "largest_cluster_documents": int(spread.max()) if spread.size else 0,
            "clusters_over_1000_documents": int((spread > 1000).sum()),
            "copies_by_kind": {kind: {"blocks": n, "chars": c} for kind, (n, c) in sorted(self.by_kind.items())},
        }


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
