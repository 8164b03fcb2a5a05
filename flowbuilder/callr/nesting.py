"""How deep JSON text nests, found without decoding it: the guard every decoder here runs first.

Decoders recurse once per array or object level, so a body of a few kilobytes made of ``[``
ends in a ``RecursionError`` (or, past a decoder's own limit, a vague error) after burning CPU.
:func:`too_deep` says so first, and costs two ``bytes.count`` calls for an ordinary body: JSON
with fewer brackets in all than the limit cannot nest deeper than it.

>>> too_deep(b'{"a": [1, {"b": "[[[[[["}]}', 3), too_deep(b'[[[]]]', 2)
(False, True)
>>> nesting_depth(b'{"a": "\\\\\\"[[", "b": [[]]}')
3
"""

from __future__ import annotations

from itertools import accumulate
from typing import Final

#: Nesting allowed in a callback, a JSON-RPC request or an answer. CALLR's callbacks nest three
#: levels (the body, ``variables``, the flow state) plus what a flow keeps in its variables.
MAX_DEPTH: Final = 64

_BRACKETS: Final = b"[]{}"
_NOT_BRACKETS: Final = bytes(b for b in range(256) if b not in _BRACKETS)
# an opener counts +1, a closer -1 (0xFF read as a signed byte)
_SIGNS: Final = bytes.maketrans(_BRACKETS, b"\x01\xff\x01\xff")


def nesting_depth(body: bytes) -> int:
    """The deepest array/object nesting in JSON text *body*; brackets inside strings ignored.

    For text that is not JSON the figure may be too high past the first error, never too low
    for the part a decoder would read. Linear time, mostly in C.
    """
    # escapes only occur inside strings: drop escaped backslashes, then escaped quotes, and
    # every quote left opens or closes a string
    text = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(text.split(b'"')[0::2])
    signs = outside.translate(_SIGNS, _NOT_BRACKETS)
    return max(accumulate(memoryview(signs).cast("b")), default=0)


def too_deep(body: bytes | str, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON text *body* nests arrays and objects deeper than *limit* levels."""
    if isinstance(body, str):
        if body.count("[") + body.count("{") <= limit:
            return False
        return nesting_depth(body.encode("utf-8", "surrogatepass")) > limit
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    return nesting_depth(body) > limit


def depth_error(what: str, limit: int = MAX_DEPTH) -> str:
    """The one line every refusal of a too-deep body says."""
    return f"{what} nests arrays or objects deeper than {limit} levels"
