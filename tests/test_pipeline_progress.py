"""The progress hook of ``dedup.scan``: every stage reported, in order, with counts that add up."""

from __future__ import annotations

from pathlib import Path

import pytest

import dedup
from dedup.runners import local
from tests.conftest import SEEDS


def test_every_stage_is_reported_in_order_and_ends_complete() -> None:
    calls: list[tuple[str, int, int | None]] = []
    with dedup.scan([SEEDS], progress=lambda stage, done, total: calls.append((stage, done, total))) as result:
        pass

    stages = list(dict.fromkeys(stage for stage, _, _ in calls))
    assert stages == ["read", "fingerprint", "lsh", "verify", "cluster", "tables"]
    last = {stage: (done, total) for stage, done, total in calls}
    assert last["read"] == (result.stats.documents, result.stats.documents)
    assert last["fingerprint"] == (result.stats.blocks, result.stats.blocks)
    assert last["lsh"] == (result.stats.bands, result.stats.bands)  # a band at a time
    partitions = last["verify"][1]
    assert last["verify"] == last["cluster"] == (partitions, partitions)  # a partition of pairs at a time
    assert last["tables"][0] == last["tables"][1]
    for stage in stages:  # counts never go backwards within a stage
        done = [d for s, d, _ in calls if s == stage]
        assert done == sorted(done)


def test_reading_reports_while_documents_stream_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "PROGRESS_SECONDS", 0.0)  # report on every document
    for number in range(5):
        (tmp_path / f"{number}.txt").write_text(f"document number {number} has a few words in it\n")
    reads: list[int] = []
    with dedup.scan([tmp_path], progress=lambda stage, done, total: reads.append(done) if stage == "read" else None):
        pass
    assert reads == [0, 1, 2, 3, 4, 5, 5]


def test_scan_without_a_hook_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with dedup.scan([SEEDS]):
        pass
    assert capsys.readouterr() == ("", "")
