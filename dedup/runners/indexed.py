"""A local scan against an index: new data clustered as if it had been scanned after everything indexed.

In a scan of A then B, A's texts come first: A's clusters are what A alone makes of them, and a text of
B joins the first (in read order) A text that is a centre, or a near text of A that took no side, with
which it is a verified near pair; a text of B that A holds word for word *is* that A text. The index
keeps exactly what that needs of A (``dedup.index``), so a scan of B against it finds, for every block of
B, the cluster of A that a scan of A and B would put it in, and reads of A only what B's keys reach:

1. exact: B's distinct texts looked up by exact key;
2. near: B's near texts looked up in the index's LSH buckets, with the bucket rule of a scan
   (``candidates.band_pairs``: every pair of a bucket of up to ``max_bucket_pairs`` texts, else a star to
   its first text and a chain), applied to the bucket the A and B texts would share;
3. verified on the real shingle sets (the index keeps them for the texts that can still take others);
4. B's verified pairs and these, in one run of the centre rule (``cluster.CentreAssignment``) over the
   index's texts first, then B's.

What a B block matches is written as ``matches.parquet``; with an update, B becomes the index's next add.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from dedup import cluster, index
from dedup import schema as S
from dedup._arrow import distinct_sorted, in_sorted, list_series
from dedup.cluster import CentreAssignment, ClusterNumbers
from dedup.fingerprint import ShingleSets
from dedup.index import BAND, KEY, MEMBER, TEXT, Index
from dedup.options import ScanOptions
from dedup.runners.corpus import DistinctTexts
from dedup.spill import ArrayStore, BandStore, PartStore, SetStore

NODE = "node"  # a near text of the new data, by its near number


@dataclass(frozen=True, slots=True)
class Matched:
    """What the new data's distinct texts match in the index, and the new data's own clusters.

    Attributes:
        text: the index text each distinct text matched (-1: none): itself word for word, or the
            centre of the index cluster it joined.
        exact: whether that match is word for word.
        jaccard, containment: of the match (1 for an exact one).
        cluster: the index cluster (its representative's text number) each distinct text joins, -1: none.
        centres: the new data's own near clusters (texts that joined the index's are left out).
        numbers: the new data's clusters: its own, and the blocks that join one index cluster together.
        components_split: of the verified pairs of new and index texts.
    """

    text: np.ndarray
    exact: np.ndarray
    jaccard: np.ndarray
    containment: np.ndarray
    cluster: np.ndarray
    centres: CentreAssignment
    numbers: ClusterNumbers
    components_split: int


class IndexMatcher:
    """Matches a scan's distinct texts against an index (see the module docstring)."""

    def __init__(
        self,
        idx: Index,
        options: ScanOptions,
        distinct: DistinctTexts,
        sets: SetStore,
        bands: BandStore,
    ) -> None:
        self.index, self.options, self.distinct = idx, options, distinct
        self.sets, self.bands = sets, bands

    def match(self, edges: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> Matched:
        """Cluster the new data with the index.

        Args:
            edges: the new data's verified near pairs (left, right, jaccard, containment), in near numbers.
        """
        distinct, count = self.distinct, self.distinct.count.values
        near_distinct = distinct.near_distinct.values
        found = self.index.exact(distinct.exact_hash.values)
        positions = pl.DataFrame({S.EXACT_HASH: distinct.exact_hash.values}).with_row_index("d")
        found = positions.join(found, on=S.EXACT_HASH, how="inner").sort("d")
        rows = found["d"].to_numpy().astype(np.int64)
        same = np.full(count.size, -1, dtype=np.int64)  # the index text each distinct text is, word for word
        same[rows] = found[TEXT].to_numpy()
        same_cluster = np.full(count.size, -1, dtype=np.int64)
        same_cluster[rows] = found[S.CLUSTER].to_numpy()
        held = np.zeros(count.size, dtype=bool)  # the index text is a member: it takes nothing
        held[rows] = found[MEMBER].to_numpy()

        nodes = near_distinct.size
        node_same = same[near_distinct]
        pairs = self._index_pairs(np.flatnonzero(node_same < 0))
        verified = self._verified(pairs)
        combined, involved = self._combined(edges, verified, node_same, held[near_distinct])
        k = involved.size
        # A near text that is an index text is that node: where it stands among the index's.
        own = np.where(node_same >= 0, np.searchsorted(involved, node_same), k + np.arange(nodes))
        centre = combined.centre[own]

        text = same.copy()
        exact = same >= 0
        jaccard = np.where(exact, 1.0, 0.0)
        containment = np.where(exact, 1.0, 0.0)
        cluster_of = np.where(exact, np.where(same_cluster >= 0, same_cluster, same), -1)
        joined = (centre >= 0) & (centre < k) & (node_same < 0)  # a new text taken by an index text
        joined_nodes = np.flatnonzero(joined)
        centre_text = involved[np.minimum(centre[joined_nodes], max(k - 1, 0))]
        d = near_distinct[joined_nodes]
        text[d] = centre_text
        jaccard[d] = combined.jaccard[own[joined_nodes]]
        containment[d] = combined.containment[own[joined_nodes]]
        cluster_of[d] = centre_text  # a text that takes others is its cluster's representative
        # An index text that took new texts became a centre: its copies in the new data join its cluster.
        took = distinct_sorted(centre_text)
        matched_took = in_sorted(same, took) & (same_cluster < 0)
        cluster_of[matched_took] = same[matched_took]

        own_centres = combined.within(k, nodes)
        key = _keys(count, near_distinct, own_centres, cluster_of)
        return Matched(
            text=text,
            exact=exact,
            jaccard=jaccard,
            containment=containment,
            cluster=cluster_of,
            centres=own_centres,
            numbers=cluster.numbered(key),
            components_split=combined.components_split(),  # own_centres keeps no components (``within``)
        )

    # ------------------------------------------------------------ candidates

    def _index_pairs(self, nodes: np.ndarray) -> pl.DataFrame:
        """Candidate pairs (index text, new near text) of these near numbers, by the bucket rule of a scan."""
        bands = self.bands.bands
        slots = self.distinct.near_slot.values[nodes]
        keys = pl.concat(
            [
                pl.DataFrame(
                    {BAND: np.full(nodes.size, band, np.int16), KEY: self.bands.band(band, slots), NODE: nodes},
                    schema={BAND: pl.Int16, KEY: pl.UInt64, NODE: pl.Int64},
                )
                for band in range(bands)
            ]
        )
        postings = self.index.postings(keys)
        if postings.is_empty():
            return pl.DataFrame(schema={TEXT: pl.Int64, NODE: pl.Int64})
        sizes = (
            postings.group_by(BAND, KEY)
            .agg(pl.len().alias("old"), pl.col(TEXT).min().alias("first"), pl.col(TEXT).max().alias("last"))
            .join(
                keys.group_by(BAND, KEY).agg(pl.len().alias("new"), pl.col(NODE).min().alias("first_new")),
                on=[BAND, KEY],
            )
            .with_columns((pl.col("old") + pl.col("new") <= self.options.lsh.max_bucket_pairs).alias("small"))
        )
        takers = postings.filter(~pl.col(MEMBER)).select(BAND, KEY, TEXT)
        small = takers.join(sizes.filter("small").select(BAND, KEY), on=[BAND, KEY]).join(keys, on=[BAND, KEY])
        # A large bucket is a chain through its texts in read order plus a star to its first: a new text is
        # paired with the bucket's first text, and the first new text with the last index text.
        large = sizes.filter(~pl.col("small"))
        star = large.select(BAND, KEY, pl.col("first").alias(TEXT)).join(keys, on=[BAND, KEY])
        chain = large.select(BAND, KEY, pl.col("last").alias(TEXT), pl.col("first_new").alias(NODE))
        reaching = pl.concat([small, star, chain.select(BAND, KEY, TEXT, NODE)]).join(
            takers, on=[BAND, KEY, TEXT], how="semi"
        )
        # A text whose every document was removed is matched no more, as by the exact lookup.
        return self.index.standing(reaching.select(TEXT, NODE).unique()).sort(TEXT, NODE)

    def _verified(self, pairs: pl.DataFrame) -> pl.DataFrame:
        """The candidate pairs that are near repeats, with their similarities, verified on the real sets."""
        if pairs.is_empty():
            return pl.DataFrame(
                schema={TEXT: pl.Int64, NODE: pl.Int64, S.JACCARD: pl.Float64, S.CONTAINMENT: pl.Float64}
            )
        texts = distinct_sorted(pairs[TEXT].to_numpy())
        nodes = distinct_sorted(pairs[NODE].to_numpy())
        old = self.index.shingles(texts)
        new = self.sets.take(self.distinct.near_slot.values[nodes])
        joined = ShingleSets(
            np.concatenate((old.values, new.values)),
            np.concatenate((old.offsets, old.offsets[-1] + new.offsets[1:])),
            distinct=True,
        )
        left = np.searchsorted(texts, pairs[TEXT].to_numpy())
        right = texts.size + np.searchsorted(nodes, pairs[NODE].to_numpy())
        jaccard, containment = cluster.similarities(joined, left, right)
        keep = cluster.accepted(jaccard, containment, self.options.lsh)
        return pairs.filter(pl.Series(keep)).with_columns(
            pl.Series(S.JACCARD, jaccard[keep]), pl.Series(S.CONTAINMENT, containment[keep])
        )

    # ------------------------------------------------------------- clusters

    def _combined(
        self,
        edges: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        verified: pl.DataFrame,
        node_same: np.ndarray,
        node_held: np.ndarray,
    ) -> tuple[CentreAssignment, np.ndarray]:
        """The centre rule over the index texts involved (first, in index order) and the new near texts.

        Returns:
            The assignment, and the index texts involved, sorted: node ``i < k`` is ``involved[i]``,
            node ``k + m`` the new near text ``m`` (one that is an index text is that text's node).
        """
        left, right, jaccard, containment = edges
        involved = distinct_sorted(np.concatenate((verified[TEXT].to_numpy(), node_same[node_same >= 0])))
        k = involved.size
        own = np.where(node_same >= 0, np.searchsorted(involved, node_same), k + np.arange(node_same.size))
        a = np.concatenate((np.searchsorted(involved, verified[TEXT].to_numpy()), own[left]))
        b = np.concatenate((k + verified[NODE].to_numpy(), own[right]))
        j = np.concatenate((verified[S.JACCARD].to_numpy(), jaccard))
        c = np.concatenate((verified[S.CONTAINMENT].to_numpy(), containment))
        low, high = np.minimum(a, b), np.maximum(a, b)
        fresh = high >= k  # a pair of two index texts was settled when they were added
        low, high, j, c = low[fresh], high[fresh], j[fresh], c[fresh]
        order = np.lexsort((high, low))
        low, high, j, c = low[order], high[order], j[order], c[order]
        first = np.ones(low.size, dtype=bool)
        first[1:] = (low[1:] != low[:-1]) | (high[1:] != high[:-1])
        combined = CentreAssignment(k + node_same.size)
        held = np.searchsorted(involved, node_same[(node_same >= 0) & node_held])
        combined.hold(distinct_sorted(held))
        combined.add(low[first], high[first], j[first], c[first])
        return combined, involved


def _keys(count: np.ndarray, near_distinct: np.ndarray, centres: CentreAssignment, joined: np.ndarray) -> np.ndarray:
    """Each distinct text's cluster key in the new data: its own clusters, and the texts that join one index
    cluster together (keyed by the first of them) when they stand in two blocks or more."""
    key = cluster.cluster_keys(count, near_distinct, centres)
    rows = np.flatnonzero(joined >= 0)
    if rows.size:
        frame = pl.DataFrame({"d": rows, "group": joined[rows], "n": count[rows]})
        groups = frame.group_by("group").agg(pl.col("d").min().alias("first"), pl.col("n").sum().alias("blocks"))
        frame = frame.join(groups, on="group")
        key[rows] = np.where(frame.sort("d")["blocks"].to_numpy() >= 2, frame.sort("d")["first"].to_numpy(), -1)
    return key


@dataclass(frozen=True, slots=True)
class NewTexts:
    """How the new data's distinct texts enter the index."""

    number: np.ndarray  # each distinct text's index number (an old text's, or a new one)
    new: np.ndarray  # which distinct texts the index does not hold yet
    member: np.ndarray
    cluster: np.ndarray  # the index cluster of each distinct text, -1: none


def new_texts(idx: Index, distinct: DistinctTexts, matched: Matched) -> NewTexts:
    """Number the new data's texts in the index and give each its cluster, as the index records them."""
    count = distinct.count.values
    new = ~matched.exact
    number = matched.text.copy()
    number[new] = idx.next_text + np.arange(np.count_nonzero(new))
    cluster_of = matched.cluster.copy()
    near_distinct = distinct.near_distinct.values
    centre = matched.centres.centre
    own = np.flatnonzero((centre >= 0) & new[near_distinct])
    cluster_of[near_distinct[own]] = number[near_distinct[centre[own]]]
    alone = new & (cluster_of < 0) & (count >= 2)
    cluster_of[alone] = number[alone]
    member = np.zeros(count.size, dtype=bool)
    member[near_distinct[matched.centres.members]] = True
    member[new & (matched.text >= 0)] = True  # taken by an index text
    return NewTexts(number=number, new=new, member=member, cluster=cluster_of)


def write_segment(
    folder: Path,
    idx: Index,
    distinct: DistinctTexts,
    texts: NewTexts,
    spilled: tuple[PartStore, ArrayStore, SetStore, BandStore],
    documents: pl.DataFrame,
) -> tuple[int, int]:
    """Write the new data's segment of the index into ``folder``; its documents and blocks."""
    parts, distinct_store, sets, bands = spilled
    near_distinct = distinct.near_distinct.values
    is_near = np.zeros(texts.new.size, dtype=bool)
    is_near[near_distinct] = True
    rows = np.flatnonzero(texts.new)
    taking = texts.new & is_near & ~texts.member
    takers = np.flatnonzero(taking)
    node_of = np.full(texts.new.size, -1, dtype=np.int64)
    node_of[near_distinct] = np.arange(near_distinct.size)
    shingles = (
        sets.take(distinct.near_slot.values[node_of[takers]])
        if takers.size
        else ShingleSets(np.zeros(0, np.uint32), np.zeros(1, np.int64))
    )
    has_shingles = taking[rows]
    pl.DataFrame(
        {
            TEXT: texts.number[rows],
            S.EXACT_HASH: distinct.exact_hash.values[rows],
            S.NEAR: is_near[rows],
            MEMBER: texts.member[rows],
            S.CLUSTER: texts.cluster[rows],
        },
        schema={k: v for k, v in index.TEXTS_SCHEMA.items() if k != S.SHINGLES},
    ).with_columns(list_series(S.SHINGLES, shingles.values, shingles.offsets, has_shingles, pl.List(pl.UInt32))).sort(
        S.EXACT_HASH
    ).write_parquet(folder / "texts.parquet")
    _write_postings(folder, distinct, texts, bands, node_of)
    blocks = _write_occurrences(folder, texts, parts, distinct_store, documents)
    documents.select(list(index.DOCUMENTS_SCHEMA)).write_parquet(folder / "documents.parquet")
    old_assigned = np.flatnonzero(~texts.new & (texts.cluster >= 0))
    # In the order of the new data's distinct texts (read order), so that any engine writes the same file.
    assigned = pl.DataFrame({TEXT: texts.number[old_assigned], S.CLUSTER: texts.cluster[old_assigned]})
    assigned.unique(TEXT, maintain_order=True).write_parquet(folder / "clusters.parquet")
    return documents.height, blocks


def _write_postings(
    folder: Path, distinct: DistinctTexts, texts: NewTexts, bands: BandStore, node_of: np.ndarray
) -> None:
    near_distinct = distinct.near_distinct.values
    new_nodes = np.flatnonzero(texts.new[near_distinct])
    slots = distinct.near_slot.values[new_nodes]
    frames = [
        pl.DataFrame(
            {
                BAND: np.full(new_nodes.size, band, np.int16),
                KEY: bands.band(band, slots),
                TEXT: texts.number[near_distinct[new_nodes]],
                MEMBER: texts.member[near_distinct[new_nodes]],
            },
            schema=index.POSTINGS_SCHEMA,
        )
        for band in range(bands.bands)
    ]
    postings = pl.concat(frames) if frames else pl.DataFrame(schema=index.POSTINGS_SCHEMA)
    postings.sort(BAND, KEY, TEXT).write_parquet(folder / "postings.parquet")


def _write_occurrences(
    folder: Path, texts: NewTexts, parts: PartStore, distinct_store: ArrayStore, documents: pl.DataFrame
) -> int:
    """Every block of the new data with its index text, a batch at a time; documents per cluster too."""
    doc_ids = documents.sort(S.DOC_KEY)[S.DOC_ID]
    cluster_docs = []
    blocks = 0
    schema = pl.DataFrame(schema=index.OCCURRENCES_SCHEMA).to_arrow().schema
    writer = pq.ParquetWriter(folder / "occurrences.parquet", schema)
    for number in parts.numbers:
        frame = parts.read(number, [S.DOC_KEY, S.BLOCK, S.START, S.END, S.LINE])
        own = distinct_store.read(number)
        blocks += frame.height
        keep = own >= 0
        part = frame.filter(pl.Series(keep)).with_columns(pl.Series(TEXT, texts.number[own[keep]]))
        named = part.with_columns(doc_ids.gather(part[S.DOC_KEY]).alias(S.DOC_ID))
        writer.write_table(named.select(list(index.OCCURRENCES_SCHEMA)).to_arrow().cast(schema))
        clustered = pl.DataFrame({S.CLUSTER: texts.cluster[own[keep]], S.DOC_KEY: part[S.DOC_KEY]}).filter(
            pl.col(S.CLUSTER) >= 0
        )
        cluster_docs.append(clustered.unique())
    writer.close()
    per_cluster = (
        pl.concat(cluster_docs).unique()
        if cluster_docs
        else pl.DataFrame(schema={S.CLUSTER: pl.Int64, S.DOC_KEY: pl.Int64})
    )
    per_cluster.group_by(S.CLUSTER).agg(pl.len().cast(pl.Int64).alias(S.N_DOCS)).sort(S.CLUSTER).write_parquet(
        folder / "cluster_documents.parquet"
    )
    return blocks
