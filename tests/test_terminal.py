"""Text from inputs is printed as what it is: control characters and escape sequences are shown escaped."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dedup.cli import app
from dedup.sources import ReadWarning, Skip
from dedup.terminal import printable


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain/path/page.html", "plain/path/page.html"),
        ("caf\ufffd.txt, 日本語, a\\b", "caf\ufffd.txt, 日本語, a\\b"),  # no control: unchanged, backslashes too
        ("\x1b[2J\x1b]0;owned\x07", "\\x1b[2J\\x1b]0;owned\\x07"),  # clear screen, retitle the window
        ("two\nlines\r\tand\x00NUL\x7f", "two\\nlines\\r\\tand\\x00NUL\\x7f"),
        ("\x9b31m C1 CSI \x85", "\\x9b31m C1 CSI \\x85"),
        ("evil\u202etxt.exe\u2066", "evil\\u202etxt.exe\\u2066"),  # shown reversed on a terminal otherwise
    ],
)
def test_printable_escapes_every_control_character(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_skips_and_warnings_are_printed_escaped_but_keep_their_text() -> None:
    skip = Skip("dir/\x1b[31mred.jsonl", 3, "malformed JSON", "malformed JSON (bad \x1b[0m)")
    assert str(skip) == "dir/\\x1b[31mred.jsonl:3: malformed JSON (bad \\x1b[0m)"
    assert skip.source == "dir/\x1b[31mred.jsonl"  # the data stays exact (--json, scan.json)
    warning = ReadWarning("crawl.warc", 2, "lone surrogates", "https://x/\r\nFake: line", "record")
    assert str(warning) == "crawl.warc, record 2: https://x/\\r\\nFake: line"


def test_an_error_naming_a_path_prints_it_escaped(tmp_path: Path) -> None:
    missing = tmp_path / "\x1b]0;pwned\x07nope.txt"
    result = CliRunner().invoke(app, ["scan", str(missing)])
    assert result.exit_code == 2
    assert result.stderr == f"Error: {tmp_path}/\\x1b]0;pwned\\x07nope.txt: no such file or folder\n"


def test_a_skipped_file_whose_name_holds_escapes_is_printed_escaped(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("a page with enough words to be scanned as a document")
    (tmp_path / "\x1b[2Jempty\n.txt").write_text("")
    result = CliRunner().invoke(app, ["scan", str(tmp_path), "--strict", "-q"])
    assert result.exit_code == 2
    assert f"Skipped {tmp_path}/\\x1b[2Jempty\\n.txt: empty file\n" in result.stderr
    assert "\x1b" not in result.stderr
