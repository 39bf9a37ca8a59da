"""Documentation prose of any length: CPython's own topics, and new paragraphs walked from them.

The text comes from CPython's own documentation (``pydoc_data.topics``, shipped with every
Python): its real paragraphs, and new paragraphs walked from a word bigram model of it, so that a
corpus of any size reads like documentation while its unique paragraphs really are unique.
"""

from __future__ import annotations

import pydoc_data.topics
import re
from functools import cache

import numpy as np


@cache
def language() -> tuple[list[str], list[str], np.ndarray, np.ndarray, np.ndarray]:
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
    _, vocabulary, successors, offsets, counts = language()
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
    _, vocabulary, *_ = language()
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
