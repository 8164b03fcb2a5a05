"""Regexes in flows (``branch`` and ``menu``) run on RE2, a linear-time engine.

A backtracking engine (Python's ``re``) can take exponential time: ``^(a+)+$`` against 26 ``a``
and a ``!`` runs for seconds, and a callback server runs it on its event loop, so every call
waits. RE2 matches in time linear in the text whatever the pattern, in bounded memory. It has
no backreferences (``\\1``) and no lookaround (``(?=...)``, ``(?<=...)``): validation refuses such
patterns and says why. ``\\d`` and ``\\w`` match ASCII only (the digits a caller types are ASCII).

>>> pattern = compile_pattern(r"^9\\d{3}$")
>>> bool(pattern.search("9123")), bool(pattern.search("91234"))
(True, False)
>>> print(pattern_problem(r"(\\d)\\1"))
uses a backreference (\\1), which cannot run in bounded time; write the repeated part out
"""

from __future__ import annotations

import functools
from typing import Any, Final, Protocol

import re2

#: Memory RE2 may use for one compiled pattern; a larger pattern is refused at validation.
MAX_MEMORY_BYTES: Final = 8 * 1024 * 1024


class Pattern(Protocol):
    """What flows use of a compiled pattern."""

    pattern: str

    def search(self, text: str) -> Any: ...


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is a validation issue, not a line on stderr
    options.max_mem = MAX_MEMORY_BYTES
    return options


_OPTIONS: Final = _options()


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> Pattern:
    """*pattern* compiled by RE2; raises ValueError with :func:`pattern_problem`'s reason."""
    try:
        return re2.compile(pattern, _OPTIONS)  # type: ignore[no-any-return]
    except re2.error as exc:
        raise ValueError(_explain(pattern, exc)) from None


def pattern_problem(pattern: str) -> str | None:
    """Why *pattern* cannot be used in a flow (one line), or None."""
    try:
        compile_pattern(pattern)
    except ValueError as exc:
        return str(exc)
    return None


def _explain(pattern: str, exc: Exception) -> str:
    raw = exc.args[0] if exc.args else ""
    detail = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if "invalid escape sequence: \\" in detail and detail[-1:].isdigit():
        return (
            f"uses a backreference ({detail.rsplit(' ', 1)[-1]}), which cannot run in bounded "
            "time; write the repeated part out"
        )
    if "(?P=" in pattern and "invalid perl operator: (?P" in detail:
        return (
            "uses a named backreference ((?P=...)), which cannot run in bounded time; write "
            "the repeated part out"
        )
    if (
        "invalid perl operator: (?<" in detail
        or "invalid perl operator: (?=" in detail
        or ("invalid perl operator: (?!" in detail)
    ):
        return (
            "uses lookaround ((?=...), (?!...), (?<=...), (?<!...)), which cannot run in "
            "bounded time; use an anchored pattern instead"
        )
    if "pattern too large" in detail:
        return f"is too large to run in bounded memory ({MAX_MEMORY_BYTES // 1024 // 1024} MiB)"
    return f"does not compile: {detail}"
