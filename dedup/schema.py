"""Column names and schemas of every table the stages exchange and write.

Stages refer to columns through these names only, so a rename happens here once.
"""

from __future__ import annotations

import polars as pl

# Documents as read (sources -> segment).
DOC_KEY = "doc_key"  # the document's number in read order, 0-based: the key blocks and documents are joined by
DOC_ID = "doc_id"
TEXT = "text"
SOURCE = "source"  # the file the document came from
SOURCE_LINE = "source_line"  # 1-based line (JSONL, CSV), item (JSON), row (Parquet) or record (WARC); else 1
# Of a file that is the document (text, Markdown, HTML): (text offset, text line, source line, source column) of
# points of the text, flattened; null for records. ``dedup.locations`` places every block in the file with them.
ANCHORS = "anchors"

# Blocks (segment -> normalize -> fingerprint -> cluster -> report).
BLOCK = "block"  # 0-based index of the block within its document
START = "start"  # character offsets into the document text: text[start:end]
END = "end"
LINE = "line"  # 1-based line of the block's first character in the document
COLUMN = "column"  # 1-based column of the block's first character in its line of the document (segment only)
# Of a block: where its first character stands in the original file, 1-based. For a file that is the document
# (text, Markdown, HTML) its line and column there (in characters); for a record of a file the record's
# line (JSONL, CSV), item (JSON), row (Parquet) or number (WARC), and no column.
SOURCE_COLUMN = "source_column"
N_CHARS = "n_chars"
NORMALIZED = "normalized"
N_WORDS = "n_words"
SHORT = "short"
EXACT_HASH = "exact_hash"
CLUSTER = "cluster"
BLOCK_KEY = "block_key"  # a block's number in read order: its document's blocks follow the earlier documents' blocks

# What the per-batch stage adds to a block (``dedup.stage``): how it takes part in matching.
MATCHABLE = "matchable"  # has any text to match (a block of only punctuation has none)
NEAR_CANDIDATE = "near_candidate"  # takes part in near matching: long enough, the first of its exact key in the batch
SHINGLES = "shingles"  # the XXH32 of every shingle, in text order (near blocks; null for the others)
SIGNATURE = "signature"  # the MinHash signature, datasketch's hashvalues (near blocks)
BAND_KEYS = "band_keys"  # one 64-bit key per LSH band (near blocks)

# Pairs.
DOC_A, BLOCK_A, DOC_B, BLOCK_B = "doc_a", "block_a", "doc_b", "block_b"
KIND = "kind"  # "exact" | "near"
JACCARD = "jaccard"
CONTAINMENT = "containment"

# Clusters.
SCOPE = "scope"  # "within-doc" | "cross-doc"
N_BLOCKS = "n_blocks"
N_DOCS = "n_docs"

# Documents.
DUP_CHARS = "dup_chars"
DUP_FRACTION = "dup_fraction"
CONTAINED_IN = "contained_in"

# Removed (the audit table of ``dedup clean``): one row per cut, enough to undo it.
CUT_START = "cut_start"  # the span actually cut: the block and the white space of its seam
CUT_END = "cut_end"
REMOVED = "removed"  # text[cut_start:cut_end] of the original document
KEPT_DOC_ID = "kept_doc_id"  # the occurrence kept instead (the container, for a dropped document)
KEPT_BLOCK = "kept_block"
KEPT_LINE = "kept_line"

EXACT, NEAR = "exact", "near"
DOCUMENT = "document"  # kind of a removal that drops a whole document
WITHIN_DOC, CROSS_DOC = "within-doc", "cross-doc"

# The documents table a batch stage takes (what the readers produce, numbered in read order).
BATCH_DOCUMENTS_SCHEMA = pl.Schema(
    {  # type: ignore[arg-type]  # mypy cannot join the list type with the others
        DOC_KEY: pl.Int64,
        DOC_ID: pl.String,
        TEXT: pl.String,
        SOURCE: pl.String,
        SOURCE_LINE: pl.Int64,
        ANCHORS: pl.List(pl.Int64),
    }
)

# The blocks table the per-batch stage returns (``dedup.stage.fingerprint_batch``): keyed by (doc_key, block).
BATCH_BLOCKS_SCHEMA = pl.Schema(
    {  # type: ignore[arg-type]  # mypy cannot join the list types with the others
        DOC_KEY: pl.Int64,
        BLOCK: pl.Int32,
        START: pl.Int64,
        END: pl.Int64,
        LINE: pl.Int32,
        SOURCE_LINE: pl.Int64,
        SOURCE_COLUMN: pl.Int32,
        TEXT: pl.String,
        EXACT_HASH: pl.UInt64,
        MATCHABLE: pl.Boolean,
        SHORT: pl.Boolean,
        NEAR_CANDIDATE: pl.Boolean,
        SHINGLES: pl.List(pl.UInt32),
        SIGNATURE: pl.List(pl.UInt32),
        BAND_KEYS: pl.List(pl.UInt64),
    }
)

BLOCKS_SCHEMA = pl.Schema(
    {
        DOC_ID: pl.String,
        BLOCK: pl.Int32,
        START: pl.Int64,
        END: pl.Int64,
        LINE: pl.Int32,
        SOURCE_LINE: pl.Int64,
        SOURCE_COLUMN: pl.Int32,
        TEXT: pl.String,
        CLUSTER: pl.Int64,
        SHORT: pl.Boolean,
        EXACT_HASH: pl.UInt64,
    }
)

PAIRS_SCHEMA = pl.Schema(
    {
        DOC_A: pl.String,
        BLOCK_A: pl.Int32,
        DOC_B: pl.String,
        BLOCK_B: pl.Int32,
        KIND: pl.String,
        JACCARD: pl.Float64,
        CONTAINMENT: pl.Float64,
        CLUSTER: pl.Int64,
        "line_a": pl.Int32,
        "line_b": pl.Int32,
    }
)

CLUSTERS_SCHEMA = pl.Schema(
    {
        CLUSTER: pl.Int64,
        KIND: pl.String,
        SCOPE: pl.String,
        N_BLOCKS: pl.Int64,
        N_DOCS: pl.Int64,
        SHORT: pl.Boolean,
        N_CHARS: pl.Int64,
        DOC_ID: pl.String,
        BLOCK: pl.Int32,
        LINE: pl.Int32,
        TEXT: pl.String,
    }
)

DOCUMENTS_SCHEMA = pl.Schema(
    {
        DOC_ID: pl.String,
        SOURCE: pl.String,
        SOURCE_LINE: pl.Int64,
        N_BLOCKS: pl.Int64,
        N_CHARS: pl.Int64,
        DUP_CHARS: pl.Int64,
        DUP_FRACTION: pl.Float64,
        CONTAINED_IN: pl.String,
        CONTAINMENT: pl.Float64,
    }
)

# Matches against an index (``dedup scan --index``): each block of the new data that repeats indexed text,
# with the earlier copy it matched (an exact copy of it, or the representative of the cluster it joins).
INDEX_PREFIX = "index_"
MATCHES_SCHEMA = pl.Schema(
    {
        DOC_ID: pl.String,
        BLOCK: pl.Int32,
        LINE: pl.Int32,
        KIND: pl.String,
        JACCARD: pl.Float64,
        CONTAINMENT: pl.Float64,
        "index_doc_id": pl.String,
        "index_block": pl.Int32,
        "index_start": pl.Int64,
        "index_end": pl.Int64,
        "index_line": pl.Int32,
        "index_add": pl.String,
        "index_added_at": pl.String,
        "index_text": pl.Int64,
        "index_cluster": pl.Int64,
    }
)

REMOVED_SCHEMA = pl.Schema(
    {
        DOC_ID: pl.String,
        SOURCE: pl.String,
        SOURCE_LINE: pl.Int64,
        BLOCK: pl.Int32,
        START: pl.Int64,
        END: pl.Int64,
        LINE: pl.Int32,
        CUT_START: pl.Int64,
        CUT_END: pl.Int64,
        REMOVED: pl.String,
        CLUSTER: pl.Int64,
        KIND: pl.String,
        SHORT: pl.Boolean,
        KEPT_DOC_ID: pl.String,
        KEPT_BLOCK: pl.Int32,
        KEPT_LINE: pl.Int32,
        CONTAINMENT: pl.Float64,
    }
)
