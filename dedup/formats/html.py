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

import re
from collections.abc import Iterator
from html.parser import HTMLParser

from selectolax.lexbor import LexborHTMLParser, LexborNode

from dedup.formats.encoding import charset_of, decode
from dedup.formats.records import Input, ReadWarning, Record, Skip, decoding_warnings, finish_text, read_whole
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
_NESTING_TAGS = re.compile(
    r"<(/?)(?:address|article|aside|blockquote|center|details|dialog|dir|div|dl|fieldset|figcaption|figure|footer"
    r"|form|header|hgroup|main|menu|nav|ol|section|summary|ul)[\s/>]",
    re.IGNORECASE,
)


def html_to_text(html: str, drop_layout: bool = False) -> tuple[str, str]:
    """The visible text of a page, one paragraph per block, paragraphs separated by a blank line.

    Args:
        html: the page.
        drop_layout: leave out ``nav``, ``header``, ``footer`` and ``aside`` elements.

    Returns:
        The text, and a note for the user when the page had to be read the slow way (else empty).
    """
    skipped = NEVER_TEXT | LAYOUT_TAGS if drop_layout else NEVER_TEXT
    depth = nesting_depth(html)
    if depth > MAX_TREE_DEPTH:
        note = f"block elements nest {depth} deep (more than {MAX_TREE_DEPTH}): read with a tokenizer"
        return "\n\n".join(_tokenized(html, skipped)), note
    tree = LexborHTMLParser(html)
    root = tree.body or tree.root
    paragraphs = _Collector(skipped).walk(root) if root is not None else []
    del tree, root  # the tree holds the page again: gone before the text is made (a large page costs less)
    return "\n\n".join(paragraphs), ""


def nesting_depth(html: str) -> int:
    """How deep block containers nest, counted from their tags (an estimate: it ignores implied ends)."""
    depth = deepest = 0
    for match in _NESTING_TAGS.finditer(html):
        depth = max(depth - 1, 0) if match.group(1) else depth + 1
        deepest = max(deepest, depth)
    return deepest


class _Collector:
    """Walks a tree without recursion (pages nest deeper than Python's stack) and collects paragraphs."""

    def __init__(self, skipped: frozenset[str]) -> None:
        self.skipped = skipped
        self.paragraphs: list[str] = []
        self.parts: list[str] = []
        self.pre_depth = 0

    def walk(self, root: LexborNode) -> list[str]:
        node = root.child
        while node is not None:
            if self._enter(node):
                node = node.child
                continue
            # Done with this node: go to its next sibling, leaving every finished parent on the way.
            while node is not None and node.next is None:
                node = node.parent
                if node is None or node.mem_id == root.mem_id:
                    node = None
                    break
                self.end_tag(node.tag or "")
            if node is not None:
                node = node.next
        self.flush()
        return self.paragraphs

    def _enter(self, node: LexborNode) -> bool:
        """Take a node; True when its children are to be walked next."""
        tag = node.tag or ""
        if node.is_text_node:
            self.parts.append(node.text_content or "")
            return False
        if not node.is_element_node or tag in self.skipped:
            return False
        self.start_tag(tag)
        if tag == "br":
            return False
        if node.child is not None:
            return True
        self.end_tag(tag)
        return False

    def start_tag(self, tag: str) -> None:
        if tag == "br":
            if self.pre_depth:
                self.parts.append("\n")
            else:
                self.flush()
            return
        if tag in BLOCK_TAGS:
            self.flush()
        if tag in PREFORMATTED:
            self.pre_depth += 1

    def end_tag(self, tag: str) -> None:
        if tag in PREFORMATTED:
            self.flush()
            self.pre_depth -= 1
        elif tag in BLOCK_TAGS:
            self.flush()

    def flush(self) -> None:
        """End the current paragraph."""
        if not self.parts:
            return
        text = "".join(self.parts)
        self.parts.clear()
        paragraph = _preformatted(text) if self.pre_depth else _collapsed(text)
        if paragraph:
            self.paragraphs.append(paragraph)


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

    def __init__(self, collector: _Collector) -> None:
        super().__init__(convert_charrefs=True)
        self.collector = collector
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
            self.collector.parts.append(data)


def _tokenized(html: str, skipped: frozenset[str]) -> list[str]:
    collector = _Collector(skipped)
    parser = _Tokenized(collector)
    parser.feed(html)
    parser.close()
    collector.flush()
    return collector.paragraphs


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


def page_document(
    html: str, options: ReadOptions, doc_id: str, name: str, line: int | None, unit: str = "line"
) -> Iterator[Record]:
    """The document of a decoded page, with a warning when it was nested too deep for the tree builder."""
    text, note = html_to_text(html, options.html_drop_nav)
    if note:
        yield ReadWarning(name, line, "deeply nested HTML", note, unit)
    yield from finish_text(text, doc_id, name, line, unit, what="page (no visible text)")
