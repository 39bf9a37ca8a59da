"""HTML pages -> text whose paragraphs are the page's blocks.

The page is parsed by lexbor (through selectolax), an HTML5 parser that builds
the tree a browser builds. The text is collected walking that tree: every
block-level element (``p``, ``li``, ``h1``-``h6``, ``td``, a ``div`` with text of
its own, ...) and every run of ``<br>`` ends a paragraph, and paragraphs are
separated by a blank line, so that the segmenter makes each its own block with
offsets into this text. White space is collapsed as a browser renders it,
except inside ``<pre>``. Content that is never shown as text (scripts, styles,
templates, ``<noscript>`` fallbacks, embedded media) is left out; page chrome
(``nav``, ``header``, ``footer``, ``aside``) only when asked, because finding
boilerplate is one of the main uses of dedup.
"""

from __future__ import annotations

import html as html_module
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser

import numpy as np
from selectolax.lexbor import LexborHTMLParser, LexborNode

from dedup.formats.encoding import charset_of, decode
from dedup.formats.records import (
    Input,
    PageReading,
    PagesElsewhere,
    ReadWarning,
    Record,
    Skip,
    decoding_warnings,
    finish_text,
    read_whole,
)
from dedup.options import ReadOptions

BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog", "dir",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hgroup", "hr", "html", "legend", "li", "listing", "main", "menu", "nav", "ol", "optgroup", "option",
    "p", "plaintext", "pre", "search", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "ul",
})  # fmt: skip
# Elements whose content is never shown as text: code, metadata, and fallbacks of embedded content.
NEVER_TEXT = frozenset({
    "script", "style", "noscript", "template", "head", "title", "meta", "link", "base", "iframe", "object",
    "embed", "canvas", "video", "audio", "svg", "math",
})  # fmt: skip
LAYOUT_TAGS = frozenset({"nav", "header", "footer", "aside"})
PREFORMATTED = frozenset({"pre", "listing", "plaintext", "textarea"})
_TEXT_TAG = "-text"  # what lexbor calls a text node
VOID_TAGS = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
})  # fmt: skip
# Text is collapsed a piece at a time: str.split() makes a string of every word, and a paragraph of 200 MB
# of short words took 4.5 GB that way, where a megabyte at a time takes a few more than the paragraph.
_PIECE_CHARS = 1 << 20
_PRESCAN_BYTES = 1024  # where the HTML Standard looks for <meta charset>
# A tree builder checks the stack of open elements at every one of these start tags, so a page that nests
# them thousands deep costs it quadratic time (minutes at 100,000). Browsers cap the depth at 512;
# past MAX_TREE_DEPTH the page is read with a tokenizer instead, which has no stack to check.
MAX_TREE_DEPTH = 4096
# Matched in the page's UTF-8 in lower case: tag names are ASCII in any case, and re.IGNORECASE made the search
# four times slower (it also took the long s for an s, as no browser does).
_NESTING_TAGS = re.compile(
    rb"(</?)(?:address|article|aside|blockquote|center|details|dialog|dir|div|dl|fieldset|figcaption|figure|footer"
    rb"|form|header|hgroup|main|menu|nav|ol|section|summary|ul)[\s/>]"
)


def html_to_text(html: str, drop_layout: bool = False) -> tuple[str, str]:
    """The visible text of a page, one paragraph per block, paragraphs separated by a blank line.

    Args:
        html: the page.
        drop_layout: leave out ``nav``, ``header``, ``footer`` and ``aside`` elements.

    Returns:
        The text, and a note for the user when the page had to be read the slow way (else empty).
    """
    page = read_page(html, drop_layout)
    return page.text, page.note


@dataclass(frozen=True, slots=True)
class Page:
    """The visible text of a page and where its paragraphs stand in the page.

    Attributes:
        text: one paragraph per block, paragraphs separated by a blank line (``<pre>`` fenced, tables as rows).
        note: why the page had to be read the slow way, else empty.
        anchors: for each paragraph, ``(text offset, text line, source line, source column)`` of its first
            visible character (lines and columns 1-based, columns in characters), flattened: what
            ``dedup.locations`` turns into the place of every block in the page.
        spans: for each paragraph, ``(text start, text end, source start, source end)``, flattened: the
            offsets of its text in ``text`` and of the source from its first visible text to the end of its
            last (what ``block_sources`` maps cut blocks through).
    """

    text: str
    note: str
    anchors: tuple[int, ...]
    spans: tuple[int, ...]


def read_page(html: str, drop_layout: bool = False) -> Page:
    """The visible text of a page (see ``html_to_text``) with the source place of each paragraph."""
    skipped = NEVER_TEXT | LAYOUT_TAGS if drop_layout else NEVER_TEXT
    depth = nesting_depth(html)
    if depth > MAX_TREE_DEPTH:
        note = f"block elements nest {depth} deep (more than {MAX_TREE_DEPTH}): read with a tokenizer"
        collector = _tokenized(html, skipped)
    else:
        note = ""
        tree = LexborHTMLParser(html)
        root = tree.body or tree.root
        collector = _Collector(skipped, _Aligner(html))
        if root is not None:
            collector.walk(root)
        del tree, root  # the tree holds the page again: gone before the text is made (a large page costs less)
    paragraphs, sources = collector.paragraphs, collector.sources
    spans = _spans(html, paragraphs, sources, collector.lasts)
    return Page("\n\n".join(paragraphs), note, _anchors(html, paragraphs, sources), spans)


def _spans(html: str, paragraphs: list[str], firsts: list[int], lasts: list[int]) -> tuple[int, ...]:
    """``(text start, text end, source start, source end)`` of each paragraph (see ``Page``).

    A text runs in the source to the next tag or comment; a paragraph whose place is not known takes an
    empty span where the one before it ended.
    """
    spans: list[int] = []
    text_offset = source_end = 0
    for paragraph, first, last in zip(paragraphs, firsts, lasts, strict=True):
        if first < 0:
            start = end = source_end
        else:
            start = first
            end = html.find("<", max(last, first) + 1)
            end = len(html) if end < 0 else end
        spans += (text_offset, text_offset + len(paragraph), start, end)
        source_end = max(source_end, end)
        text_offset += len(paragraph) + 2
    return tuple(spans)


def block_sources(page: Page, cut: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Where blocks of a page's text stand in the page's source: the span from the first visible text of
    their first paragraph to the end of the text of their last.

    Args:
        page: the page as read (``read_page``).
        cut: ``(start, end)`` offsets of blocks in ``page.text``.

    Returns:
        ``(start, end)`` offsets in the source, one per block, in the order given: what ``remove_blocks`` takes.
    """
    spans = np.array(page.spans, dtype=np.int64).reshape(-1, 4)
    found = []
    for start, end in cut:
        # The paragraphs the block overlaps: those that end after it starts and start before it ends.
        inside = spans[(spans[:, 1] > start) & (spans[:, 0] < max(end, start + 1))]
        found.append((int(inside[:, 2].min()), int(inside[:, 3].max())) if inside.size else (0, 0))
    return found


def _anchors(html: str, paragraphs: list[str], sources: list[int]) -> tuple[int, ...]:
    """``(text offset, text line, source line, source column)`` of each paragraph's first visible character.

    Both texts are walked once, forwards (the source offsets only grow), so a page costs one pass.
    """
    anchors: list[int] = []
    text_offset, text_line = 0, 1
    source_offset, source_line = 0, 1
    for paragraph, source in zip(paragraphs, sources, strict=True):
        lead = len(paragraph) - len(paragraph.lstrip())
        lead_lines = paragraph.count("\n", 0, lead)
        source = max(source, source_offset)
        source_line += html.count("\n", source_offset, source)
        source_offset = source
        column = source - html.rfind("\n", 0, source)  # rfind is -1 on the first line: columns count from 1
        anchors += (text_offset + lead, text_line + lead_lines, source_line, column)
        text_offset += len(paragraph) + 2
        text_line += paragraph.count("\n") + 2
    return tuple(anchors)


# Where the next text of a page can start: past white space, comments and tags (the aligner's fast path).
_MARKUP = re.compile(r"(?:\s+|<!--.*?(?:-->|$)|<[A-Za-z/!?][^>]*>?)*", re.DOTALL)
# A text's first characters that stand for themselves in the source (no entity, no white space to collapse;
# a character outside ASCII may be written as one).
# Its first visible character, and the characters from there that stand for themselves (printable ASCII but
# quotes, & < >), if any.
_FIRST_VISIBLE = re.compile(r"\s*(?:([!#-%(-;=?-~]{1,32})|(\S))")
_LINE_BACKTICKS = re.compile(r"(?m)^[ \t]*(`+)")
_BODY = re.compile(r"<body[^>]*>", re.IGNORECASE)
_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?")
_SHORT_KEY = 6  # a key of fewer characters is looked for close by only
_SHORT_SEARCH_CHARS = 512
_SEARCH_CHARS = 1 << 16  # how far past the last text the aligner looks for the next before it gives up on one
_LONG_SEARCHES = 16  # searches to the end of the page, at most: beyond, a page of strays costs no quadratic time


class _Aligner:
    """Finds where each text node of a parsed page starts in the page's source, walking it forwards.

    The tree builder keeps no source positions, so each text node is looked for where the last one ended:
    first right after the markup that follows (the common case: one regex match), then by its first
    literal characters (outside tags) a little further on, which passes over the text of elements
    that are never shown (scripts, styles). A text found nowhere keeps the place of the text before it.
    """

    def __init__(self, html: str) -> None:
        self.html = html
        body = _BODY.search(html)
        self.cursor = body.end() if body else 0  # the walk starts at the body: the head's texts are not looked for
        self.long_searches = 0

    def find(self, text: str) -> int:
        """The source offset of the first visible character of ``text`` (a text node's content)."""
        first = _FIRST_VISIBLE.match(text)
        if first is None:
            return self.cursor
        html = self.html
        markup = _MARKUP.match(html, self.cursor)  # always matches, if only the empty string
        start = markup.end() if markup else self.cursor
        literal = first.group(1)
        char = literal[0] if literal else first.group(2)
        here = html.startswith(literal or char, start)
        if here or (html.startswith("&", start) and _reference_at(html, start) == char):  # maybe as an entity
            found = start
        else:
            # Further on: by its literal start, or a character that may be written as an entity by either.
            keys = [literal] if literal else [char, "&"]
            places = [place for place in (self._search(key, start) for key in keys) if place >= 0]
            if not places:
                return self.cursor
            found = min(places)
        # The text runs to the next tag: the next text is looked for after it.
        end = html.find("<", found + 1)
        self.cursor = end if end >= 0 else len(html)
        return found

    def _search(self, key: str, start: int) -> int:
        """Where ``key`` stands next outside a tag. A short key is looked for close by only: found far away it
        would more likely be another text's, and the walk never goes back."""
        html = self.html
        if len(key) < _SHORT_KEY:
            end = start + _SHORT_SEARCH_CHARS
        elif self.long_searches < _LONG_SEARCHES:
            self.long_searches += 1
            end = len(html)
        else:
            end = start + _SEARCH_CHARS
        found = html.find(key, start, end)
        while found >= 0 and html.rfind("<", start, found) > html.rfind(">", start, found):  # inside a tag
            found = html.find(key, found + 1, end)
        return found


def _reference_at(html: str, position: int) -> str:
    """The character a character reference at ``position`` stands for (``&#94;``, ``&amp;``), else ""."""
    if not html.startswith("&", position):
        return ""
    reference = _REFERENCE.match(html, position)
    return html_module.unescape(reference.group()) if reference else ""


def nesting_depth(html: str) -> int:
    """How deep block containers nest, counted from their tags (an estimate: it ignores implied ends).

    An end tag with none open counts for nothing: the depth is the walk of +1 per start and -1 per end tag,
    held at 0 from below, which is the running sum less its lowest point so far (0 included). A step per tag
    in Python and a case-blind search took 1.8 of the 10.4 s of reading 530 pages of Python's documentation.
    """
    marks: list[bytes] = []  # b"<" for each start tag, b"</" for each end tag
    start = 0
    while start < len(html):
        # A piece at a time, cut before a "<", which only ever starts a match: a large page is not copied whole.
        end = html.find("<", start + _PIECE_CHARS)
        end = len(html) if end < 0 else end
        marks += _NESTING_TAGS.findall(html[start:end].encode("utf-8", "surrogatepass").lower())
        start = end
    if not marks:
        return 0
    chars = np.frombuffer(b"".join(marks), dtype=np.uint8)
    opens = np.flatnonzero(chars == ord("<"))
    closes = np.append(chars[1:] == ord("/"), False)[opens]
    walk = np.cumsum(np.where(closes, -1, 1))
    return int((walk - np.minimum.accumulate(np.minimum(walk, 0))).max())


# Content that makes a table one for layout, whose cells are paragraphs of their own: a table of data holds
# words, numbers and inline code, not code samples, headings, lists or other tables.
LAYOUT_INSIDE_TABLE = frozenset({
    "table", "pre", "listing", "plaintext", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "blockquote",
    "form", "hr", "nav", "header", "footer", "section", "article", "main", "aside", "fieldset",
})  # fmt: skip


class _Table:
    """The rows of a table of data as they are read: cells of text runs, each with the source places of its
    first and last visible text (-1 while it has none)."""

    def __init__(self) -> None:
        self.rows: list[list[tuple[list[str], list[int]]]] = [[]]

    def new_cell(self) -> None:
        self.rows[-1].append(([], [-1, -1]))

    def end_row(self) -> None:
        if self.rows[-1]:
            self.rows.append([])

    def text(self, content: str, source: int) -> None:
        row = self.rows[-1]
        if not row:
            self.new_cell()
        parts, places = row[-1]
        if source >= 0 and not content.isspace():
            places[0] = source if places[0] < 0 else places[0]
            places[1] = source
        parts.append(content)

    def cells(self) -> Iterator[tuple[str, int, int]]:
        """Each cell's text with the source places of its first and last visible text."""
        for row in self.rows:
            for parts, (first, last) in row:
                yield "".join(parts), first, last

    def paragraph(self) -> tuple[str, int, int]:
        """The table as rows ``| cell | cell |``, one line each (rows without text left out): one block."""
        lines = []
        for row in self.rows:
            cells = [_collapsed("".join(parts)).replace("|", "\\|") for parts, _ in row]
            if any(cells):
                lines.append("| " + " | ".join(cells) + " |")
        places = [places for row in self.rows for _, places in row if places[0] >= 0]
        return "\n".join(lines), places[0][0] if places else -1, places[-1][1] if places else -1


class _Collector:
    """Walks a tree without recursion (pages nest deeper than Python's stack) and collects paragraphs.

    Besides each paragraph it keeps ``sources``: the source offset of its first visible character, from the
    aligner (the tree path) or the tokenizer's position (see ``_Tokenized``).
    """

    def __init__(self, skipped: frozenset[str], aligner: _Aligner | None = None) -> None:
        self.skipped = skipped
        self.aligner = aligner
        self.paragraphs: list[str] = []
        self.sources: list[int] = []  # of each paragraph, where its first visible text starts
        self.lasts: list[int] = []  # of each paragraph, where its last visible text starts
        self.parts: list[str] = []
        self.source = -1  # where the current paragraph's first visible character stands, -1 before it
        self.last = -1  # where its last visible text starts
        self.pre_depth = 0
        self.table: _Table | None = None  # the table of data being read, whose rows become one paragraph
        self.code_blocks: list[bool] = []  # of each open <code> (tree path): read as a <pre>

    def walk(self, root: LexborNode) -> list[str]:
        # Every property of a node makes a Python object (150 to 300 ns): each is asked for once per node.
        root_id = root.mem_id
        node = root.child
        while node is not None:
            child = self._enter(node)
            if child is not None:
                node = child
                continue
            # Done with this node: go to its next sibling, leaving every finished parent on the way.
            following = node.next
            while following is None:
                node = node.parent
                if node is None or node.mem_id == root_id:
                    break
                self.end_tag(node.tag or "")
                following = node.next
            node = following
        self.end()
        return self.paragraphs

    def _enter(self, node: LexborNode) -> LexborNode | None:
        """Take a node; its first child when its children are to be walked next, else None."""
        tag = node.tag or ""
        if tag == _TEXT_TAG:
            content = node.text_content or ""
            if not content or content.isspace():  # white space between elements, the most common text
                if self.table is None:
                    self.parts.append(content)
                else:
                    self.table.text(content, -1)
            else:
                self.text(content, self.aligner.find(content) if self.aligner is not None else -1)
            return None
        # Not an element: a comment ("-comment"), or anything else lexbor names outside the tag names.
        if not tag[:1].isalpha() or tag in self.skipped:
            return None
        if tag == "code":
            self.code_blocks.append(not self.pre_depth and self.table is None and _code_block(node))
            if self.code_blocks[-1]:
                self.start_tag("pre")
        self.start_tag(tag)
        if tag == "br":
            return None
        child = node.child
        if child is None:
            self.end_tag(tag)
        return child

    def text(self, content: str, source: int) -> None:
        """A run of text; ``source`` is where its first visible character stands (-1: not known, or blank)."""
        if self.table is not None:
            self.table.text(content, source)
            return
        if source >= 0 and not content.isspace():
            self.source = source if self.source < 0 else self.source
            self.last = source
        self.parts.append(content)

    def start_tag(self, tag: str) -> None:
        if self.table is not None:
            self._table_start_tag(tag)
            return
        if tag == "br":
            if self.pre_depth:
                self.parts.append("\n")
            else:
                self.flush()
            return
        if tag in BLOCK_TAGS or tag in PREFORMATTED:
            self.flush()
        if tag in PREFORMATTED:
            self.pre_depth += 1
        elif tag == "table" and not self.pre_depth:
            self.table = _Table()

    def end_tag(self, tag: str) -> None:
        if tag == "code" and self.code_blocks and self.code_blocks.pop():
            self.end_tag("pre")
            return
        if self.table is not None:
            self._table_end_tag(tag)
        elif tag in PREFORMATTED:
            self.flush()
            self.pre_depth -= 1
        elif tag in BLOCK_TAGS:
            self.flush()

    def _table_start_tag(self, tag: str) -> None:
        table = self.table
        assert table is not None  # only called while a table is read
        if tag in LAYOUT_INSIDE_TABLE:
            # Code, headings or another table in a cell: a table for layout, whose cells are paragraphs.
            self.table = None
            for cell, first, last in table.cells():
                self._paragraph(_collapsed(cell), first, last)
            self.start_tag(tag)
        elif tag in ("tr", "caption"):
            table.end_row()
        elif tag in ("td", "th"):
            table.new_cell()
        elif tag == "br" or tag in BLOCK_TAGS:
            table.text(" ", -1)

    def _table_end_tag(self, tag: str) -> None:
        table = self.table
        assert table is not None  # only called while a table is read
        if tag == "table":
            self.table = None
            self._paragraph(*table.paragraph())
        elif tag in ("tr", "caption"):
            table.end_row()
        elif tag in BLOCK_TAGS:
            table.text(" ", -1)

    def end(self) -> None:
        """The end of the page: a table left open ends here."""
        if self.table is not None:
            self._table_end_tag("table")
        self.flush()

    def flush(self) -> None:
        """End the current paragraph."""
        if not self.parts:
            return
        text = "".join(self.parts)
        self.parts.clear()
        first, last = self.source, self.last
        self.source = self.last = -1
        self._paragraph(_fenced(_preformatted(text)) if self.pre_depth else _collapsed(text), first, last)

    def _paragraph(self, paragraph: str, first: int, last: int) -> None:
        if paragraph:
            self.paragraphs.append(paragraph)
            self.sources.append(first)
            self.lasts.append(last)


def _code_block(node: LexborNode) -> bool:
    """Whether a ``<code>`` outside ``<pre>`` is a block of code: it holds lines, and its parent holds nothing else.

    Such code is shown by a style sheet as preformatted (``white-space: pre``), and read as a ``<pre>``.
    """
    code = node.text(deep=True).strip()
    if "\n" not in code:
        return False
    parent = node.parent
    return parent is not None and parent.text(deep=True).strip() == code


def _collapsed(text: str) -> str:
    """White space collapsed as a browser shows it: ``" ".join(text.split())``, a piece at a time."""
    if len(text) <= _PIECE_CHARS:
        return " ".join(text.split())
    pieces: list[str] = []
    space_due = False  # white space since the last word
    for start in range(0, len(text), _PIECE_CHARS):
        piece = text[start : start + _PIECE_CHARS]
        words = " ".join(piece.split())
        if words:
            if pieces and (space_due or piece[0].isspace()):
                pieces.append(" ")
            pieces.append(words)
            space_due = piece[-1].isspace()
        else:
            space_due = True
    return "".join(pieces)


def _fenced(code: str) -> str:
    """Preformatted text as one fenced code block, which the segmenter keeps whole.

    The fence is longer than any run of backticks that opens a line of the code, so no line closes it.
    """
    if not code:
        return ""
    runs = [len(match.group(1)) for match in _LINE_BACKTICKS.finditer(code)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return f"{fence}\n{code}\n{fence}"


def _preformatted(text: str) -> str:
    """The lines of preformatted text without trailing white space or blank lines, a piece at a time."""
    kept: list[str] = []
    start = 0
    while start < len(text):
        end = text.find("\n", start + _PIECE_CHARS)  # pieces end at a line end: lines are independent
        end = len(text) if end < 0 else end
        lines = (line.rstrip() for line in text[start:end].split("\n"))
        kept.extend(joined for joined in ["\n".join(line for line in lines if line.strip())] if joined)
        start = end + 1
    return "\n".join(kept)


class _Tokenized(HTMLParser):
    """The same paragraphs from a tokenizer's events, for pages nested too deep for the tree builder."""

    def __init__(self, collector: _Collector, line_starts: list[int]) -> None:
        super().__init__(convert_charrefs=True)
        self.collector = collector
        self.line_starts = line_starts  # the source offset of each line: getpos() counts lines and columns
        self.skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.collector.skipped:
            self.skip_depth += tag not in VOID_TAGS
        elif not self.skip_depth:
            self.collector.start_tag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.collector.skipped:
            self.skip_depth = max(self.skip_depth - (tag not in VOID_TAGS), 0)
        elif not self.skip_depth and tag in BLOCK_TAGS | PREFORMATTED:
            self.collector.end_tag(tag)

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            line, column = self.getpos()
            visible = len(data) - len(data.lstrip())
            source = self.line_starts[line - 1] + column + visible if data.strip() else -1
            self.collector.text(data, source)


def _tokenized(html: str, skipped: frozenset[str]) -> _Collector:
    collector = _Collector(skipped)
    parser = _Tokenized(collector, [0] + [match.end() for match in re.finditer("\n", html)])
    parser.feed(html)
    parser.close()
    collector.end()
    return collector


# --- removing blocks from a page -------------------------------------------------------------------------------
# A tag, or a comment: what stands between the texts of a page.
_TAG = re.compile(r"<!--.*?(?:-->|$)|<(/?)([A-Za-z][^\s/>]*)[^>]*>", re.DOTALL)
# Elements a cut never takes with it: the page's frame, and the cells and rows of a table, whose removal would
# shift the columns of the others. Their content goes; they stay, empty.
_KEPT_ELEMENTS = frozenset({"html", "head", "body", "td", "th", "tr", "thead", "tbody", "tfoot", "colgroup"})
_EMPTY_END = re.compile(r"\s*</([A-Za-z][^\s/>]*)\s*>")
_TAG_STEPS = 64  # tags looked at on either side of a block for the element that holds it


def clean_page(page: str, removed: list[tuple[int, int]], drop_layout: bool = False) -> str:
    """A page without the elements of the blocks cut from its text: ``remove_blocks`` at the ``block_sources``
    of the cuts.

    Args:
        page: the page's source, decoded as it was read.
        removed: ``(start, end)`` offsets of the cut blocks in the text the page was read as (the document text).
        drop_layout: as it was read (``--html-drop-nav``).
    """
    return remove_blocks(page, block_sources(read_page(page, drop_layout), removed))


def remove_blocks(page: str, cut: list[tuple[int, int]]) -> str:
    """The page without the elements of the cut blocks; everything else stays byte for byte.

    Each cut grows to the outermost element that holds the block's text and nothing else (``<p>``, ``<li>``,
    ``<pre>``, a table with its rows, and a ``<div>`` around just that), and to its whole lines when it stood
    on lines of its own. A block that shares its parent with other content takes the elements it spans
    whole (``<em>a</em><em>b</em>`` in a ``<dd>`` that goes on). A block whose tags do not pair up (an end
    tag the parser implied) loses its text and keeps its tags, so the page stays well formed either way.
    Table cells, rows and the page's ``body`` are never removed (a row of cells would shift), only emptied.

    Args:
        page: the page's source.
        cut: ``(start, end)`` source offsets of each cut block's text (``block_sources``), in any order.

    Returns:
        The page without them.
    """
    spans = sorted(span for start, end in cut if end > start for span in _removed_spans(page, start, end))
    parts: list[str] = []
    position = 0
    for start, end in spans:
        start = max(start, position)
        if end > start:
            parts.append(page[position:start])
            position = end
    parts.append(page[position:])
    return "".join(parts)


def _removed_spans(page: str, start: int, end: int) -> list[tuple[int, int]]:
    """What to remove for one block: its element (with its lines when it has them to itself), else its text."""
    opened_inside, closed_inside = _tags_within(page, start, end)
    before, after = _tags_before(page, start), _tags_after(page, end)
    k, m = len(closed_inside), len(opened_inside)
    # Elements the block starts inside and closes, and elements it opens and leaves open, pair up first.
    if [name for name, _ in before[:k]] == closed_inside and [name for name, _ in after[:m]] == opened_inside[::-1]:
        pairs = 0
        while (
            k + pairs < len(before)
            and m + pairs < len(after)
            and before[k + pairs][0] == after[m + pairs][0]
            and before[k + pairs][0] not in _KEPT_ELEMENTS
        ):
            pairs += 1
        if pairs:
            return [_whole_lines(page, before[k + pairs - 1][1], after[m + pairs - 1][1])]
        # No element holds just the block: the elements it spans go, from the first one's start tag to the
        # last one's end tag (a balanced run of siblings), and the text around them in its parent.
        return [_whole_lines(page, before[k - 1][1] if k else start, after[m - 1][1] if m else end)]
    texts = []  # the text between the tags
    position = start
    for tag in _TAG.finditer(page, start, end):
        texts.append((position, tag.start()))
        position = tag.end()
    texts.append((position, end))
    return [(a, b) for a, b in texts if b > a]


def _tags_within(page: str, start: int, end: int) -> tuple[list[str], list[str]]:
    """The elements a span opens and leaves open (outermost first), and those it closes that it did not open."""
    opened: list[str] = []
    closed: list[str] = []
    for tag in _TAG.finditer(page, start, end):
        name = (tag.group(2) or "").lower()
        if not name or name in VOID_TAGS:
            continue
        if not tag.group(1):
            opened.append(name)
        elif name in opened:
            while opened and opened.pop() != name:  # end tags the parser implies close with it
                pass
        else:
            closed.append(name)
    return opened, closed


def _tags_before(page: str, start: int) -> list[tuple[str, int]]:
    """The start tags right before ``start`` (only white space, comments and void elements between them),
    innermost first, with where each begins."""
    found: list[tuple[str, int]] = []
    position = start
    for _ in range(_TAG_STEPS):
        position = len(page[:position].rstrip())
        if position == 0 or page[position - 1] != ">":
            break
        begin = page.rfind("<", 0, position - 1)
        tag = _TAG.fullmatch(page, begin, position) if begin >= 0 else None
        if tag is not None and tag.group(1):  # an element with nothing in it (<a id=x></a>) is passed over
            opening = _empty_element_start(page, begin, (tag.group(2) or "").lower())
            if opening < 0:
                break
            position = opening
            continue
        if tag is None:
            break
        name = (tag.group(2) or "").lower()
        if name and name not in VOID_TAGS:
            found.append((name, begin))
        position = begin
    return found


def _tags_after(page: str, end: int) -> list[tuple[str, int]]:
    """The end tags right after ``end`` (only white space, comments and void elements between them),
    innermost first, with where each ends."""
    found: list[tuple[str, int]] = []
    position = end
    for _ in range(_TAG_STEPS):
        while position < len(page) and page[position].isspace():
            position += 1
        tag = _TAG.match(page, position)
        if tag is None:
            break
        name = (tag.group(2) or "").lower()
        if tag.group(1):
            found.append((name, tag.end()))
        elif name and name not in VOID_TAGS:
            closing = _EMPTY_END.match(page, tag.end())  # an element with nothing in it is passed over
            if closing is None or closing.group(1).lower() != name:
                break
            position = closing.end()
            continue
        position = tag.end()
    return found


def _empty_element_start(page: str, end_tag: int, name: str) -> int:
    """Where the start tag of an element whose end tag begins at ``end_tag`` begins, when only white space
    stands between them; else -1."""
    position = len(page[:end_tag].rstrip())
    begin = page.rfind("<", 0, position)
    tag = _TAG.fullmatch(page, begin, position) if begin >= 0 and position and page[position - 1] == ">" else None
    if tag is None or tag.group(1) or (tag.group(2) or "").lower() != name:
        return -1
    return begin


def _whole_lines(page: str, start: int, end: int) -> tuple[int, int]:
    """The span with the lines it stands on, line end included, when nothing else stands on them."""
    line_start = page.rfind("\n", 0, start) + 1
    line_end = page.find("\n", end)
    line_end = len(page) if line_end < 0 else line_end
    if page[line_start:start].strip() or page[end:line_end].strip():
        return start, end
    return line_start, min(line_end + 1, len(page))


def meta_charset(raw: bytes) -> str | None:
    """The charset a page declares in ``<meta charset>`` or ``<meta http-equiv=content-type>``."""
    # Read as Latin-1: every byte is a character, and ASCII markup reads the same in any web encoding.
    head = LexborHTMLParser(raw[:_PRESCAN_BYTES].decode("latin-1"))
    for meta in head.css("meta"):
        attributes = meta.attributes
        if attributes.get("charset"):
            return attributes["charset"]
        if (attributes.get("http-equiv") or "").lower() == "content-type":
            charset = charset_of(attributes.get("content"))
            if charset:
                return charset
    return None


def read_html(source: Input, options: ReadOptions) -> Iterator[Record]:
    """An HTML file is one document: its text, one paragraph per block-level element."""
    raw = read_whole(source, options, what="page")
    if isinstance(raw, Skip):
        yield raw
        return
    decoded = decode(raw, declared=meta_charset(raw), forced=options.encoding)
    del raw  # not held while the page is parsed
    yield from decoding_warnings(decoded, source.name, None)
    yield from page_document(decoded.text, options, source.doc_id, source.name, None)


def record_page(
    html: str, options: ReadOptions, doc_id: str, name: str, line: int, unit: str, pages: PagesElsewhere | None
) -> Iterator[Record | PageReading]:
    """The document of a page inside a record (a WARC response, a field that holds a page): read elsewhere when
    ``pages`` takes it, else here (``page_document``)."""
    reading = None if pages is None else pages.read_page(html, options, doc_id, name, line, unit)
    if reading is not None:
        yield reading
    else:
        yield from page_document(html, options, doc_id, name, line, unit)


def page_records(
    html: str, options: ReadOptions, doc_id: str, name: str, line: int | None, unit: str = "line"
) -> list[Record]:
    """``page_document``'s records at once: what a process that reads pages for a scan returns."""
    return list(page_document(html, options, doc_id, name, line, unit))


def page_document(
    html: str, options: ReadOptions, doc_id: str, name: str, line: int | None, unit: str = "line"
) -> Iterator[Record]:
    """The document of a decoded page, with a warning when it was nested too deep for the tree builder."""
    page = read_page(html, options.html_drop_nav)
    if page.note:
        yield ReadWarning(name, line, "deeply nested HTML", page.note, unit)
    # A page that is a file of its own is placed by line and column; a page inside a record by the record.
    anchors = page.anchors if line is None else None
    yield from finish_text(page.text, doc_id, name, line, unit, what="page (no visible text)", anchors=anchors)
