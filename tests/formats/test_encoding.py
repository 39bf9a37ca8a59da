"""Bytes -> text: BOMs, declared and forced encodings, detection, counted replacements, control characters."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dedup.errors import OptionsError
from dedup.formats.encoding import (
    _CONTROLS,
    Decoded,
    _has_controls,
    charset_of,
    clean_controls,
    codec_name,
    decode,
    looks_binary,
    media_type,
)
from dedup.options import ReadOptions

TEXT = "Grüße aus Köln – “quoted” text"


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
        (codecs.BOM_UTF32_LE + TEXT.encode("utf-32-le"), "utf-32"),
    ],
)
def test_a_byte_order_mark_wins(raw: bytes, encoding: str) -> None:
    assert decode(raw) == decode(raw, forced="cp1252") == decode(raw, declared="koi8-r")
    assert decode(raw).text == TEXT and decode(raw).encoding == encoding


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_recognized_by_its_nul_bytes(encoding: str) -> None:
    assert decode(TEXT.encode(encoding)) == Decoded(TEXT, encoding)


def test_forced_then_declared_then_detected() -> None:
    raw = TEXT.encode("cp1252")
    assert decode(raw).text == TEXT  # not UTF-8, detected
    assert decode(raw, declared="windows-1252").text == TEXT
    assert decode(raw, declared="no-such-charset").text == TEXT  # an unknown label is ignored
    russian = "Привет, как дела? Это тестовый текст на русском языке."
    assert decode(russian.encode("cp1251")).text == russian
    assert decode(russian.encode("koi8-r"), forced="koi8-r") == Decoded(russian, "koi8-r")
    assert decode(russian.encode("koi8-r"), declared="KOI8-R") == Decoded(russian, "koi8-r")


def test_undecodable_bytes_are_replaced_and_counted() -> None:
    raw = "naïve café, crème brûlée".encode() + b"\xff\xfe" + b" ok" + b"\xc3"
    assert decode(raw) == Decoded("naïve café, crème brûlée\ufffd\ufffd ok\ufffd", "utf-8", 3)
    assert decode("kept \ufffd".encode()).replaced == 0  # a U+FFFD that the input held is no replacement


def test_declared_charset_that_does_not_fit_counts_replacements() -> None:
    decoded = decode(b"abc \x81 def", declared="windows-1252")  # 0x81 is undefined in windows-1252
    assert (decoded.text, decoded.replaced) == ("abc \ufffd def", 1)


def test_charset_and_media_type_of_a_content_type() -> None:
    assert charset_of('text/html; charset="ISO-8859-1"') == "ISO-8859-1"
    assert charset_of("text/html") is None and charset_of(None) is None
    assert media_type("Text/HTML; charset=utf-8") == "text/html"
    assert media_type(None) == "" and media_type("garbage") == ""
    assert codec_name("ISO-8859-1") == "cp1252"  # what the web means by it
    assert codec_name("base64") is None and codec_name("nonsense") is None


@pytest.mark.parametrize(
    ("content_type", "charset", "media"),
    [
        ("text/html; charset=utf\x00-8", "utf\x00-8", "text/html"),  # codecs.lookup raised ValueError on the NUL
        ("text/html; charset*=utf-8''%ff", None, "text/html"),  # email answered a tuple
        ("text/htmlé; charset=ü", "ü", ""),  # email raised UnicodeEncodeError
        ("text/html\r\nX-Injected: 1", None, ""),
        ("TEXT/Plain;CHARSET = 'latin1' ;", "'latin1'", "text/plain"),
        ('text/html; charset="', '"', "text/html"),
    ],
)
def test_odd_content_types_are_parsed_never_an_error(content_type: str, charset: str | None, media: str) -> None:
    assert (charset_of(content_type), media_type(content_type)) == (charset, media)
    assert codec_name(charset) in (None, "cp1252")  # "latin1" is windows-1252 on the web; nothing else is a codec


def test_control_characters_become_spaces_and_are_counted() -> None:
    text, note = clean_controls("a\x00b\x00c\x1b[31md\te\nf\u200bg")
    assert text == "a b c [31md\te\nf\u200bg"  # tab, newline and zero-width characters are kept
    assert note == "3 control character(s) (2 NUL, 1 U+001B)"
    assert clean_controls("clean\ttext\r\n") == ("clean\ttext\r\n", "")


def test_binary_data_is_told_from_text() -> None:
    assert looks_binary(bytes(range(256)) * 4)
    assert not looks_binary(TEXT.encode("utf-16-le"))
    assert not looks_binary(b"text with a NUL\x00 byte in a long enough line of ordinary words")


def test_an_unknown_forced_encoding_is_an_options_error() -> None:
    with pytest.raises(OptionsError, match="unknown encoding 'nope'; use a Python codec name such as utf-8"):
        ReadOptions(encoding="nope")


@given(
    st.text(
        alphabet=st.characters(codec="utf-8", max_codepoint=0x2FF) | st.sampled_from("\x00\x1b\x7f\x85\x9f€漢"),
        max_size=40,
    )
)
def test_the_bytes_level_check_finds_what_the_pattern_finds(text: str) -> None:
    assert _has_controls(text) == (_CONTROLS.search(text) is not None)
