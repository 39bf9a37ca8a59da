"""What a generated corpus copies where: the records, and the clusters and shares they add up to."""

from __future__ import annotations

import json
from array import array
from dataclasses import dataclass
from typing import Any

import numpy as np


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


def doc_id(number: int) -> str:
    return f"doc-{number:07d}"


def jsonl_line(number: int, text: str) -> str:
    return json.dumps({"id": doc_id(number), "text": text}, ensure_ascii=False) + "\n"


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
