"""Exporters: a flow as a Python module, JSON, a Mermaid flowchart or an SVG diagram.

Each format is one function from a Flow to text; :func:`export` picks one by name (the CLI's
``--to``). :func:`load` reads a flow back from a saved ``.json`` or an exported ``.py`` module.

>>> from flowbuilder.examples import support_line
>>> sorted(FORMATS)
['json', 'mermaid', 'py', 'svg']
>>> export(support_line(), "mermaid").splitlines()[0]
'flowchart LR'
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final

from flowbuilder.errors import ExportError, FlowbuilderError
from flowbuilder.flow import Flow


def to_json(flow: Flow) -> str:
    """The saved-file format: deterministic JSON (``Flow.to_json``)."""
    return flow.to_json()


def to_python(flow: Flow) -> str:
    from flowbuilder.export.python import to_python as _to_python

    return _to_python(flow)


def to_mermaid(flow: Flow) -> str:
    from flowbuilder.export.mermaid import to_mermaid as _to_mermaid

    return _to_mermaid(flow)


def to_svg(flow: Flow, **options: Any) -> str:
    from flowbuilder.export.svg import to_svg as _to_svg

    return _to_svg(flow, **options)


FORMATS: Final[dict[str, Callable[[Flow], str]]] = {
    "py": to_python,
    "json": to_json,
    "mermaid": to_mermaid,
    "svg": to_svg,
}
SUFFIXES: Final = {"py": ".py", "json": ".json", "mermaid": ".mmd", "svg": ".svg"}


def export(flow: Flow, fmt: str) -> str:
    """*flow* in format *fmt* (``py``, ``json``, ``mermaid`` or ``svg``)."""
    try:
        writer = FORMATS[fmt]
    except KeyError:
        raise ExportError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}") from None
    return writer(flow)


def export_python(flow: Flow, path: str | Path) -> Path:
    """Write *flow* as a standalone Python module at *path*."""
    from flowbuilder.export.python import export_python as _export_python

    return _export_python(flow, path)


def load_module(path: str | os.PathLike[str]) -> Flow:
    """The flow of an exported (or hand-written) module: imports it; see ``Flow.from_module``."""
    from flowbuilder.export.python import load_module as _load_module

    return _load_module(path)


def load(path: str | os.PathLike[str], *, allow: str | Iterable[str] | None = None) -> Flow:
    """A flow from a saved ``.json`` file or a ``.py`` module: the one reader of flow files
    (the CLI's commands, ``serve()`` and ``flowbuilder serve`` all use it). Any problem raises
    a FlowbuilderError in one line naming the file.

    Either way the flow is a file's: its python nodes may call functions only from the modules
    in *allow* and ``FLOWBUILDER_ALLOW`` (:mod:`flowbuilder.trust`), however the module built it.
    """
    from flowbuilder.flow import mark_trust
    from flowbuilder.trust import file_trust

    path = Path(path)
    try:
        if path.suffix == ".py":
            trust = file_trust(str(path), allow)
            return mark_trust(load_module(path), trust)
        if path.suffix == ".json":
            return Flow.load(path, allow=allow)
    except FlowbuilderError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a safety net: one line
        raise ExportError(f"{path}: not a flow file ({type(exc).__name__}: {exc})") from None
    raise ExportError(f"{path}: give a saved flow (.json) or an exported module (.py)")


__all__ = [
    "FORMATS",
    "SUFFIXES",
    "export",
    "export_python",
    "load",
    "load_module",
    "to_json",
    "to_mermaid",
    "to_python",
    "to_svg",
]
