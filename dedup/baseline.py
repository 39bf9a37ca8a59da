"""Baselines: the duplicates accepted today, so that a check fails only on new ones.

A baseline lists every occurrence of every duplicate cluster as its document
id and its content fingerprint (the block's exact hash: xxh64 of its matching
form). Neither changes when files are read in another order, renumbered or
moved within a JSONL file, so the baseline survives that; an occurrence is new
when its (document, fingerprint) pair appears more often than the baseline
recorded. The file is JSON, sorted, so that it diffs well under version control.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from dedup import schema as S
from dedup.errors import InputError, OutputError
from dedup.output import atomic_write
from dedup.result import ScanResult
from dedup.terminal import printable

FORMAT = 1
_PREVIEW = 80

Key = tuple[str, int]  # (doc_id, exact_hash)


def _hex(value: int) -> str:
    return f"{value:016x}"


@dataclass(frozen=True, slots=True)
class Baseline:
    """Accepted duplicate occurrences, counted by (document id, content fingerprint).

    Attributes:
        occurrences: how often each (doc_id, exact_hash) was an accepted duplicate.
        clusters: the clusters as recorded, for people reading the file.
    """

    occurrences: Counter[Key]
    clusters: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_result(cls, result: ScanResult) -> Baseline:
        """Every duplicate of a scan, short clusters included, accepted.

        Everything written depends on content and document ids only: a
        cluster's preview is the text of its smallest (doc_id, fingerprint).
        """
        members = (
            result.blocks_lazy.filter(pl.col(S.CLUSTER).is_not_null())
            .select(S.CLUSTER, S.DOC_ID, S.EXACT_HASH, S.TEXT)
            .sort(S.CLUSTER, S.DOC_ID, S.EXACT_HASH)
            .collect()
            .join(result.clusters.select(S.CLUSTER, S.KIND, S.SHORT), on=S.CLUSTER, how="left", maintain_order="left")
        )
        clusters = []
        for (_,), group in members.group_by(S.CLUSTER, maintain_order=True):
            first = group.row(0, named=True)
            occurrences = zip(group[S.DOC_ID].to_list(), map(_hex, group[S.EXACT_HASH].to_list()), strict=True)
            clusters.append(
                {
                    "kind": first[S.KIND],
                    "short": first[S.SHORT],
                    "text": " ".join(first[S.TEXT].split())[:_PREVIEW],
                    "occurrences": [list(pair) for pair in occurrences],
                }
            )
        clusters.sort(key=lambda c: c["occurrences"])
        return cls(_count(clusters, "the scan"), tuple(clusters))

    @classmethod
    def load(cls, path: str | Path) -> Baseline:
        """Read a baseline written by ``write``.

        Raises:
            InputError: the file is missing or is not a dedup baseline.
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: no such baseline; write one with --write-baseline") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read the baseline ({exc})") from exc
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{exc.lineno}: not a dedup baseline (malformed JSON: {exc.msg})") from None
        except RecursionError:  # json's parser recurses once per level of nesting; a baseline nests four deep
            raise InputError(f"{path}: not a dedup baseline (nested too deep to read)") from None
        if (
            not isinstance(data, dict)
            or data.get("dedup_baseline") != FORMAT
            or not isinstance(data.get("clusters"), list)
        ):
            raise InputError(f"{path}: not a dedup baseline (format {FORMAT}); write one with --write-baseline")
        clusters = tuple(data["clusters"])
        return cls(_count(clusters, str(path)), clusters)

    def write(self, path: str | Path) -> Path:
        """Write the baseline as sorted JSON, atomically.

        Raises:
            OutputError: the file cannot be written.
        """
        document = {"dedup_baseline": FORMAT, "clusters": list(self.clusters)}
        text = json.dumps(document, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
        target = Path(path)
        try:
            return atomic_write(target, lambda p: Path(p).write_text(text, encoding="utf-8"))
        except OSError as exc:
            raise OutputError(f"{target}: cannot write ({exc.strerror or exc})") from exc

    def new_flags(self, keys: Iterable[Key]) -> list[bool]:
        """Which occurrences are new, given every current occurrence in read order.

        The first occurrences of a (document, fingerprint) pair, as many as the
        baseline recorded, are known; any more are new.
        """
        seen: Counter[Key] = Counter()
        flags = []
        for key in keys:
            seen[key] += 1
            flags.append(seen[key] > self.occurrences[key])
        return flags


def _count(clusters: Iterable[object], where: str) -> Counter[Key]:
    """How often each (document, fingerprint) is accepted.

    Raises:
        InputError: a cluster that is not an object with a list of occurrences, or an occurrence that is
            not a pair of strings, a document id and a fingerprint of exactly 16 hex digits (an xxh64).
    """
    counts: Counter[Key] = Counter()
    for number, cluster in enumerate(clusters):
        occurrences = cluster.get("occurrences") if isinstance(cluster, dict) else None
        if not isinstance(occurrences, list):
            raise InputError(f"{where}: cluster {number} of the baseline is malformed (no list of occurrences)")
        for place, occurrence in enumerate(occurrences):
            counts[_occurrence(occurrence, f"{where}: cluster {number}, occurrence {place} of the baseline")] += 1
    return counts


_FINGERPRINT = re.compile(r"[0-9a-f]{16}")


def _occurrence(occurrence: object, where: str) -> Key:
    if not (
        isinstance(occurrence, list) and len(occurrence) == 2 and all(isinstance(part, str) for part in occurrence)
    ):
        shown = _quoted(json.dumps(occurrence, ensure_ascii=False, default=str))
        raise InputError(f"{where} is malformed: not a pair of strings [document id, fingerprint] ({shown})")
    doc_id, fingerprint = occurrence
    if not _FINGERPRINT.fullmatch(fingerprint):
        shown = _quoted(json.dumps(fingerprint, ensure_ascii=False))
        raise InputError(f"{where} is malformed: the fingerprint {shown} is not 16 hex digits")
    return doc_id, int(fingerprint, 16)


def _quoted(text: str, limit: int = 60) -> str:
    """Text from the file quoted in a message: at most ``limit`` characters, safe to print."""
    return printable(text if len(text) <= limit else text[:limit] + "…")
