"""Safe ``{variable}`` templates for text parameters.

Only bare names are substituted: no attribute access, no indexing, no format specs, so a template
can never reach into Python objects. ``{{`` and ``}}`` are literal braces; a missing variable
renders as an empty string (validation warns about variables nothing sets).

>>> render("Hello {name}!", {"name": "Ada"})
'Hello Ada!'
>>> render("{{literal}} {missing}", {})
'{literal} '
>>> sorted(names("Call {caller} about {order_id}"))
['caller', 'order_id']

Anything else between braces is not a placeholder: it stays in the text, braces and all.

>>> malformed("Hi {name}, {{ok}} {prénom} { x } {a.b} {0} 100% {")
('{prénom}', '{ x }', '{a.b}', '{0}', '{')
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(r"\{\{|\}\}|\{(" + NAME + r")\}")
VARIABLE_NAME = re.compile(NAME + r"\Z")
#: _TOKEN, then what is not one: text between braces, or a brace on its own
_BRACES = re.compile(r"\{\{|\}\}|\{" + NAME + r"\}|(\{[^{}]*\}|[{}])")


@lru_cache(maxsize=4096)
def _parts(template: str) -> tuple[tuple[str, bool], ...]:
    """Split into (text, is_name) parts once per distinct template."""
    parts: list[tuple[str, bool]] = []
    pos = 0
    for m in _TOKEN.finditer(template):
        if m.start() > pos:
            parts.append((template[pos : m.start()], False))
        token = m.group(0)
        if token in ("{{", "}}"):
            parts.append((token[0], False))
        else:
            parts.append((m.group(1), True))
        pos = m.end()
    if pos < len(template):
        parts.append((template[pos:], False))
    return tuple(parts)


@lru_cache(maxsize=4096)
def malformed(template: str) -> tuple[str, ...]:
    """The parts of *template* that look like placeholders but are not (``{prénom}``,
    ``{ x }``, ``{a.b}``, a lone brace): rendering leaves them as written."""
    if "{" not in template and "}" not in template:
        return ()
    return tuple(m.group(1) for m in _BRACES.finditer(template) if m.group(1))


def render(template: str, values: Mapping[str, Any]) -> str:
    """Substitute ``{name}`` placeholders from *values*; anything else stays text."""
    if "{" not in template and "}" not in template:
        return template
    out = []
    for text, is_name in _parts(template):
        out.append(as_text(values.get(text, "")) if is_name else text)
    return "".join(out)


def as_text(value: Any) -> str:
    """A variable's value as it reads in a prompt: a list as ``a, b, c``, true/false, an
    object as JSON; never a Python repr (``['a']``).

    >>> as_text(["Monday", "Tuesday"]), as_text(True), as_text({"a": 1}), as_text(None)
    ('Monday, Tuesday', 'true', '{"a": 1}', '')
    """
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(as_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def names(template: str) -> set[str]:
    """The variable names a template reads."""
    return {text for text, is_name in _parts(template) if is_name}


def render_data(value: Any, values: Mapping[str, Any]) -> Any:
    """Render every string inside nested lists/dicts (keys included), leaving other data as is."""
    if isinstance(value, str):
        return render(value, values)
    if isinstance(value, list):
        return [render_data(v, values) for v in value]
    if isinstance(value, dict):
        return {render(str(k), values): render_data(v, values) for k, v in value.items()}
    return value


def names_in_data(value: Any) -> set[str]:
    """Variable names read by every string inside nested lists/dicts."""
    if isinstance(value, str):
        return names(value)
    if isinstance(value, list):
        return set().union(*(names_in_data(v) for v in value)) if value else set()
    if isinstance(value, dict):
        found: set[str] = set()
        for k, v in value.items():
            found |= names(str(k)) | names_in_data(v)
        return found
    return set()


def texts_in_data(value: Any) -> Iterator[str]:
    """Every string inside nested lists/dicts (keys included): what :func:`render_data` fills."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from texts_in_data(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from texts_in_data(v)
