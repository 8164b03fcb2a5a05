"""Text helpers shared by the exporters: which characters may appear as themselves, how wide a
line is, and how to show any text on one printable line.

Flow text (labels, prompts, URLs) is user data. Exporters keep it *data*: control characters,
bidi overrides, zero-width and combining characters are always written as escapes, so an exported
file shows exactly what it holds (no Trojan Source tricks) and its lines have a known width.
Generated source goes further and keeps only ASCII and accented Latin letters as themselves.

>>> display("Line 1\\nLine\\t2\\u202e, café, \\u4e2d")
'Line 1\\\\nLine\\\\t2\\\\u202e, café, \\\\u4e2d'
>>> width("abc\\u4e2d")
5
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import lru_cache

_WIDE = frozenset({"W", "F"})
# Categories written as escapes: controls, format (bidi, zero-width), surrogates, private use,
# unassigned, combining marks, line/paragraph separators and spaces other than " ".
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me", "Zl", "Zp", "Zs"})


@lru_cache(maxsize=8192)
def is_visible(char: str) -> bool:
    """True when *char* shows as itself: not a control, format (bidi, zero-width), combining,
    private-use, unassigned or separator character (a plain space is fine)."""
    if char == " ":
        return True
    if char < "\x7f":
        return char >= " "
    return unicodedata.category(char) not in _ESCAPED_CATEGORIES


@lru_cache(maxsize=8192)
def is_plain(char: str) -> bool:
    """True when *char* may be written as itself in generated source code: printable ASCII, or a
    Latin letter with accents (é, ç, ü). Anything else, including look-alikes of ASCII such as
    Cyrillic or full-width letters and curly quotes, is written as an escape."""
    if char < "\x7f":
        return char >= " "
    decomposed = unicodedata.normalize("NFD", char)
    return (
        len(decomposed) > 1
        and decomposed[0].isascii()
        and decomposed[0].isalpha()
        and all(unicodedata.category(c) == "Mn" for c in decomposed[1:])
    )


def char_width(char: str) -> int:
    """Columns a plain character takes (East Asian wide and full-width take two)."""
    if char < "\x7f":
        return 1
    return 2 if unicodedata.east_asian_width(char) in _WIDE else 1


def width(text: str) -> int:
    """Columns *text* takes on one line (it holds plain characters and escapes only)."""
    return sum(char_width(c) for c in text)


def escape_char(char: str) -> str:
    """A Python-style escape for *char*: ``\\n``, ``\\x00``, ``\\u200b``, ``\\U0001f600``."""
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if char in named:
        return named[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def display(text: str) -> str:
    """*text* on one printable line: backslashes doubled, everything not plain escaped."""
    return "".join("\\\\" if c == "\\" else c if is_plain(c) else escape_char(c) for c in text)


def truncate(
    text: str,
    max_width: float,
    ellipsis: str = "...",
    *,
    measure: Callable[[str], float] = char_width,
) -> str:
    """*text* cut to at most *max_width* (``measure`` of each character: columns by default),
    ending in *ellipsis* when cut.

    >>> truncate("abcdef", 5)
    'ab...'
    >>> truncate("abc", 5)
    'abc'
    """
    if sum(map(measure, text)) <= max_width:
        return text
    out, used = [], sum(map(measure, ellipsis))
    for c in text:
        w = measure(c)
        if used + w > max_width:
            break
        out.append(c)
        used += w
    return "".join(out) + ellipsis
