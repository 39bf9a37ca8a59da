"""Bytes -> text: byte order marks, declared charsets, detection, and repairs.

The order, as browsers do it: a byte order mark wins; then an encoding the
user forced; then one the input declares (HTTP ``Content-Type``, HTML ``<meta
charset>``); then UTF-8 when the bytes are valid (or valid but for a few
damaged sequences); then charset-normalizer's guess among the web's legacy encodings.
Undecodable bytes never fail a read: they become U+FFFD and are counted, so
that the reader can report them.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from dataclasses import dataclass

import charset_normalizer

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16-LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Labels that the web means as windows-1252 (the WHATWG Encoding Standard).
_WEB_ALIASES = {"iso8859-1": "cp1252", "ascii": "cp1252"}
_FALLBACK = "cp1252"
# The legacy encodings web pages use (the WHATWG Encoding Standard's, as Python codecs).
WEB_ENCODINGS = (
    "cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "cp874",
    "iso8859_2", "iso8859_5", "iso8859_15", "koi8_r", "koi8_u",
    "cp932", "euc_jp", "iso2022_jp", "gb18030", "big5", "cp949",
)  # fmt: skip
SAMPLE_BYTES = 65536
# C0 and C1 control characters other than tab, newline and carriage return.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_C0_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_C1_CONTROLS_UTF8 = re.compile(b"\xc2[\x80-\x9f]")
# A surrogate code point standing alone in a str: a JSON "\ud800" escape without its pair, or a byte of a file
# name that is not UTF-8 (os.fsdecode's surrogateescape). No UTF-8 writer takes one.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_CHARSET_PARAMETER = re.compile(r';\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))', re.IGNORECASE)
_MEDIA_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")  # RFC 9110 tokens
_BINARY_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)])


@dataclass(frozen=True, slots=True)
class Decoded:
    """A decoded text, the encoding used, and how many byte sequences were replaced."""

    text: str
    encoding: str
    replaced: int = 0


def codec_name(label: str | None) -> str | None:
    """Python's codec for an encoding label, or None when there is no text codec of that name."""
    if not label:
        return None
    try:
        info = codecs.lookup(label.strip().strip("\"'"))
    except (LookupError, ValueError):  # ValueError: a label with a NUL or a character no codec name has
        return None
    if not getattr(info, "_is_text_encoding", True):  # base64, rot13, ...: not a character encoding
        return None
    return _WEB_ALIASES.get(info.name, info.name)


def charset_of(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type value (``text/html; charset=utf-8``), if any.

    Parsed here rather than by ``email``, which fails on some values a crawl holds (non-ASCII
    characters) and answers others with a tuple (RFC 2231 ``charset*=``).
    """
    match = _CHARSET_PARAMETER.search(content_type or "")
    if match is None:
        return None
    value = match.group(1) if match.group(1) is not None else match.group(2)
    return value.strip() or None


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type value, lower case (``text/html``); empty when absent or not a type."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media if _MEDIA_TYPE.fullmatch(media) else ""


def bom_encoding(raw: bytes) -> str | None:
    """The encoding a byte order mark names, or None."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return name
    return None


def utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 text of mostly ASCII characters, recognized by its NUL bytes on one side."""
    even, odd = sample[0::2], sample[1::2]
    if len(odd) < 8:
        return None
    even_nul, odd_nul = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_nul > 0.3 and even_nul < 0.02:
        return "utf-16-le"
    if even_nul > 0.3 and odd_nul < 0.02:
        return "utf-16-be"
    return None


def looks_binary(sample: bytes) -> bool:
    """Bytes that are no text: many control bytes, and not UTF-16."""
    if not sample or bom_encoding(sample) or utf16_without_bom(sample):
        return False
    controls = len(sample) - len(sample.translate(None, _BINARY_BYTES))
    return controls > 0.1 * len(sample)


def decode(raw: bytes, declared: str | None = None, forced: str | None = None) -> Decoded:
    """Decode bytes, never failing: undecodable sequences become U+FFFD and are counted.

    Args:
        raw: the bytes.
        declared: an encoding label the input declares (HTTP header, HTML meta); ignored when unknown.
        forced: an encoding the user chose; only a byte order mark overrides it.
    """
    encoding = _named_encoding(raw, declared, forced)
    if encoding is not None:
        return _decode_with(raw, encoding)
    try:
        return Decoded(raw.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    damaged = _decode_with(raw, "utf-8")
    if _mostly_utf8(damaged):
        return damaged
    return _decode_with(raw, _guess(raw[: 4 * SAMPLE_BYTES]))


def stream_encoding(sample: bytes, forced: str | None = None) -> str:
    """The encoding of a stream decoded piece by piece, from its first bytes, chosen as ``decode`` chooses.

    Args:
        sample: the first bytes of the stream (they may end inside a character).
        forced: an encoding the user chose; only a byte order mark overrides it.
    """
    encoding = _named_encoding(sample, None, forced)
    if encoding is not None:
        return encoding
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample)  # not final: a character cut at the end is no error
        return "utf-8"
    except UnicodeDecodeError:
        pass
    return "utf-8" if _mostly_utf8(_decode_with(sample, "utf-8")) else _guess(sample[: 4 * SAMPLE_BYTES])


def _named_encoding(raw: bytes, declared: str | None, forced: str | None) -> str | None:
    """The encoding a byte order mark, the user, the input or UTF-16's NUL bytes name, in that order."""
    return bom_encoding(raw) or codec_name(forced) or codec_name(declared) or utf16_without_bom(raw[:SAMPLE_BYTES])


def _guess(sample: bytes) -> str:
    """charset-normalizer's guess among the legacy encodings of the web; windows-1252 on a near tie.

    Left to itself it also weighs DOS and Mac code pages, and reads short Western text as Farsi or
    Baltic; windows-1252 is by far the most common legacy encoding of web pages.
    """
    matches = charset_normalizer.from_bytes(sample, cp_isolation=list(WEB_ENCODINGS))
    best = matches.best()
    if best is None:
        return _FALLBACK
    for match in matches:
        if codec_name(match.encoding) == _FALLBACK and match.percent_chaos <= best.percent_chaos + 10:
            return _FALLBACK
    return codec_name(best.encoding) or _FALLBACK


def _decode_with(raw: bytes, encoding: str) -> Decoded:
    try:
        return Decoded(raw.decode(encoding), encoding)
    except UnicodeDecodeError:
        text = raw.decode(encoding, errors="replace")
        # Count only the replacements: U+FFFD that the input itself held is kept out.
        replaced = text.count("\ufffd") - raw.decode(encoding, errors="ignore").count("\ufffd")
        return Decoded(text, encoding, replaced)


def _mostly_utf8(damaged: Decoded) -> bool:
    """UTF-8 with a few damaged sequences: more valid non-ASCII characters than replacements."""
    sample = damaged.text[: 4 * SAMPLE_BYTES]
    non_ascii = sum(1 for ch in sample if ch > "\x7f") - sample.count("\ufffd")
    return non_ascii >= sample.count("\ufffd")


def _has_controls(text: str) -> bool:
    """Whether a text holds a control character that ``clean_controls`` replaces.

    The same answer as searching with ``_CONTROLS``, at the bytes level, where deleting bytes and
    comparing lengths runs at memory speed (every document is checked; hardly any has one).
    """
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw.translate(None, _C0_CONTROL_BYTES)) != len(raw):
        return True
    return not text.isascii() and _C1_CONTROLS_UTF8.search(raw) is not None


def replace_lone_surrogates(text: str) -> tuple[str, int]:
    """The text with every lone surrogate replaced by U+FFFD (one character for one: offsets hold), and how many."""
    if text.isascii():
        return text, 0
    return _LONE_SURROGATE.subn("\ufffd", text)


def clean_controls(text: str) -> tuple[str, str]:
    """Replace control characters (NUL, ESC, ...) by spaces, keeping every offset.

    Returns:
        The text, and a description of what was replaced (empty when nothing was).
    """
    if not _has_controls(text):
        return text, ""
    found = _CONTROLS.findall(text)
    counts = Counter("NUL" if ch == "\x00" else f"U+{ord(ch):04X}" for ch in found)
    detail = ", ".join(f"{n} {name}" for name, n in counts.most_common(4))
    more = ", …" if len(counts) > 4 else ""
    return _CONTROLS.sub(" ", text), f"{len(found)} control character(s) ({detail}{more})"
