"""dedup check: limits, exit codes, output formats and baselines."""

from __future__ import annotations

import json
import random
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dedup
from dedup.check import render_junit
from dedup.cli import app
from dedup.options import CheckOptions
from tests.corpora import build, records, write_folder, write_jsonl

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEED_000 = "000_e4840d95eb31815a.txt"
SEED_001 = "001_09200cf2f9f01141.txt"
runner = CliRunner()
ANNOTATION = re.compile(r"^::(error|warning) file=([^,]+),line=(\d+)(?:,col=\d+)?,title=dedup::(.+)$")

# The repeats of the seeds, known from reading them: the intro, the synopsis (a second, edited copy in 000, both
# again in 001: one near cluster), the story paragraph and the cast list are long; "Anzeige" (three times in 001),
# two headings shared by 000 and 001, and "User folgen" and a "3,5" rating twice in 002 are short.
LONG = {"exact": 3, "near": 1}
SHORT = 5


@pytest.fixture
def seeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(SEEDS, tmp_path / "seeds")
    return Path("seeds")


def check(*arguments: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["check", *arguments])
    return result.exit_code, result.stdout, result.stderr


def test_exit_codes(seeds: Path, tmp_path: Path) -> None:
    assert check(str(seeds))[0] == 1
    dedup.clean([seeds], tmp_path / "clean")
    code, out, _ = check(str(tmp_path / "clean"))
    assert code == 0
    assert out.strip().startswith("dedup check passed: 0 duplicate clusters (limit 0); 0.00% of ")
    assert check("nothing")[0:3:2] == (2, "Error: nothing: no such file or folder\n")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--fail-on", "all"], "Error: fail_on must be exact, near or any, got 'all'"),
        (["--format", "xml"], "Error: format must be text, json, junit or github, got 'xml'"),
        (["--max-dup-fraction", "5"], "Error: max_dup_fraction must be in [0, 1], got 5.0; did you pass a percentage?"),
        (["--max-clusters", "-1"], "Error: max_clusters must be >= 0, got -1"),
        (
            ["--baseline", "a.json", "--write-baseline", "b.json"],
            "Error: give --baseline or --write-baseline, not both",
        ),
        (["--baseline", "missing.json"], "Error: missing.json: no such baseline; write one with --write-baseline"),
        (
            ["--write-baseline", "b.json", "--format", "junit"],
            "Error: --write-baseline prints text or json, not junit: it checks nothing",
        ),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(seeds: Path, arguments: list[str], message: str) -> None:
    code, out, err = check(str(seeds), *arguments)
    assert (code, out, err.strip()) == (2, "", message)


def test_limits_count_the_clusters_asked_for(seeds: Path) -> None:
    total = LONG["exact"] + LONG["near"]
    assert check(str(seeds), "--max-clusters", str(total))[0] == 0
    assert check(str(seeds), "--max-clusters", str(total - 1))[0] == 1
    assert check(str(seeds), "--fail-on", "near", "--max-clusters", str(LONG["near"]))[0] == 0
    assert check(str(seeds), "--fail-on", "exact", "--max-clusters", str(LONG["exact"] - 1))[0] == 1
    assert check(str(seeds), "--include-short", "--max-clusters", str(total + SHORT))[0] == 0
    assert check(str(seeds), "--include-short", "--max-clusters", str(total + SHORT - 1))[0] == 1


def test_the_duplicated_share_counts_the_characters_of_the_duplicated_blocks(seeds: Path) -> None:
    lines_000 = (seeds / SEED_000).read_text("utf-8").split("\n")
    lines_001 = (seeds / SEED_001).read_text("utf-8").split("\n")
    blocks = [lines_000[i] for i in (0, 3, 4, 5)] + ["\n".join(lines_000[7:32])]
    blocks += [lines_001[i] for i in (3, 10, 12, 14)] + ["\n".join(lines_001[18:43])]
    report = dedup.check([seeds], CheckOptions(max_dup_fraction=0.5))
    assert report.dup_chars == sum(len(b.strip()) for b in blocks)
    assert report.chars == int(report.scan.documents["n_chars"].sum())
    fraction = report.dup_chars / report.chars
    assert report.passed and report.failures == {}
    below = dedup.check([seeds], CheckOptions(max_dup_fraction=fraction - 0.001))
    assert not below.passed
    limit = fraction - 0.001
    assert below.failures == {
        "max-dup-fraction": f"{fraction:.2%} of the characters are duplicated, more than the limit of {limit:.2%}"
    }


def test_text_output_points_at_each_copy_with_file_and_line(seeds: Path) -> None:
    code, out, _ = check(str(seeds))
    assert code == 1
    lines = out.splitlines()
    assert lines[-2] == "Over the limit: 4 duplicate clusters, more than the limit of 0"
    assert re.fullmatch(
        r"dedup check failed: 4 duplicate clusters \(limit 0\); [\d.]+% of [\d,]+ characters duplicated\.", lines[-1]
    )
    # Every copy after the first is named with the file and line where it stands.
    places = [line.split(": ", 1)[0] for line in lines[:-2]]
    assert places == [
        f"seeds/{SEED_001}:4:1",
        f"seeds/{SEED_000}:5:1",
        f"seeds/{SEED_001}:11:1",
        f"seeds/{SEED_001}:13:1",
        f"seeds/{SEED_001}:15:1",
        f"seeds/{SEED_001}:19:1",
    ]
    assert lines[2].startswith(
        f"seeds/{SEED_001}:11:1: exact duplicate of seeds/{SEED_000}:4:1 (cluster #2): “Steph geht"
    )
    assert lines[3].startswith(f"seeds/{SEED_001}:13:1: near duplicate of seeds/{SEED_000}:4:1 (cluster #2)")


def test_json_output(seeds: Path) -> None:
    code, out, _ = check(str(seeds), "--format", "json", "--fail-on", "near")
    data = json.loads(out)
    assert code == 1 and data["passed"] is False and data["exit_code"] == 1
    assert data["clusters"] == 1 and data["findings"][0]["kind"] == "near"
    files = [(o["file"], o["file_line"]) for o in data["findings"][0]["occurrences"]]
    assert files == [
        (f"seeds/{SEED_000}", 4),
        (f"seeds/{SEED_000}", 5),
        (f"seeds/{SEED_001}", 11),
        (f"seeds/{SEED_001}", 13),
    ]


def test_junit_output_parses_and_fails_the_limit_that_was_exceeded(seeds: Path) -> None:
    code, out, _ = check(str(seeds), "--format", "junit", "--max-clusters", "10", "--max-dup-fraction", "0.2")
    assert code == 1
    root = ET.fromstring(out)
    suite = root.find("testsuite")
    assert root.tag == "testsuites" and suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert cases["max-clusters"].find("failure") is None
    failure = cases["max-dup-fraction"].find("failure")
    assert failure is not None and failure.get("message", "").endswith("more than the limit of 20.00%")
    assert failure.text is not None and len(failure.text.splitlines()) == 6


def test_junit_output_stays_valid_xml_with_control_characters(tmp_path: Path) -> None:
    paragraph = "A paragraph with a \x01 control character and \x1b escape inside it, long enough to count."
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(f"Unique opening of {name}.\n\n{paragraph}\n", encoding="utf-8")
    report = dedup.check([tmp_path])
    root = ET.fromstring(render_junit(report))
    failure = root.find("testsuite/testcase/failure")
    # The reader already replaced the control characters by spaces (with a warning); the XML stays valid.
    assert failure is not None and "A paragraph with a control character and escape inside" in (failure.text or "")


def test_github_annotations_point_at_the_duplicated_lines(seeds: Path, tmp_path: Path) -> None:
    code, out, _ = check(str(seeds), "--format", "github")
    assert code == 1
    annotations = [ANNOTATION.match(line) for line in out.splitlines() if line.startswith("::error file=")]
    assert len(annotations) == 6
    for match in annotations:
        assert match is not None
        _, file, line, message = match.groups()
        text_line = " ".join((tmp_path / file).read_text("utf-8").split("\n")[int(line) - 1].split())
        quoted = message.split("“", 1)[1][:40]
        shorter = min(len(text_line), len(quoted))  # a list run's first line is only its heading
        assert text_line[:shorter] == quoted[:shorter], (file, line)
    assert "::error title=dedup check::4 duplicate clusters, more than the limit of 0" in out.splitlines()
    # Within the limits the same places are warnings.
    _, passing, _ = check(str(seeds), "--format", "github", "--max-clusters", "10")
    assert sum(line.startswith("::warning file=") for line in passing.splitlines()) == 6
    assert "::error" not in passing


def test_github_annotations_point_at_the_record_line_of_a_jsonl_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    corpus = build(seed=3, n_docs=8)
    write_jsonl(records(corpus), tmp_path / "data" / "crawl, part 1.jsonl")
    code, out, _ = check("data", "--format", "github")
    assert code == 1
    raw = (tmp_path / "data" / "crawl, part 1.jsonl").read_text("utf-8").splitlines()
    annotations = [ANNOTATION.match(line) for line in out.splitlines() if line.startswith("::error file=")]
    assert annotations
    for match in annotations:
        assert match is not None
        assert match.group(2) == "data/crawl%2C part 1.jsonl"  # a comma in a property is escaped
        record = json.loads(raw[int(match.group(3)) - 1])
        if match.group(4).startswith("exact duplicate"):
            quoted = match.group(4).split("“", 1)[1][:40]
            assert quoted in " ".join(record["text"].split())


# --- baselines ---------------------------------------------------------------------------------------------------


def test_a_baseline_passes_today_and_fails_on_a_new_duplicate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    corpus = build(seed=13, n_docs=12)
    write_folder(corpus, tmp_path / "docs")
    assert check("docs")[0] == 1
    code, out, _ = check("docs", "--write-baseline", "dedup-baseline.json")
    assert code == 0 and out.startswith("Wrote dedup-baseline.json: ")
    code, out, _ = check("docs", "--baseline", "dedup-baseline.json")
    assert code == 0, out
    assert out.strip().endswith("accepted by the baseline.")

    # A new page copies a paragraph that so far stood in one place only.
    unique = corpus.unique[4]
    (tmp_path / "docs" / "doc_999.txt").write_text(f"A new page.\n\n{unique}\n", encoding="utf-8")
    code, out, _ = check("docs", "--baseline", "dedup-baseline.json", "--format", "github")
    assert code == 1
    flagged = [m.group(2, 3) for m in map(ANNOTATION.match, out.splitlines()) if m]
    assert flagged == [("docs/doc_999.txt", "3")]
    assert "1 new duplicate cluster (limit 0)" in out


def test_a_new_copy_of_an_accepted_duplicate_is_new_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    corpus = build(seed=13, n_docs=12)
    write_folder(corpus, tmp_path / "docs")
    check("docs", "--write-baseline", "b.json")
    shared = next(iter(corpus.exact))
    (tmp_path / "docs" / "doc_999.txt").write_text(f"A new page.\n\n{shared}\n", encoding="utf-8")
    code, out, _ = check("docs", "--baseline", "b.json")
    assert code == 1
    assert [line.split(": ")[0] for line in out.splitlines()[:-2]] == ["docs/doc_999.txt:3:1"]


def test_a_baseline_survives_reordering(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    corpus = build(seed=17, n_docs=16)
    rows = [{**row, "id": f"record-{row['id']}"} for row in records(corpus)]
    write_jsonl(rows, tmp_path / "a" / "part.jsonl")
    write_folder(corpus, tmp_path / "b")
    assert check("a", "b", "--write-baseline", "b1.json")[0] == 0
    random.Random(1).shuffle(rows)
    write_jsonl(rows, tmp_path / "a" / "part.jsonl")
    code, out, _ = check("b", "a", "--baseline", "b1.json")
    assert code == 0, out
    # The baseline written from the reordered inputs is the same file.
    assert check("b", "a", "--write-baseline", "b2.json")[0] == 0
    assert (tmp_path / "b1.json").read_text("utf-8") == (tmp_path / "b2.json").read_text("utf-8")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "{not json",
            "Error: bad.json:1: not a dedup baseline "
            "(malformed JSON: Expecting property name enclosed in double quotes)",
        ),
        ('{"clusters": []}', "Error: bad.json: not a dedup baseline (format 1); write one with --write-baseline"),
        (
            '{"dedup_baseline": 1, "clusters": [{"occurrences": [["a.txt", "xyz"]]}]}',
            'Error: bad.json: cluster 0, occurrence 0 of the baseline is malformed: the fingerprint "xyz" is not'
            " 16 hex digits",
        ),
        (
            '{"dedup_baseline": 1, "clusters": [{"occurrences": [["a.txt", "00000000000000aa"], "ab"]}]}',
            "Error: bad.json: cluster 0, occurrence 1 of the baseline is malformed: not a pair of strings"
            ' [document id, fingerprint] ("ab")',
        ),
        (
            '{"dedup_baseline": 1, "clusters": [{"occurrences": []}, {"occurrences": [["a.txt", "'
            + "0" * 40
            + '"]]}]}',
            "Error: bad.json: cluster 1, occurrence 0 of the baseline is malformed: the fingerprint"
            ' "0000000000000000000000000000000000000000" is not 16 hex digits',
        ),
        (
            '{"dedup_baseline": 1, "clusters": [{"occurrences": [[7, "00000000000000aa"]]}]}',
            "Error: bad.json: cluster 0, occurrence 0 of the baseline is malformed: not a pair of strings"
            ' [document id, fingerprint] ([7, "00000000000000aa"])',
        ),
        (
            '{"dedup_baseline": 1, "clusters": ["x"]}',
            "Error: bad.json: cluster 0 of the baseline is malformed (no list of occurrences)",
        ),
        (
            '{"dedup_baseline": 1, "clusters": [' + "[" * 100_000 + "]" * 100_000 + "]}",
            "Error: bad.json: not a dedup baseline (nested too deep to read)",
        ),
    ],
)
def test_a_bad_baseline_is_a_usage_error(seeds: Path, content: str, message: str) -> None:
    Path("bad.json").write_text(content, encoding="utf-8")
    code, _, err = check(str(seeds), "--baseline", "bad.json")
    assert (code, err.strip()) == (2, message)


def test_write_baseline_says_what_a_check_with_it_accepts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--write-baseline and then --baseline agree on the clusters accepted; short ones are recorded too."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(SEEDS, "docs")
    code, out, _ = check("docs", "--write-baseline", "b.json")
    counted = dedup.check(["docs"]).findings
    everything = dedup.scan(["docs"]).clusters
    short = everything.filter(everything["short"]).height
    assert (code, out.strip()) == (
        0,
        f"Wrote b.json: {len(counted)} duplicate clusters accepted. {short} more recorded, which dedup check counts"
        " only with --include-short.",
    )
    assert len(counted) + short == everything.height
    code, out, _ = check("docs", "--baseline", "b.json")
    assert code == 0 and out.strip().endswith(f"; {len(counted)} accepted by the baseline.")
    code, out, _ = check("docs", "--baseline", "b.json", "--include-short")
    assert code == 0 and out.strip().endswith(f"; {everything.height} accepted by the baseline.")
    code, out, _ = check("docs", "--write-baseline", "b.json", "--include-short")
    assert out.strip() == f"Wrote b.json: {everything.height} duplicate clusters accepted."
    code, out, _ = check("docs", "--write-baseline", "b.json", "--format", "json")  # for a CI script to read
    written = json.loads(out)
    assert code == 0 and written["passed"] and written["known_clusters"] == len(counted)
    assert written["baseline_written"] == {
        "path": "b.json",
        "accepted_clusters": len(counted),
        "recorded_clusters": everything.height,
    }
