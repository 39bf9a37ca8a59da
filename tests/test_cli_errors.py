"""The CLI's last-resort handler: whatever goes wrong is `Error: …` with exit 2, never 1 (check's "over the limit")."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dedup.index
import dedup.pipeline
import dedup.result
from dedup.cli import INTERRUPTED, app, index_app

runner = CliRunner()


def _raise(error: BaseException) -> object:
    def fail(*args: object, **kwargs: object) -> object:
        raise error

    return fail


BUG = "(a bug in dedup, please report it; run with dedup --debug for the traceback)"


@pytest.mark.parametrize("command", ["scan", "check"])
def test_an_unexpected_error_is_an_error_with_exit_2(
    command: str, seeds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = _raise(RecursionError("maximum recursion depth exceeded"))
    # The module first (dedup.check is the function check()): imported after the next patch, it would bind the
    # fake as its own ``scan``, and the undo would restore the fake for every later test in this process.
    monkeypatch.setattr(importlib.import_module("dedup.check"), "scan", failing)
    monkeypatch.setattr(dedup.pipeline, "scan", failing)
    result = runner.invoke(app, [command, str(seeds)])
    assert result.exit_code == 2
    assert result.output == f"Error: unexpected RecursionError: maximum recursion depth exceeded {BUG}\n"


def test_debug_shows_the_traceback(seeds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dedup.pipeline, "scan", _raise(RuntimeError("boom")))
    result = runner.invoke(app, ["--debug", "scan", str(seeds)])
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.output
    assert result.output.endswith("Error: unexpected RuntimeError: boom (a bug in dedup, please report it)\n")


def test_ctrl_c_is_interrupted_with_exit_130(seeds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dedup.pipeline, "scan", _raise(KeyboardInterrupt()))
    result = runner.invoke(app, ["scan", str(seeds)])
    assert result.exit_code == INTERRUPTED == 130
    assert result.output == "Interrupted.\n"


def test_commands_that_do_not_scan_are_guarded_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dedup.result, "load", _raise(AttributeError("'int' object has no attribute 'get'")))
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert (result.exit_code, result.output.splitlines()[-1][:33]) == (2, "Error: unexpected AttributeError:")
    monkeypatch.setattr(dedup.index.Index, "open", _raise(ValueError("bad")))
    result = runner.invoke(app, ["index", "info", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output == f"Error: unexpected ValueError: bad {BUG}\n"


def test_every_registered_command_is_guarded() -> None:
    for group in (app, index_app):
        for info in group.registered_commands:
            assert info.callback is not None
            assert info.callback.__code__.co_qualname == "_guarded.<locals>.run", info.name


def test_usage_errors_stay_typers(seeds: Path) -> None:
    result = runner.invoke(app, ["scan", str(seeds), "--no-such-option"])
    assert result.exit_code == 2
    assert "No such option: --no-such-option" in result.output
    assert "unexpected" not in result.output


def test_an_input_error_still_says_what_is_wrong(tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert result.output == f"Error: {tmp_path / 'missing'}: no such file or folder\n"


@pytest.mark.parametrize("command", ["scan", "clean"])
def test_an_update_is_refused_on_spark(command: str, seeds: Path, tmp_path: Path) -> None:
    from dedup.clean import SPARK_UPDATE

    out = ["--out", str(tmp_path / "out")] if command == "clean" else []
    result = runner.invoke(
        app, [command, str(seeds), "--index", str(tmp_path / "idx"), "--update", "--engine", "spark", *out]
    )
    assert result.exit_code == 2
    assert result.output == f"Error: {SPARK_UPDATE}\n"
    assert not (tmp_path / "idx").exists()


def _run_with_stdout_closed(arguments: list[str]) -> tuple[int, bytes]:
    """The installed command run with its standard output a pipe whose reader has already gone."""
    command = [str(Path(sys.executable).parent / "dedup"), *arguments]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # long before the child has started Python, let alone written
    with child.stderr:
        stderr = child.stderr.read()
    return child.wait(), stderr


def test_a_reader_that_stops_reading_changes_no_exit_code(seeds: Path, tmp_path: Path) -> None:
    """``dedup scan … | head`` succeeded, and ``dedup check … | head`` keeps its verdict (typer would make both 1)."""
    distinct = tmp_path / "distinct"
    distinct.mkdir()
    (distinct / "a.txt").write_text("Nothing in this page appears in the other one.\n")
    (distinct / "b.txt").write_text("A second page of other words, said only once.\n")
    out = tmp_path / "tables"
    assert _run_with_stdout_closed(["scan", str(seeds), "--out", str(out)]) == (0, b"")
    assert (out / "clusters.parquet").exists()  # the work after the broken pipe was done
    assert _run_with_stdout_closed(["check", str(distinct)]) == (0, b"")  # its verdict, where typer made it 1
