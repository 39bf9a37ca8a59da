"""A gate for CI: is the corpus within its duplicate limits?

``check`` scans, keeps the clusters that count (``fail_on``; short clusters
only with ``include_short``), drops from them what a baseline accepts, and
compares what is left with the limits. Its report renders as text, JSON,
JUnit XML or GitHub Actions annotations. Exit codes (used by the CLI)::

    0   within the limits
    1   over a limit
    2   a usage or input error (any DedupError)
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from dedup import schema as S
from dedup.baseline import Baseline
from dedup.errors import OptionsError
from dedup.locations import place, record_unit, shown_path
from dedup.options import CheckOptions
from dedup.pipeline import scan
from dedup.result import ORDER, ScanResult

_PREVIEW = 72
_FIRST = "first"
_NEW = "new"
MAX_CLUSTERS, MAX_DUP_FRACTION = "max-clusters", "max-dup-fraction"


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One block of a duplicate cluster, and where it stands in its file.

    Attributes:
        line: the block's line in its document (the text dedup extracted).
        file_line: where it stands in ``source`` (``dedup.locations``): its line in a text, Markdown or
            HTML file; for a record, the record's line (JSONL, CSV), item (JSON), row (Parquet) or number (WARC).
        file_column: its column in that line of a text, Markdown or HTML file; None for a record.
        new: not accepted by the baseline (always true without one).
    """

    doc_id: str
    block: int
    line: int
    source: str
    file_line: int
    file_column: int | None
    exact_hash: int
    n_chars: int
    new: bool


@dataclass(frozen=True, slots=True)
class Finding:
    """A counted duplicate cluster with something new in it."""

    cluster: int
    kind: str
    short: bool
    text: str  # the first occurrence's text
    occurrences: tuple[Occurrence, ...]  # in read order

    @property
    def flagged(self) -> tuple[Occurrence, ...]:
        """The occurrences to point at: the new ones except the first occurrence
        (the original), unless the first is the only new one."""
        new = tuple(o for o in self.occurrences if o.new)
        return tuple(o for o in new if o is not self.occurrences[0]) or new

    def other(self, occurrence: Occurrence) -> Occurrence:
        """The occurrence a flagged one duplicates: the first, or for the first the second."""
        return self.occurrences[1] if occurrence is self.occurrences[0] else self.occurrences[0]


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The verdict of a check and everything it is based on."""

    passed: bool
    failures: dict[str, str]  # the limits exceeded (max-clusters, max-dup-fraction), each with a message
    findings: tuple[Finding, ...]
    known: int  # counted clusters the baseline accepts entirely
    dup_chars: int  # characters of the new occurrences of counted clusters
    chars: int
    options: CheckOptions
    baseline: bool
    scan: ScanResult

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    @property
    def dup_fraction(self) -> float:
        return self.dup_chars / self.chars if self.chars else 0.0

    def summary(self) -> dict[str, Any]:
        """The report as plain data (the ``json`` format)."""
        return {
            "passed": self.passed,
            "exit_code": self.exit_code,
            "failures": self.failures,
            "limits": {
                "max_clusters": self.options.cluster_limit,
                "max_dup_fraction": self.options.max_dup_fraction,
                "fail_on": self.options.fail_on,
                "include_short": self.options.include_short,
            },
            "baseline": self.baseline,
            "clusters": len(self.findings),
            "known_clusters": self.known,
            "chars": self.chars,
            "dup_chars": self.dup_chars,
            "dup_fraction": round(self.dup_fraction, 6),
            "documents": self.scan.stats.documents,
            "skipped": len(self.scan.stats.skips),
            "findings": [
                {
                    "cluster": f.cluster,
                    "kind": f.kind,
                    "short": f.short,
                    "text": f.text,
                    "occurrences": [
                        {
                            "doc_id": o.doc_id,
                            "block": o.block,
                            "line": o.line,
                            "file": shown_path(o.source),
                            "file_line": o.file_line,
                            "file_column": o.file_column,
                            "place": _where(o),
                            "new": o.new,
                        }
                        for o in f.occurrences
                    ],
                }
                for f in self.findings
            ],
        }


def check(paths: object, options: CheckOptions | None = None, baseline: Baseline | None = None) -> CheckReport:
    """Scan and judge the corpus against the limits.

    Args:
        paths: folders, files or glob patterns, or in-memory inputs (as for ``dedup.scan``).
        options: the limits and the scan options.
        baseline: accepted duplicates; only occurrences it does not hold count.

    Raises:
        InputError: an input does not exist.
        NoDocumentsError: the inputs held no document.
    """
    options = options or CheckOptions()
    return evaluate(scan(paths, options.scan), options, baseline)


def accept(
    paths: object, baseline_path: str | Path, options: CheckOptions | None = None
) -> tuple[CheckReport, Baseline]:
    """Record today's duplicates as accepted in a baseline file, and check the scan against it.

    The baseline records every cluster, short ones included (so that ``--include-short`` later finds
    them accepted too); the report says which of them this check counts, as ``check`` with the baseline
    would: its ``known`` clusters are the ones accepted.

    Raises:
        InputError, NoDocumentsError: as for ``check``.
        OutputError: the baseline cannot be written.
    """
    options = options or CheckOptions()
    result = scan(paths, options.scan)
    baseline = Baseline.from_result(result)
    baseline.write(baseline_path)
    return evaluate(result, options, baseline), baseline


def render_accepted(report: CheckReport, baseline: Baseline) -> str:
    """What ``--write-baseline`` accepted: the clusters this check counts, then the rest recorded."""
    lines = [f"{_count(report.known, 'duplicate cluster')} accepted."]
    others = len(baseline.clusters) - report.known
    if others:
        unless = []
        if not report.options.include_short:
            unless.append("--include-short")
        if report.options.fail_on != "any":
            unless.append("--fail-on any")
        counted = f"which dedup check counts only with {' or '.join(unless)}" if unless else "not counted"
        lines.append(f"{others} more recorded, {counted}.")
    return " ".join(lines)


def render_accepted_json(report: CheckReport, baseline: Baseline, path: str | Path) -> str:
    """What ``--write-baseline --format json`` prints: the check's summary (all of it known now), and the
    baseline written: its path, the clusters this check counts (accepted) and every cluster it records."""
    written = {"path": str(path), "accepted_clusters": report.known, "recorded_clusters": len(baseline.clusters)}
    return json.dumps(report.summary() | {"baseline_written": written}, indent=2, sort_keys=True, ensure_ascii=False)


# The formats ``--write-baseline`` prints in: a baseline written is not a check that passed or failed.
ACCEPTED_FORMATS = ("text", "json")


def evaluate(result: ScanResult, options: CheckOptions, baseline: Baseline | None = None) -> CheckReport:
    """Judge a scan against the limits (``check`` without the scan)."""
    counted = result.clusters.filter(
        pl.col(S.KIND).is_in([S.EXACT, S.NEAR] if options.fail_on == "any" else [options.fail_on]),
        pl.lit(True) if options.include_short else ~pl.col(S.SHORT),
    )
    members = (
        result.blocks_in_documents()
        .filter(pl.col(S.CLUSTER).is_in(counted[S.CLUSTER].implode()))
        .select(
            ORDER,
            S.DOC_ID,
            S.BLOCK,
            S.LINE,
            S.SOURCE_LINE,
            S.SOURCE_COLUMN,
            S.START,
            S.END,
            S.CLUSTER,
            S.EXACT_HASH,
            S.SOURCE,
        )
        .sort(ORDER)
        .collect()
    )
    keys = zip(members[S.DOC_ID].to_list(), members[S.EXACT_HASH].to_list(), strict=True)
    new = baseline.new_flags(keys) if baseline is not None else [True] * members.height
    members = members.with_columns(pl.Series(_NEW, new, dtype=pl.Boolean))
    by_cluster = members.partition_by(S.CLUSTER, as_dict=True)
    findings = []
    known = 0
    for row in counted.iter_rows(named=True):
        rows = by_cluster[(row[S.CLUSTER],)]
        occurrences = tuple(
            Occurrence(
                doc_id=r[S.DOC_ID],
                block=r[S.BLOCK],
                line=r[S.LINE],
                source=r[S.SOURCE],
                file_line=r[S.SOURCE_LINE],
                file_column=r[S.SOURCE_COLUMN],
                exact_hash=r[S.EXACT_HASH],
                n_chars=r[S.END] - r[S.START],
                new=r[_NEW],
            )
            for r in rows.iter_rows(named=True)
        )
        if any(o.new for o in occurrences):
            findings.append(Finding(row[S.CLUSTER], row[S.KIND], row[S.SHORT], row[S.TEXT], occurrences))
        else:
            known += 1
    dup_chars = sum(o.n_chars for f in findings for o in f.occurrences if o.new)
    chars = int(result.documents[S.N_CHARS].sum() or 0)
    failures = _failures(len(findings), dup_chars, chars, options, baseline is not None)
    return CheckReport(
        passed=not failures,
        failures=failures,
        findings=tuple(findings),
        known=known,
        dup_chars=dup_chars,
        chars=chars,
        options=options,
        baseline=baseline is not None,
        scan=result,
    )


def _failures(clusters: int, dup_chars: int, chars: int, options: CheckOptions, baseline: bool) -> dict[str, str]:
    failures = {}
    what = "new duplicate cluster" if baseline else "duplicate cluster"
    limit = options.cluster_limit
    if limit is not None and clusters > limit:
        failures[MAX_CLUSTERS] = f"{_count(clusters, what)}, more than the limit of {limit}"
    fraction = dup_chars / chars if chars else 0.0
    if options.max_dup_fraction is not None and fraction > options.max_dup_fraction:
        failures[MAX_DUP_FRACTION] = (
            f"{fraction:.2%} of the characters are {'newly ' if baseline else ''}duplicated, "
            f"more than the limit of {options.max_dup_fraction:.2%}"
        )
    return failures


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _preview(text: str, width: int = _PREVIEW) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _where(occurrence: Occurrence) -> str:
    """Where a person opens the occurrence: ``file:line:column``, or the record (see ``dedup.locations``)."""
    return place(shown_path(occurrence.source), occurrence.file_line, occurrence.file_column, occurrence.doc_id)


def _headline(report: CheckReport) -> str:
    verdict = "passed" if report.passed else "failed"
    what = "new duplicate cluster" if report.baseline else "duplicate cluster"
    limit = report.options.cluster_limit
    parts = [_count(len(report.findings), what) + (f" (limit {limit})" if limit is not None else "")]
    fraction = f"{report.dup_fraction:.2%} of {report.chars:,} characters duplicated"
    if report.options.max_dup_fraction is not None:
        fraction += f" (limit {report.options.max_dup_fraction:.2%})"
    parts.append(fraction)
    if report.baseline:
        parts.append(f"{report.known} accepted by the baseline")
    return f"dedup check {verdict}: " + "; ".join(parts) + "."


def _messages(report: CheckReport) -> list[tuple[Occurrence, str]]:
    """One message per flagged occurrence: what it duplicates."""
    messages = []
    for finding in report.findings:
        for occurrence in finding.flagged:
            other = finding.other(occurrence)
            kind = S.EXACT if occurrence.exact_hash == other.exact_hash else S.NEAR
            what = f"{kind} duplicate of {_where(other)} (cluster #{finding.cluster})"
            messages.append((occurrence, f"{what}: “{_preview(finding.text)}”"))
    return messages


def render_text(report: CheckReport) -> str:
    """For people: one ``file:line: message`` line per flagged duplicate, then the verdict."""
    lines = [f"{_where(o)}: {message}" for o, message in _messages(report)]
    lines += [f"Over the limit: {failure}" for failure in report.failures.values()]
    lines.append(_headline(report))
    return "\n".join(lines)


def render_json(report: CheckReport) -> str:
    return json.dumps(report.summary(), indent=2, sort_keys=True, ensure_ascii=False)


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """Text without the characters XML 1.0 cannot hold (control characters)."""
    return _NOT_XML.sub("\ufffd", text)


def render_junit(report: CheckReport) -> str:
    """JUnit XML: one test case per limit, failed when the limit is exceeded,
    with the flagged duplicates in its body."""
    details = _xml_text("\n".join(f"{_where(o)}: {message}" for o, message in _messages(report)))
    limits = [
        (MAX_CLUSTERS, report.options.cluster_limit is not None),
        (MAX_DUP_FRACTION, report.options.max_dup_fraction is not None),
    ]
    cases = [(name, report.failures.get(name)) for name, in_force in limits if in_force]
    n_failed = sum(1 for _, failure in cases if failure)
    suites = ET.Element("testsuites", name="dedup check", tests=str(len(cases)), failures=str(n_failed))
    suite = ET.SubElement(
        suites, "testsuite", name="dedup check", tests=str(len(cases)), failures=str(n_failed), errors="0", skipped="0"
    )
    for name, failure in cases:
        case = ET.SubElement(suite, "testcase", classname="dedup.check", name=name)
        if failure is not None:
            element = ET.SubElement(case, "failure", message=_xml_text(failure), type="limit")
            element.text = details
        elif details:
            ET.SubElement(case, "system-out").text = details
    ET.SubElement(suite, "system-out").text = _xml_text(_headline(report))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: CheckReport) -> str:
    """GitHub Actions workflow commands: an annotation at every flagged duplicate
    (``error`` when the check fails, ``warning`` when it passes), one per
    exceeded limit, then the verdict as plain text."""
    level = "warning" if report.passed else "error"
    lines = []
    for occurrence, message in _messages(report):
        properties = f"file={_escape_property(shown_path(occurrence.source))}" + _annotation_place(occurrence)
        lines.append(f"::{level} {properties},title={_escape_property('dedup')}::{_escape_data(message)}")
    lines += [f"::error title=dedup check::{_escape_data(failure)}" for failure in report.failures.values()]
    lines.append(_headline(report))
    return "\n".join(lines)


def _annotation_place(occurrence: Occurrence) -> str:
    """The line (and column) of an annotation: a line of the file, which a Parquet row, JSON item or WARC
    record has not (their annotation names the file, and the message the record)."""
    if occurrence.file_column is not None:
        return f",line={occurrence.file_line},col={occurrence.file_column}"
    if record_unit(occurrence.source) == "line":
        return f",line={occurrence.file_line}"
    return ""


RENDERERS: dict[str, Callable[[CheckReport], str]] = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
    "github": render_github,
}


def renderer(output_format: str) -> Callable[[CheckReport], str]:
    """The function that renders a report in a format.

    Raises:
        OptionsError: not one of ``RENDERERS``.
    """
    if output_format not in RENDERERS:
        raise OptionsError(
            f"format must be {', '.join(list(RENDERERS)[:-1])} or {list(RENDERERS)[-1]}, got {output_format!r}"
        )
    return RENDERERS[output_format]


def render(report: CheckReport, output_format: str) -> str:
    """The report in a format of ``RENDERERS``."""
    return renderer(output_format)(report)
