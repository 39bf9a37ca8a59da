"""Baselines: what they record, how they match, and that they survive a round trip."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import dedup
from dedup.baseline import Baseline

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def test_an_occurrence_is_new_beyond_the_count_the_baseline_accepted() -> None:
    baseline = Baseline(Counter({("a.txt", 1): 2, ("b.txt", 1): 1}))
    keys = [("a.txt", 1), ("b.txt", 1), ("a.txt", 1), ("a.txt", 1), ("c.txt", 1), ("b.txt", 2)]
    assert baseline.new_flags(keys) == [False, False, False, True, True, True]


def test_a_baseline_records_every_cluster_by_document_and_fingerprint(tmp_path: Path) -> None:
    result = dedup.scan([SEEDS])
    baseline = Baseline.from_result(result)
    assert len(baseline.clusters) == result.clusters.height
    clustered = result.blocks.filter(result.blocks["cluster"].is_not_null())
    assert baseline.occurrences == Counter(zip(clustered["doc_id"], clustered["exact_hash"], strict=True))
    path = baseline.write(tmp_path / "dedup-baseline.json")
    loaded = Baseline.load(path)
    assert loaded.occurrences == baseline.occurrences
    data = json.loads(path.read_text("utf-8"))
    assert data["dedup_baseline"] == 1
    assert all(c["occurrences"] == sorted(c["occurrences"]) for c in data["clusters"])
    assert [c["occurrences"] for c in data["clusters"]] == sorted(c["occurrences"] for c in data["clusters"])
    steph = next(c for c in data["clusters"] if c["kind"] == "near")
    assert steph["text"].startswith("Steph geht in ihrem Beruf") and len(steph["occurrences"]) == 4
