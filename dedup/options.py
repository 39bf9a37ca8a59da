"""Options of every stage, as small frozen dataclasses validated on creation.

Each stage takes only its own options, so a stage can be mapped over batches by
another engine with nothing but its options object.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

from dedup.errors import OptionsError
from dedup.formats.encoding import codec_name

ListMode = Literal["run", "item"]
SplitMode = Literal["auto", "line", "paragraph"]
ShingleKind = Literal["word", "char"]
Scheme = Literal["affine32", "legacy"]
HashFunc = Literal["xxh32"]
Keep = Literal["first", "longest", "last", "none"]
KeepOrder = Literal["max", "min", "priority"]
FailOn = Literal["exact", "near", "any"]


MIN_MEMORY_BUDGET = 256 * 2**20
MAX_MIN_SHINGLES = 2**31 - 1  # with a threshold and containment of 1, near matching has nothing to add


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise OptionsError(message)


MiB = 1 << 20
_SIZE_UNITS = {
    "": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
    "t": 1000**4, "tb": 1000**4, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}  # fmt: skip
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*", re.IGNORECASE)


def parse_size(text: str | int) -> int:
    """A number of bytes from a size as people write it: ``512MB`` (powers of 1000), ``256MiB`` (of 1024), ``1000``.

    Raises:
        OptionsError: not a size.
    """
    match = _SIZE.fullmatch(str(text))
    if match is None or match.group(2).lower() not in _SIZE_UNITS:
        raise OptionsError(f"not a size: {text!r}; write a number of bytes with a unit if any, such as 512MB or 1GiB")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How documents are read.

    Attributes:
        id_field: field (JSONL, JSON) or column (CSV, Parquet) of the document id;
            a dotted path reaches into nested objects and structs (``meta.url``).
        text_field: field or column of the document text, likewise.
        encoding: read every text in this encoding (a byte order mark still wins);
            None detects it: declared charsets, then UTF-8, then charset-normalizer.
        html_drop_nav: leave ``nav``, ``header``, ``footer`` and ``aside`` out of HTML
            pages (off by default: that boilerplate is often what one looks for).
        max_document_bytes: the most bytes one document may take as read (a file read whole,
            a JSON line, a CSV row, a WARC body, decompressed); a larger one is skipped as
            ``document too large`` before it is read whole, so that no input can exhaust memory.
        keep_field: a field or column whose value each document read carries (``Document.keep_value``):
            what ``CleanOptions.keep_by`` ranks documents by. None reads no other field.
    """

    id_field: str = "id"
    text_field: str = "text"
    encoding: str | None = None
    html_drop_nav: bool = False
    max_document_bytes: int = 256 * MiB
    keep_field: str | None = None

    def __post_init__(self) -> None:
        _require(bool(self.id_field), "id_field must not be empty")
        _require(bool(self.text_field), "text_field must not be empty")
        _require(
            type(self.max_document_bytes) is int and self.max_document_bytes >= 1,  # not a bool, not a float
            f"max_document_bytes must be a number of bytes >= 1, got {self.max_document_bytes!r}",
        )
        if self.encoding is not None:
            _require(
                codec_name(self.encoding) is not None,
                f"unknown encoding {self.encoding!r}; use a Python codec name such as utf-8, cp1252 or shift_jis",
            )


@dataclass(frozen=True, slots=True)
class SegmentOptions:
    """How documents are split into blocks.

    Attributes:
        split: ``auto`` makes every line a block, except that the lines of a
            hard-wrapped document are joined into paragraphs; ``line`` never
            joins; ``paragraph`` splits only at blank lines.
        lists: ``run`` makes a run of list items (with the short headings
            between them) one block; ``item`` makes every item its own block.
        heading_max_chars: a line this short that is directly followed by a
            list item counts as the heading of that item in a list run.
    """

    split: SplitMode = "auto"
    lists: ListMode = "run"
    heading_max_chars: int = 60

    def __post_init__(self) -> None:
        _require(
            self.split in ("auto", "line", "paragraph"), f"split must be auto, line or paragraph, got {self.split!r}"
        )
        _require(self.lists in ("run", "item"), f"lists must be run or item, got {self.lists!r}")
        _require(self.heading_max_chars >= 0, f"heading_max_chars must be >= 0, got {self.heading_max_chars}")


@dataclass(frozen=True, slots=True)
class ShingleOptions:
    """How a normalized block becomes a set of shingles.

    Attributes:
        kind: ``word`` n-grams, or ``char`` n-grams for every block (code and tables are always
            shingled by characters: ``dedup.normalize.verbatim``).
        n: words per word shingle.
        char_n: characters per character shingle.
        spaceless_share: a block in which at least this share of characters
            belong to scripts written without spaces (Han, Hiragana, Katakana,
            Thai, Lao, Khmer, Myanmar) is shingled by characters even when
            ``kind`` is ``word``, and its length is counted in characters.
    """

    kind: ShingleKind = "word"
    n: int = 3
    char_n: int = 5
    spaceless_share: float = 0.3

    def __post_init__(self) -> None:
        _require(self.kind in ("word", "char"), f"shingle kind must be word or char, got {self.kind!r}")
        _require(self.n >= 1, f"n must be >= 1, got {self.n}")
        _require(self.char_n >= 1, f"char_n must be >= 1, got {self.char_n}")
        _require(0.0 < self.spaceless_share <= 1.0, f"spaceless_share must be in (0, 1], got {self.spaceless_share}")


@dataclass(frozen=True, slots=True)
class MinHashOptions:
    """MinHash parameters, the same meaning as datasketch's ``MinHash``.

    Attributes:
        num_perm: number of permutations.
        seed: seed of the permutations (``numpy.random.RandomState(seed)``).
        scheme: datasketch's permutation scheme, ``affine32`` (its default since 2.0) or ``legacy`` (1.x).
        hashfunc: hash of a shingle's UTF-8 bytes; ``xxh32`` is ``xxhash.xxh32_intdigest``
            (seed 0), the function to pass to datasketch's ``MinHash(hashfunc=...)``.
    """

    num_perm: int = 128
    seed: int = 1
    scheme: Scheme = "affine32"
    hashfunc: HashFunc = "xxh32"

    def __post_init__(self) -> None:
        _require(2 <= self.num_perm <= 4096, f"num_perm must be in [2, 4096], got {self.num_perm}")
        _require(0 <= self.seed < 2**32, f"seed must be in [0, 2**32), got {self.seed}")
        _require(self.scheme in ("affine32", "legacy"), f"scheme must be affine32 or legacy, got {self.scheme!r}")
        _require(self.hashfunc == "xxh32", f"hashfunc must be xxh32, got {self.hashfunc!r}")


@dataclass(frozen=True, slots=True)
class LSHOptions:
    """Which pairs become candidates and which candidates are kept.

    Attributes:
        threshold: Jaccard similarity at or above which a pair is a near repeat.
        containment: containment |A∩B| / min(|A|, |B|) at or above which a
            candidate pair is a near repeat even below ``threshold`` (an
            extended copy of a paragraph).
        bands, rows: the banding; chosen from ``threshold`` when not given.
        false_negative_weight: weight of missed pairs against false candidates
            when choosing the banding. High by default: verification removes
            false candidates, nothing brings back a missed pair.
        max_bucket_pairs: a bucket of more items than this yields a chain
            instead of all its pairs (see ``candidates.bucket_pairs``).
    """

    threshold: float = 0.5
    containment: float = 0.8
    bands: int | None = None
    rows: int | None = None
    false_negative_weight: float = 0.95
    max_bucket_pairs: int = 64

    def __post_init__(self) -> None:
        _require(
            0.0 < self.threshold <= 1.0,
            f"threshold must be in (0, 1], got {self.threshold}; did you pass a percentage?",
        )
        _require(
            0.0 < self.containment <= 1.0,
            f"containment must be in (0, 1], got {self.containment}; did you pass a percentage?",
        )
        _require((self.bands is None) == (self.rows is None), "give bands and rows together, or neither")
        if self.bands is not None and self.rows is not None:
            _require(self.bands >= 1 and self.rows >= 1, "bands and rows must be >= 1")
        _require(0.0 < self.false_negative_weight < 1.0, "false_negative_weight must be in (0, 1)")
        _require(self.max_bucket_pairs >= 2, "max_bucket_pairs must be >= 2")


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """Everything ``dedup.scan`` needs; every part has working defaults.

    Attributes:
        min_shingles: blocks with fewer distinct content shingles are *short*: they
            are matched only exactly (a repeated heading still shows up, as a short
            exact cluster), never as near repeats. ``None`` (the default) computes it
            from the other options (see ``near_min_shingles``).
        batch_chars: characters of text per batch; memory for text is bounded
            by this.
        memory_budget: bytes the corpus-wide steps may hold at once beyond the state
            kept per distinct text and per document: it sizes the partitions of
            candidate pairs (an eighth each, two in flight per core at most).
    """

    read: ReadOptions = field(default_factory=ReadOptions)
    segment: SegmentOptions = field(default_factory=SegmentOptions)
    shingle: ShingleOptions = field(default_factory=ShingleOptions)
    minhash: MinHashOptions = field(default_factory=MinHashOptions)
    lsh: LSHOptions = field(default_factory=LSHOptions)
    min_shingles: int | None = None
    batch_chars: int = 8_000_000
    memory_budget: int = 2 * 2**30

    def near_min_shingles(self, by_char: bool) -> int:
        """The fewest distinct content shingles a block needs to take part in near matching.

        Computed so that one changed word (or character, for character shingles) anywhere in a block
        still leaves it a near repeat of itself: a change touches up to ``n`` of its ``k`` shingles, which
        leaves Jaccard (k - n) / (k + n) and containment (k - n) / k, so ``k`` must reach the smaller
        of n (1 + threshold) / (1 - threshold) and n / (1 - containment). A block with fewer shingles
        cannot take even one edit: near matching would only find it inside longer blocks by chance.
        With the defaults (word 3-grams, 0.5, 0.8) that is 9 shingles, 11 words.
        """
        if self.min_shingles is not None:
            return self.min_shingles
        n = self.shingle.char_n if by_char else self.shingle.n
        threshold, containment = self.lsh.threshold, self.lsh.containment
        by_jaccard = n * (1 + threshold) / (1 - threshold) if threshold < 1 else math.inf
        by_containment = n / (1 - containment) if containment < 1 else math.inf
        least = min(by_jaccard, by_containment)
        return MAX_MIN_SHINGLES if math.isinf(least) else min(math.ceil(round(least, 9)), MAX_MIN_SHINGLES)

    @property
    def partition_bytes(self) -> int:
        """The spilled candidate pairs read back at once, a partition."""
        return self.memory_budget // 8

    def __post_init__(self) -> None:
        if self.min_shingles is not None:
            _require(self.min_shingles >= 1, f"min_shingles must be >= 1, got {self.min_shingles}")
        _require(self.batch_chars >= 1, f"batch_chars must be >= 1, got {self.batch_chars}")
        _require(
            self.memory_budget >= MIN_MEMORY_BUDGET,
            f"memory_budget must be at least {MIN_MEMORY_BUDGET // 2**20} MiB, got {self.memory_budget:,} bytes",
        )
        if self.lsh.bands is not None and self.lsh.rows is not None:
            _require(
                self.lsh.bands * self.lsh.rows <= self.minhash.num_perm,
                f"bands × rows = {self.lsh.bands * self.lsh.rows} exceeds num_perm = {self.minhash.num_perm}",
            )


@dataclass(frozen=True, slots=True)
class KeepBy:
    """Keep the occurrence whose document ranks highest by a record field (JSONL, JSON, CSV, Parquet).

    Attributes:
        field: the field or column (a dotted path reaches into nested objects).
        order: ``max`` (the largest value: the latest ``crawl_date``, the best ``quality``), ``min``, or
            ``priority`` (the first value of ``priority`` wins).
        priority: the values in order of preference, for ``order="priority"``.

    Numbers compare as numbers when every value found is one, anything else as text (ISO dates order
    right as text). A document without the field, or with a value not in ``priority``, ranks last; ties
    keep the first in read order.
    """

    field: str
    order: KeepOrder = "max"
    priority: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require(bool(self.field), "keep_by needs a field name")
        _require(
            self.order in ("max", "min", "priority"), f"keep_by order must be max, min or priority, got {self.order!r}"
        )
        _require(
            (self.order == "priority") == bool(self.priority),
            "keep_by priority needs the values in order (FIELD:priority=a,b,c), and only priority takes values",
        )

    @classmethod
    def parse(cls, spec: str) -> KeepBy:
        """``FIELD:max``, ``FIELD:min`` or ``FIELD:priority=a,b,c`` (the command line's ``--keep-by``)."""
        field_name, colon, rule = spec.rpartition(":")
        if not colon or not field_name:
            raise OptionsError(f"--keep-by {spec!r}: write FIELD:max, FIELD:min or FIELD:priority=a,b,c")
        order, equals, values = rule.partition("=")
        priority = tuple(value.strip() for value in values.split(",") if value.strip()) if equals else ()
        return cls(field_name, order.strip(), priority)  # type: ignore[arg-type]  # checked in __post_init__


@dataclass(frozen=True, slots=True)
class CleanOptions:
    """What ``dedup.clean`` removes and which occurrence it keeps (see ``dedup.keep``).

    Attributes:
        scan: how duplicates are found (the same options as ``dedup.scan``).
        keep: which occurrence of each cluster stays: ``first`` in read order,
            ``longest`` (ties: the first), ``last``, or ``none`` (every occurrence
            is cut: what a decontamination wants).
        drop_docs_over: drop a whole document whose containment in a kept
            document is at least this; ``None`` drops no document.
        boilerplate_docs: a cluster whose blocks stand in at least this many
            documents is boilerplate (a site's footer, menu, cookie banner).
        drop_boilerplate: cut every occurrence of boilerplate, not all but one.
        cut_short: cut repeated short lines (headings, labels, a ``}``) that are not
            boilerplate too; by default they stay, as a line used twice in a few
            documents is no duplicate content.
        keep_by: keep the occurrence of the document that ranks highest by a record field
            (instead of ``keep``); see ``KeepBy``.
    """

    scan: ScanOptions = field(default_factory=ScanOptions)
    keep: Keep = "first"
    drop_docs_over: float | None = None
    boilerplate_docs: int = 10
    drop_boilerplate: bool = False
    cut_short: bool = False
    keep_by: KeepBy | None = None

    def __post_init__(self) -> None:
        _require(
            self.keep in ("first", "longest", "last", "none"),
            f"keep must be first, longest, last or none, got {self.keep!r}",
        )
        _require(
            self.keep_by is None or self.keep == "first",
            f"keep_by chooses the occurrence that stays; it does not go with keep={self.keep!r}",
        )
        _require(self.boilerplate_docs >= 2, f"boilerplate_docs must be >= 2, got {self.boilerplate_docs}")
        if self.drop_docs_over is not None:
            _require(
                0.0 < self.drop_docs_over <= 1.0,
                f"drop_docs_over must be in (0, 1], got {self.drop_docs_over}; did you pass a percentage?",
            )


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """The limits of ``dedup.check``.

    With neither ``max_dup_fraction`` nor ``max_clusters`` given, any counted
    cluster fails the check (as if ``max_clusters`` were 0).

    Attributes:
        scan: how duplicates are found (the same options as ``dedup.scan``).
        max_dup_fraction: largest share of characters that may be duplicated.
        max_clusters: largest number of duplicate clusters.
        fail_on: which clusters count: ``exact``, ``near`` or ``any``.
        include_short: count short clusters (repeated headings and labels) too.
    """

    scan: ScanOptions = field(default_factory=ScanOptions)
    max_dup_fraction: float | None = None
    max_clusters: int | None = None
    fail_on: FailOn = "any"
    include_short: bool = False

    def __post_init__(self) -> None:
        _require(self.fail_on in ("exact", "near", "any"), f"fail_on must be exact, near or any, got {self.fail_on!r}")
        if self.max_dup_fraction is not None:
            _require(
                0.0 <= self.max_dup_fraction <= 1.0,
                f"max_dup_fraction must be in [0, 1], got {self.max_dup_fraction}; did you pass a percentage?",
            )
        if self.max_clusters is not None:
            _require(self.max_clusters >= 0, f"max_clusters must be >= 0, got {self.max_clusters}")

    @property
    def cluster_limit(self) -> int | None:
        """The cluster limit in force: 0 when no limit at all was given."""
        if self.max_clusters is None and self.max_dup_fraction is None:
            return 0
        return self.max_clusters
