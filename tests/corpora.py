"""Generated corpora whose duplicates are known by construction (not a test module).

Every document is a short template heading, unique paragraphs, and sometimes a
paragraph from a shared pool (exact copies), a variant of a near-duplicate
group (one word changed: Jaccard of word 3-shingles about 0.8), and a shared
list run. Paragraphs are single lines of 60 words, far longer than a
hard-wrapped line, so each is one block.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

HEADINGS = ["Startseite", "Anzeige", "Mehr lesen", "Kommentare"]


@dataclass
class Corpus:
    """The documents in read order and what is repeated where."""

    texts: dict[str, str] = field(default_factory=dict)  # doc id -> text, in read order
    unique: list[str] = field(default_factory=list)  # paragraphs that occur once
    exact: dict[str, list[str]] = field(default_factory=dict)  # paragraph -> doc ids holding a copy
    near: list[list[tuple[str, str]]] = field(default_factory=list)  # per group: (doc id, variant), read order
    shared_list: str = ""
    list_docs: list[str] = field(default_factory=list)
    headings: dict[str, list[str]] = field(default_factory=dict)  # heading -> doc ids

    def expected_removals(self, boilerplate_docs: int = 10, cut_short: bool = False) -> int:
        """Blocks a clean removes: every copy but one of each repeat; a repeated heading (a short line)
        only when it is boilerplate (in ``boilerplate_docs`` documents or more) or with ``cut_short``."""
        copies = [len(docs) for docs in self.exact.values()]
        copies += [len(group) for group in self.near]
        copies += [len(self.list_docs)]
        copies += [len(docs) for docs in self.headings.values() if cut_short or len(docs) >= boilerplate_docs]
        return sum(n - 1 for n in copies if n > 1)


def _words(rng: random.Random, vocabulary: list[str], n: int) -> list[str]:
    return [rng.choice(vocabulary) for _ in range(n)]


def build(seed: int = 7, n_docs: int = 24) -> Corpus:
    """A corpus of ``n_docs`` documents named ``doc_000.txt`` and up."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyzäöü"
    vocabulary = sorted({"".join(rng.choice(letters) for _ in range(rng.randint(4, 10))) for _ in range(4000)})
    pool = [" ".join(_words(rng, vocabulary, 60)).capitalize() + "." for _ in range(5)]
    bases = [_words(rng, vocabulary, 60) for _ in range(3)]
    items = [f"- {' '.join(_words(rng, vocabulary, 3))}" for _ in range(5)]
    corpus = Corpus(shared_list="Zutaten\n" + "\n".join(items))
    corpus.near = [[] for _ in bases]
    for number in range(n_docs):
        doc_id = f"doc_{number:03d}.txt"
        heading = HEADINGS[number % len(HEADINGS)]
        corpus.headings.setdefault(heading, []).append(doc_id)
        blocks = [heading]
        for _ in range(rng.randint(2, 3)):
            paragraph = " ".join(_words(rng, vocabulary, 60)).capitalize() + "."
            corpus.unique.append(paragraph)
            blocks.append(paragraph)
        if number % 2 == 0:
            paragraph = pool[number // 2 % len(pool)]
            corpus.exact.setdefault(paragraph, []).append(doc_id)
            blocks.insert(rng.randint(1, len(blocks)), paragraph)
        if number % 3 == 0:
            group = number // 3 % len(bases)
            variant = list(bases[group])
            variant[rng.randrange(len(variant))] = rng.choice(vocabulary)
            text = " ".join(variant).capitalize() + "."
            corpus.near[group].append((doc_id, text))
            blocks.insert(rng.randint(1, len(blocks)), text)
        if number % 5 == 1:
            corpus.list_docs.append(doc_id)
            blocks.append(corpus.shared_list)
        separator = "\n\n" if number % 2 else "\n"
        corpus.texts[doc_id] = separator.join(blocks) + ("\n" if number % 3 else "")
    return corpus


def write_folder(corpus: Corpus, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for doc_id, text in corpus.texts.items():
        (folder / doc_id).write_text(text, encoding="utf-8")
    return folder


def records(corpus: Corpus) -> list[dict]:
    """One JSONL record per document, with fields of every JSON type around the text."""
    return [
        {
            "id": doc_id,
            "url": f"https://example.org/{doc_id}?q=ä&n={number}",
            "meta": {"lang": "de", "score": number / 7, "tags": ["a", None, True]},
            "text": text,
            "fetched": 1_700_000_000_000 + number,
            "big": 2**70 + number,
        }
        for number, (doc_id, text) in enumerate(corpus.texts.items())
    ]


def write_jsonl(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def near_chains(folder: Path) -> Path:
    """Two chains of three near texts that are not all near each other, in read order ``w x y`` and ``u v z``:
    ``y`` is near ``w`` and ``x``, ``w`` and ``x`` are not near (``w`` takes ``y``; ``x``, paired only with a
    taken text, is a centre of none); ``v`` is near ``u`` and ``z``, ``u`` and ``z`` are not (``z``, paired
    only with a member, stays unassigned)."""
    rng = random.Random(1)
    vocabulary = ["".join(rng.choice("abcdefghijklmnop") for _ in range(7)) for _ in range(3000)]

    def words(n: int) -> list[str]:
        return [rng.choice(vocabulary) for _ in range(n)]

    y, v = words(120), words(120)
    texts = {"1w": words(20) + y[20:], "2x": y[:100] + words(20), "3y": y}
    texts |= {"4u": words(20) + v[20:], "5v": v, "6z": v[:100] + words(20)}
    folder.mkdir(parents=True)
    for name, text in texts.items():
        (folder / f"{name}.txt").write_text(" ".join(text).capitalize() + ".\n", encoding="utf-8")
    return folder
