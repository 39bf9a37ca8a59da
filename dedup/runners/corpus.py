"""The corpus-wide state of a local scan: one entry per distinct text, none per block.

Blocks go to disk as they are fingerprinted; what stays in memory is a hash table from exact key to
*distinct text* (numbered in order of first appearance) and a few numbers per distinct text: where its
first occurrence stands, how often it occurs, and whether it takes part in near matching. A corpus
that is 90% repetition therefore costs a tenth of the memory of one without repeats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dedup import _kernels
from dedup.fingerprint import KeyOrdinals


class Column:
    """A numpy array that grows at its end (doubling its buffer), for state appended batch by batch."""

    def __init__(self, dtype: type, capacity: int = 1024) -> None:
        self._data: np.ndarray = np.zeros(capacity, dtype=dtype)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        needed = self.size + values.size
        if needed > self._data.size:
            grown = np.zeros(max(needed, 2 * self._data.size), dtype=self._data.dtype)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : needed] = values
        self.size = needed

    @property
    def values(self) -> np.ndarray:
        """The values so far (a view: valid until the next ``extend``)."""
        return self._data[: self.size]


class DistinctTexts:
    """Every distinct matchable text of the corpus, numbered in read order, and the texts of near matching.

    Per distinct text: its exact key, its first occurrence (block key, document key, block number, line),
    how many blocks have it, and its near number (-1 when it takes no part in near matching). Per near
    text: its distinct number and its slot in the spilled shingle hashes and band keys.
    """

    def __init__(self) -> None:
        self._ordinals = KeyOrdinals()
        self.exact_hash = Column(np.uint64)
        self.first_block_key = Column(np.int64)
        self.first_doc = Column(np.int64)
        self.first_block = Column(np.int32)
        self.first_line = Column(np.int32)
        self.count = Column(np.int64)
        self.near = Column(np.int64)
        self.near_distinct = Column(np.int64)
        self.near_slot = Column(np.int64)

    def __len__(self) -> int:
        return self._ordinals.count

    @property
    def near_count(self) -> int:
        return self.near_distinct.size

    def add(self, batch: BatchKeys, first_block_key: int, first_slot: int) -> np.ndarray:
        """Fold a batch in (batches in read order); the distinct number of each of its blocks (-1: unmatchable).

        Args:
            batch: the batch's blocks.
            first_block_key: the block key of the batch's first block.
            first_slot: the slot of the batch's first near candidate in the spilled hashes and band keys.
        """
        rows = np.flatnonzero(batch.matchable)
        distinct = np.full(batch.exact.size, -1, dtype=np.int64)
        ordinals, new = self._ordinals(batch.exact[rows])
        distinct[rows] = ordinals
        firsts = rows[new]
        self.exact_hash.extend(batch.exact[firsts])
        self.first_block_key.extend(first_block_key + firsts)
        self.first_doc.extend(batch.doc_key[firsts])
        self.first_block.extend(batch.block[firsts])
        self.first_line.extend(batch.line[firsts])
        self.count.extend(np.zeros(firsts.size, dtype=np.int64))
        self.near.extend(np.full(firsts.size, -1, dtype=np.int64))
        _kernels.count_into(ordinals, self.count.values)
        # A near candidate is the first of its text in its batch; it takes part when it is the first in the corpus.
        first_in_corpus = np.zeros(batch.exact.size, dtype=bool)
        first_in_corpus[firsts] = True
        slots = first_slot + np.cumsum(batch.near_candidate) - 1
        taking_part = batch.near_candidate & first_in_corpus
        numbers = np.arange(self.near_count, self.near_count + np.count_nonzero(taking_part), dtype=np.int64)
        self.near.values[distinct[taking_part]] = numbers
        self.near_distinct.extend(distinct[taking_part])
        self.near_slot.extend(slots[taking_part])
        return distinct


@dataclass(frozen=True, slots=True)
class BatchKeys:
    """What folding a batch into the corpus state needs of its blocks, in block order."""

    doc_key: np.ndarray
    block: np.ndarray
    line: np.ndarray
    exact: np.ndarray
    matchable: np.ndarray
    near_candidate: np.ndarray
