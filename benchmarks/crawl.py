"""The crawl profile: a corpus like a real crawl dump, where most of the text repeats.

- Families of 10-100 versions of one page (re-crawls, the docs of many releases), a few dozen
  pages crawled in turn; from one version to the next a paragraph is unchanged (an exact repeat)
  or has 0-10% of its words edited, now and then one is added or dropped, and half the versions
  carry a note of their own (the only text that never repeats).
- Site boilerplate on every page: a menu of short lines, a navigation list, a cookie banner (each
  site's a near copy of one wording), a footer.
- Short lines everywhere: menus, headings, bullet lists; Markdown code samples (lines like ``{``,
  ``import json``, ``>>> x = 1``) and tables (``| a | b |``), each of which is one block.

So clusters span thousands of documents and over 90% of the characters are duplicated; the truth
of every document says which block copies which (``Copy``), as dedup segments them: a blank line
ends a block, every other line starts one, and a bullet list, a code sample and a table are one
block each.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.prose import edit_words, fresh_paragraphs, language
from benchmarks.truth import Copy, Document


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
COMMON_CODE = tuple(
    """\
{
}
})
)
]
...
pass
else:
try:
raise
True
None
import json
import os
import sys
import numpy as np
from pathlib import Path
>>> x = 1
>>> x
>>> print(x)
return result
return None
except ValueError:
def main():
if __name__ == "__main__":
    main()
for item in items:
    print(item)
with open(path) as f:
    data = json.load(f)
self.assertEqual(result, expected)
""".splitlines()
)
FENCES = ("```python", "```console", "```json")
FENCE_END = "```"
HEADINGS = tuple(
    """\
## Examples
## Parameters
## Returns
## See also
## Notes
## Installation
## Usage
## Configuration
## Overview
### Example
### Arguments
### Raises
""".splitlines()
)
TABLE_HEADERS = (
    ("| Name | Type | Description |", "|------|------|-------------|"),
    ("| Parameter | Default | Meaning |", "|-----------|---------|---------|"),
    ("| Option | Value | Effect |", "|--------|-------|--------|"),
)
TYPES = ("str", "int", "bool", "float", "bytes", "None", "list[str]", "dict[str, int]", "Path", "Callable")
MENU = tuple(
    """\
Home
Documentation
Tutorial
API reference
Download
Community
Blog
Changelog
FAQ
Search
Support
Release notes
Contributing
About
""".splitlines()
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
        _, vocabulary, *_ = language()
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
        """A fenced code sample of shared, site and new lines: one block, as dedup keeps code whole."""
        lines = [self._pick(self.fences).text]
        for _ in range(self._between((3, 12))):
            roll = self.rng.random()
            if roll < 0.45:
                lines.append(self._pick(self.common_code).text)
            elif roll < 0.75:
                lines.append(self._pick(site.code).text)
            else:
                lines.append(self._code_line())
        lines.append(self.fence_end.text)
        return [_Slot("\n".join(lines), "exact")]

    def _table(self) -> Section:
        """A Markdown table: one block, as dedup keeps a table whole."""
        head, rule = self._pick(self.table_headers)
        rows = [
            f"| `{self._pick(self.identifiers)}` | {self._pick(TYPES)} | {self._phrase(3, 7)} |"
            for _ in range(self._between((3, 10)))
        ]
        return [_Slot("\n".join([head.text, rule.text, *rows]), "exact")]

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
