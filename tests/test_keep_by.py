"""dedup clean --keep-by: the copy that stays is the one whose record ranks highest by a field."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import dedup
from dedup.cli import app
from dedup.errors import OptionsError
from dedup.options import CleanOptions, KeepBy

runner = CliRunner()
REPEATED = (
    "Der bullige Ali findet mit seinem Sohn Unterschlupf bei seiner Schwester im Süden Frankreichs, "
    "wo er als Türsteher arbeitet und eines Nachts Steph begegnet, die er nach Hause bringt."
)


def _records(values: list[object], field: str = "crawl_date") -> list[dict[str, object]]:
    """Records that all hold the repeated paragraph after an opening line of their own."""
    rows = []
    for number, value in enumerate(values):
        row: dict[str, object] = {"id": f"doc-{number}", "text": f"Opening line {number} of its own.\n\n{REPEATED}"}
        if value is not None:
            row[field] = value
        rows.append(row)
    return rows


def _write(rows: list[dict[str, object]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    elif path.suffix == ".csv":
        pl.DataFrame(rows).write_csv(path)
    else:
        pl.DataFrame(rows).write_parquet(path)
    return path


def _holders(out_file: Path) -> list[str]:
    """The ids of the output records that still hold the repeated paragraph."""
    if out_file.suffix == ".jsonl":
        rows = [json.loads(line) for line in out_file.read_text(encoding="utf-8").splitlines()]
    elif out_file.suffix == ".csv":
        rows = pl.read_csv(out_file).to_dicts()
    else:
        rows = pl.read_parquet(out_file).to_dicts()
    return [str(row["id"]) for row in rows if REPEATED in str(row["text"])]


def _expected(values: list[int | None], order: str) -> str:
    """The id that must keep the paragraph, computed here by plain Python: missing values rank last, ties
    go to the first record."""
    present = [
        (value if order == "max" else -value, -number) for number, value in enumerate(values) if value is not None
    ]
    return f"doc-{-max(present)[1]}"


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_the_latest_crawl_keeps_the_paragraph_in_every_record_format(tmp_path: Path, suffix: str) -> None:
    dates = ["2024-03-01", "2025-11-30", None, "2025-01-15"]
    source = _write(_records(dates), tmp_path / "in" / f"crawl{suffix}")
    for spec, holder in [("crawl_date:max", "doc-1"), ("crawl_date:min", "doc-0")]:
        out = tmp_path / spec.replace(":", "-")
        options = CleanOptions(keep_by=KeepBy.parse(spec))
        result = dedup.clean([source], out, options, removed=tmp_path / f"{spec}.parquet")
        assert _holders(out / source.name) == [holder], spec
        assert result.stats.blocks_removed == 3


def test_priority_prefers_the_sources_in_the_order_given_and_ranks_the_others_last(tmp_path: Path) -> None:
    sources = ["mirror", "archive", "origin", "unknown"]
    source = _write(_records(sources, field="source"), tmp_path / "in" / "pages.jsonl")
    for spec, holder in [
        ("source:priority=origin,archive", "doc-2"),
        ("source:priority=archive,origin", "doc-1"),
        ("source:priority=nowhere", "doc-0"),  # nothing listed: every record ranks last, the first stays
    ]:
        out = tmp_path / spec.replace(":", "-").replace("=", "-").replace(",", "-")
        dedup.clean([source], out, CleanOptions(keep_by=KeepBy.parse(spec)), removed=out.with_suffix(".parquet"))
        assert _holders(out / "pages.jsonl") == [holder], spec


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(-5, 5)), min_size=2, max_size=6),
    st.sampled_from(["max", "min"]),
)
def test_the_kept_copy_is_the_best_ranked_record_ties_going_to_the_first(values: list[int | None], order: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        source = _write(_records(list(values), field="quality"), root / "in" / "pages.jsonl")
        keep_by = KeepBy("quality", order)  # type: ignore[arg-type]
        if all(value is None for value in values):
            with pytest.raises(OptionsError, match="no document"):
                dedup.clean([source], root / "out", CleanOptions(keep_by=keep_by))
            return
        dedup.clean([source], root / "out", CleanOptions(keep_by=keep_by))
        assert _holders(root / "out" / "pages.jsonl") == [_expected(values, order)]


def test_numbers_rank_as_numbers_and_text_as_text(tmp_path: Path) -> None:
    numbers = _write(_records([9, 10, 2]), tmp_path / "a" / "n.jsonl")  # as text "9" > "10"
    dedup.clean([numbers], tmp_path / "n", CleanOptions(keep_by=KeepBy("crawl_date", "max")))
    assert _holders(tmp_path / "n" / "n.jsonl") == ["doc-1"]
    mixed = _write(_records([9, "10", 2]), tmp_path / "b" / "m.jsonl")
    dedup.clean([mixed], tmp_path / "m", CleanOptions(keep_by=KeepBy("crawl_date", "max")))
    assert _holders(tmp_path / "m" / "m.jsonl") == ["doc-0"]


def test_the_command_line_takes_keep_by_and_refuses_what_it_cannot_use(tmp_path: Path) -> None:
    source = _write(_records(["b", "c", "a"]), tmp_path / "in" / "pages.jsonl")
    done = runner.invoke(app, ["clean", str(source), "--out", str(tmp_path / "out"), "--keep-by", "crawl_date:max"])
    assert done.exit_code == 0, done.output
    assert _holders(tmp_path / "out" / "pages.jsonl") == ["doc-1"]
    for number, (arguments, message) in enumerate(
        [
            (["--keep-by", "crawl_date"], "FIELD:max"),
            (["--keep-by", "crawl_date:newest"], "must be max, min or priority"),
            (["--keep-by", "crawl_date:priority"], "needs the values"),
            (["--keep-by", "crawl_date:max", "--keep", "last"], "does not go with"),
            (["--keep-by", "missing_field:max"], "no document"),
        ]
    ):
        out = tmp_path / f"refused-{number}"
        refused = runner.invoke(app, ["clean", str(source), "--out", str(out), *arguments])
        assert refused.exit_code == 2 and message in refused.output, (arguments, refused.output)
        assert not out.exists()
