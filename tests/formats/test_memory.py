"""In-memory inputs: dedup.scan reads texts, records and tables as it reads files, and one path stays one path."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from rich.console import Console

import dedup
from dedup import schema as S
from dedup.formats.memory import MemoryInput, as_inputs
from dedup.options import ReadOptions, ScanOptions
from dedup.report import render_report
from tests.conftest import DOUBLED, INTRO, SECOND, SEEDS

NAMES = [INTRO, DOUBLED, SECOND]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return [(SEEDS / name).read_text(encoding="utf-8") for name in NAMES]


@pytest.fixture(scope="module")
def of_files() -> dedup.ScanResult:
    return dedup.scan([SEEDS])


def _same_findings(result: dedup.ScanResult, of_files: dedup.ScanResult, ids: list[str]) -> None:
    """The same blocks, clusters and duplicated characters as the scan of the seed files, under other ids."""
    assert result.stats.documents == 3
    renamed = dict(zip(NAMES, ids, strict=True))
    expected = of_files.blocks.with_columns(pl.col(S.DOC_ID).replace_strict(renamed))
    assert result.blocks.select(S.DOC_ID, S.BLOCK, S.TEXT, S.CLUSTER).equals(
        expected.select(S.DOC_ID, S.BLOCK, S.TEXT, S.CLUSTER)
    )
    assert result.summary()["dup_chars"] == of_files.summary()["dup_chars"]


def test_one_string_is_one_path_never_its_characters(of_files: dedup.ScanResult) -> None:
    assert as_inputs(str(SEEDS)) == [str(SEEDS)]
    assert as_inputs(SEEDS) == [SEEDS]
    for given in (str(SEEDS), SEEDS, [str(SEEDS)], (SEEDS,)):
        result = dedup.scan(given)
        _same_findings(result, of_files, NAMES)


def test_a_list_of_paths_is_many_paths(of_files: dedup.ScanResult) -> None:
    result = dedup.scan([str(SEEDS / name) for name in NAMES])
    assert result.documents[S.DOC_ID].to_list() == [(SEEDS / name).as_posix() for name in NAMES]
    assert result.summary()["dup_chars"] == of_files.summary()["dup_chars"]


@pytest.mark.parametrize(
    "kind",
    [
        "generator",
        "iterator",
        "series",
        "arrow array",
        "arrow chunked array",
        "iterator over an arrow array",
        "tuple of texts and records",
    ],
)
def test_texts_from_any_iterable_have_ids_from_0(kind: str, texts: list[str], of_files: dedup.ScanResult) -> None:
    given = {
        "generator": (text for text in texts),
        "iterator": iter(texts),
        "series": pl.Series("page", texts),
        "arrow array": pa.array(texts, pa.large_string()),
        "arrow chunked array": pa.chunked_array([texts[:1], [], texts[1:]]),  # its values, never its scalars
        "iterator over an arrow array": iter(pa.array(texts)),  # Arrow scalars, one by one
        "tuple of texts and records": (texts[0], {"text": texts[1]}, texts[2]),
    }[kind]
    result = dedup.scan(given)
    _same_findings(result, of_files, ["0", "1", "2"])
    assert result.documents.select(S.SOURCE, S.SOURCE_LINE).rows() == [
        ("<memory>", 1),
        ("<memory>", 2),
        ("<memory>", 3),
    ]


def test_records_honour_the_id_and_text_fields_and_dotted_paths(texts: list[str], of_files: dedup.ScanResult) -> None:
    records = [{"meta": {"url": f"https://x/{i}"}, "body": {"plain": text}} for i, text in enumerate(texts)]
    options = ScanOptions(read=ReadOptions(id_field="meta.url", text_field="body.plain"))
    _same_findings(dedup.scan(records, options), of_files, ["https://x/0", "https://x/1", "https://x/2"])
    _same_findings(dedup.scan([{"id": n, "text": t} for n, t in zip("abc", texts, strict=True)]), of_files, list("abc"))


def _tables(texts: list[str]) -> dict[str, object]:
    arrow = pa.table({"id": ["a", "b", "c"], "text": texts, "lang": ["de"] * 3})
    return {
        "polars": pl.from_arrow(arrow),
        "arrow table": arrow,
        "record batch": arrow.to_batches()[0],
        "arrow stream": _ArrowStream(arrow),
    }


class _ArrowStream:
    """Any object that exports an Arrow C stream (DuckDB results, newer pandas, …)."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return self._table.__arrow_c_stream__(requested_schema)


@pytest.mark.parametrize("kind", ["polars", "arrow table", "record batch", "arrow stream"])
def test_tables_are_read_a_row_at_a_time(kind: str, texts: list[str], of_files: dedup.ScanResult) -> None:
    result = dedup.scan(_tables(texts)[kind])
    _same_findings(result, of_files, ["a", "b", "c"])
    assert result.documents.select(S.SOURCE, S.SOURCE_LINE).rows() == [("<DataFrame>", n) for n in (1, 2, 3)]


def test_a_pandas_dataframe_and_series(texts: list[str], of_files: dedup.ScanResult) -> None:
    pd = pytest.importorskip("pandas")
    _same_findings(dedup.scan(pd.DataFrame({"id": ["a", "b", "c"], "text": texts})), of_files, ["a", "b", "c"])
    _same_findings(dedup.scan(pd.Series(texts)), of_files, ["0", "1", "2"])


def test_a_hugging_face_dataset_in_its_own_order(texts: list[str], of_files: dedup.ScanResult) -> None:
    datasets = pytest.importorskip("datasets")
    reversed_rows = datasets.Dataset.from_dict({"id": ["c", "b", "a"], "text": texts[::-1]})
    dataset = reversed_rows.select([2, 1, 0])  # an indices mapping over the stored rows, as shuffle and filter make
    _same_findings(dedup.scan(dataset), of_files, ["a", "b", "c"])


def test_tables_and_paths_mixed_are_read_in_turn_with_numbered_names(texts: list[str]) -> None:
    first = pl.DataFrame({"id": ["t1"], "text": [texts[0]]})
    second = pa.table({"text": [texts[1]]})
    result = dedup.scan([first, SEEDS / SECOND, second])
    assert result.documents.select(S.DOC_ID, S.SOURCE, S.SOURCE_LINE).rows() == [
        ("t1", "<DataFrame>", 1),
        ((SEEDS / SECOND).as_posix(), str(SEEDS / SECOND), 1),
        ("0", "<DataFrame 2>", 1),
    ]
    assert result.stats.files == 1  # the tables are not files
    assert _summary_line(result) == "Scanned     3 documents (1 file)"
    from_memory = dedup.scan([first, second])
    assert from_memory.stats.files == 0
    assert _summary_line(from_memory) == "Scanned     2 documents"


def _summary_line(result: dedup.ScanResult) -> str:
    """The report's first line, up to the comma before its count of blocks."""
    out = StringIO()
    render_report(result, Console(file=out, width=120, color_system=None))
    return out.getvalue().splitlines()[0].rpartition(", ")[0]


def test_bad_rows_and_items_are_skips_with_their_reason(texts: list[str]) -> None:
    items = [texts[0], None, {"text": 42}, "   ", {"body": "words in another field"}, 7]
    result = dedup.scan(items)
    assert result.stats.documents == 1
    assert [str(skip) for skip in result.stats.skips] == [
        "<memory>, item 2: not a text or a record (NoneType)",
        "<memory>, item 3: field 'text' is int, not a string",
        "<memory>, item 4: empty text",
        "<memory>, item 5: no 'text' field (fields: 'body'); the longest text is in 'body': read it with"
        " --text-field body (and choose the id with --id-field, as there is no 'id' field either)",
        "<memory>, item 6: not a text or a record (int)",
    ]
    assert result.stats.documents + len(result.stats.skips) == len(items)


def test_a_table_without_the_text_column_is_one_skip_naming_its_columns(texts: list[str]) -> None:
    frame = pl.DataFrame({"url": ["https://x/a"], "content": [texts[0]]})
    with pytest.raises(dedup.NoDocumentsError) as caught:
        dedup.scan(frame)
    assert str(caught.value) == (
        "no documents found in <DataFrame>; 1 skipped:\n  1 missing text, the first: <DataFrame>: no column 'text'"
        " (columns: 'url', 'content'); the longest text is in 'content': read it with --text-field content (and"
        " choose the id with --id-field, as there is no 'id' field either)"
    )


def test_an_exception_of_the_callers_iterator_propagates(texts: list[str]) -> None:
    def pages() -> Iterator[str]:
        yield texts[0]
        raise ConnectionError("the database went away")

    with pytest.raises(ConnectionError, match="the database went away"):
        dedup.scan(pages())


def test_check_accepts_them_and_clean_refuses_them(texts: list[str], tmp_path: Path) -> None:
    report = dedup.check(pl.DataFrame({"text": texts}))
    assert not report.passed and report.findings
    assert {o.source for f in report.findings for o in f.occurrences} == {"<DataFrame>"}
    with pytest.raises(dedup.InputError, match=r"^<memory>: clean writes a cleaned copy of each input file"):
        dedup.clean(iter(texts), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_list_of_texts_is_read_as_paths_and_the_error_says_how_to_pass_texts(texts: list[str]) -> None:
    with pytest.raises(dedup.InputError) as caught:
        dedup.scan(["Ein Text, kein Pfad."])
    assert str(caught.value) == (
        "Ein Text, kein Pfad.: no such file or folder; to scan texts rather than paths, pass an iterator of them:"
        " dedup.scan(iter(texts))"
    )
    with pytest.raises(dedup.InputError, match=r"^nowhere: no such file or folder$"):
        dedup.scan(["nowhere"])


def test_something_that_is_no_input_is_an_input_error() -> None:
    with pytest.raises(dedup.InputError, match=r"^cannot read an object of type int: give paths, an iterable"):
        dedup.scan(42)
    with pytest.raises(
        dedup.InputError, match=r"^cannot read an object of type dict"
    ):  # one record is not an iterable of its keys
        dedup.scan({"text": "one record"})


def test_memory_inputs_are_named_in_messages() -> None:
    given = as_inputs([pl.DataFrame({"text": ["a"]}), pa.table({"text": ["b"]})])
    assert [str(g) for g in given] == ["<DataFrame>", "<DataFrame 2>"]
    assert all(isinstance(g, MemoryInput) for g in given)
