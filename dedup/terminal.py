"""Text from inputs made safe to print on a terminal.

File names, WARC URIs and bytes quoted from a damaged record are chosen by
whoever wrote the input. Printed raw, an escape sequence in one of them can
move the cursor, recolour or clear the screen, retitle the window or hide the
rest of a message; a newline can forge a line of output. ``printable`` shows
every such character as an escape instead, so that a message always reads as
exactly what it is.
"""

from __future__ import annotations

import re

# C0 controls (newline and tab included: a message is one line), DEL and C1 controls (U+0080-U+009F, which a
# terminal may read as CSI and friends), and the bidirectional overrides and isolates, which make a terminal
# show the characters after them in another order than they have (a name that reads as something else).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """The text with every control character shown as an escape (``\\x1b``, ``\\n``, ``\\u202e``).

    Everything else is left as it is, backslashes included, so that ordinary
    paths and messages read unchanged.
    """
    return _UNPRINTABLE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    character = match.group()
    return repr(character)[1:-1] if ord(character) < 0x100 else f"\\u{ord(character):04x}"
